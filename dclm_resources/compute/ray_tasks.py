"""Ray fan-out used by every engine: one task per work unit, results back in input order.

The engines call :func:`map_tasks` and assume Ray is already initialized, by the Dagster Ray resource in a
materialization or by :func:`ray_session` on the command line. That keeps the connection a single seam.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def local_ray_init_options(num_cpus: int | None = None) -> dict[str, Any]:
    """Options for a local Ray: explicit CPUs (Ray's guess oversubscribes small machines), no dashboard.

    The caller passes ``address="local"``: a plain ``ray.init()`` would join any cluster already running on the
    machine (a leftover from another job) and then reject ``num_cpus``.
    """
    return {
        "num_cpus": num_cpus or os.cpu_count() or 1,
        "include_dashboard": False,
        "log_to_driver": True,
    }


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    """Connect to ``address`` or start a local Ray; shut down only what this call started."""
    import ray

    if ray.is_initialized():
        yield
        return
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        ray.init(address="local", **local_ray_init_options(num_cpus))
    try:
        yield
    finally:
        ray.shutdown()


def map_tasks(
    fn: Callable[..., R],
    items: Sequence[T],
    *,
    desc: str | None = None,
    num_cpus: float = 1,
    max_retries: int = 3,
    progress: bool = True,
    extra_args: tuple[Any, ...] = (),
) -> list[R]:
    """Run ``fn(item, *extra_args)`` as one Ray task per item and return the results in input order.

    ``max_retries`` covers worker deaths (a killed raylet or worker process); exceptions raised by ``fn``
    are not retried but re-raised here as their original type, so errors read as if the call were local.
    """
    import ray

    if not ray.is_initialized():
        raise RuntimeError("Ray is not initialized: use the Ray resource or dclm_resources.compute.ray_session()")
    if not items:
        return []
    remote = ray.remote(num_cpus=num_cpus, max_retries=max_retries)(fn)
    shared = [ray.put(a) for a in extra_args]
    refs = [remote.remote(item, *shared) for item in items]
    index = {ref: i for i, ref in enumerate(refs)}
    results: list[Any] = [None] * len(refs)
    bar = _progress(len(refs), desc) if progress else None
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    results[index[ref]] = ray.get(ref)
                except ray.exceptions.RayTaskError as err:
                    raise _original_error(err) from err
                if bar is not None:
                    bar.update(1)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return results


def _original_error(err: Exception) -> BaseException:
    """The exception the task raised, as itself: its ``str()`` is the task's message, not Ray's traceback.

    ``as_instanceof_cause()`` keeps the type but its message is the whole remote traceback, so a CLI printing
    ``error: {err}`` would print a traceback after all. The RayTaskError stays attached as ``__cause__``.
    """
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        return cause
    return err.as_instanceof_cause()  # type: ignore[attr-defined]


def _progress(total: int, desc: str | None):  # noqa: ANN202 - tqdm's type is private
    from tqdm import tqdm

    # Progress goes to stderr and only when someone is watching; logs stay clean in Dagster runs.
    return tqdm(total=total, desc=desc, unit="task", disable=None, leave=False)
