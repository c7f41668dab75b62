"""The files one shard reads and owns under a processing output, and the commit protocol that keeps them consistent.

Layout (DCLM's ``_get_output_paths``, plus a quarantine and a pending area of our own)::

    <base>/processed_data/<shard>_processed.<ext>   pages after the last committed step
    <base>/stats/<shard>_stats.jsonl                DCLM stats lines: the record of what is committed
    <base>/quarantine/<shard>_quarantine.jsonl      bad input lines and pages a mapper raised on
    <base>/processed_data/_pending/<shard>/<N>.<ext>  data of a commit whose stats are not yet final

Why a pending file: the data and the stats file cannot be replaced in one atomic step. A commit that reaches
``N`` step lines writes its pages to ``_pending/<shard>/<N>``, then the stats file (the commit point), then
copies the pending file over the output. After a kill at any point, :func:`recover_pending` either finishes
that copy (the stats say ``N``) or discards it (they do not), so the output always matches the stats.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from typing import Any

from dclm_resources.storage import JsonlFormatError, Storage, iter_jsonl_lines, join_uri, parse_jsonl_line
from dclm_resources.storage.base import StorageNotFoundError

CONTROL_LINES = ("process_setup", "process_finished", "commit")
Page = dict[str, Any]
_COMPRESSED = ("zstd", "zst", "gz")


def output_ext(uri: str) -> str:
    """DCLM's rule: the last suffix, prefixed with ``jsonl.`` when it is a compression suffix."""
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    last = name.rsplit(".", 1)[-1] if "." in name else "jsonl"
    return f"jsonl.{last}" if last in _COMPRESSED else last


def shard_name_for(relpath: str) -> str:
    """DCLM's shard name: the relative path up to ``.jsonl``; a processed output maps back to its shard."""
    relpath = relpath.replace("_processed.jsonl", ".jsonl")
    return relpath.split(".jsonl", 1)[0]


@dataclass(frozen=True)
class ShardPaths:
    shard_name: str
    ext: str
    output: str
    stats: str
    quarantine: str
    pending_dir: str

    def pending(self, step_lines: int) -> str:
        return join_uri(self.pending_dir, f"{step_lines}.{self.ext}")


def shard_paths(base_output_path: str, shard_name: str, ext: str) -> ShardPaths:
    return ShardPaths(
        shard_name=shard_name,
        ext=ext,
        output=join_uri(base_output_path, "processed_data", f"{shard_name}_processed.{ext}"),
        stats=join_uri(base_output_path, "stats", f"{shard_name}_stats.jsonl"),
        quarantine=join_uri(base_output_path, "quarantine", f"{shard_name}_quarantine.jsonl"),
        pending_dir=join_uri(base_output_path, "processed_data", "_pending", shard_name),
    )


def jsonable(value: Any) -> Any:
    """Plain JSON types for stats values (aggregators may return numpy scalars, Counters, non-str keys)."""
    if isinstance(value, dict):
        return {k if isinstance(k, (str, int, float, bool)) or k is None else str(k): jsonable(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    tolist = getattr(value, "tolist", None)  # numpy array
    if callable(tolist):
        return tolist()
    return str(value)


def dumps_line(record: dict[str, Any]) -> str:
    return json.dumps(jsonable(record), ensure_ascii=False) + "\n"


class StatsFile:
    """A shard's stats file as committed: its raw text and parsed lines. Only :meth:`commit` changes it."""

    def __init__(self, uri: str, storage: Storage) -> None:
        self.uri = uri
        self.storage = storage
        try:
            self.text = storage.read_text(uri)
        except StorageNotFoundError:
            self.text = ""
        self.lines = [
            parse_jsonl_line(uri, i, raw.encode("utf-8"))
            for i, raw in enumerate(self.text.splitlines(), start=1)
            if raw.strip()
        ]
        for i, line in enumerate(self.lines, start=1):
            if not isinstance(line.get("name"), str):
                raise JsonlFormatError(uri, i, "stats line without a 'name'")

    @property
    def exists(self) -> bool:
        return bool(self.lines)

    @property
    def step_lines(self) -> list[dict[str, Any]]:
        """Lines of completed steps, in step order (DCLM drops setup/finished/commit lines for resume)."""
        return [line for line in self.lines if line["name"] not in CONTROL_LINES]

    @property
    def graceful(self) -> bool:
        """DCLM's ``graceful_continuation``: the last run ended with ``process_finished`` then ``commit``."""
        names = [line["name"] for line in self.lines]
        return len(names) >= 2 and names[-2:] == ["process_finished", "commit"]

    def commit(self, new_lines: list[dict[str, Any]]) -> None:
        """Atomically replace the file with its committed text plus ``new_lines``: a kill never half-appends."""
        text = self.text + "".join(dumps_line(line) for line in new_lines)
        self.storage.write_text(self.uri, text)
        self.text = text
        self.lines.extend(json.loads(json.dumps(jsonable(line))) for line in new_lines)


def record_global_step(stats_uri: str, storage: Storage, position: int, line: dict[str, Any]) -> str:
    """Append a global step's line as step ``position`` of a shard's stats, once (safe to repeat after a kill).

    Returns ``"appended"``, ``"present"`` (an earlier attempt already wrote it) or ``"ended"`` (the shard
    stopped early with no pages left, so it has fewer step lines and takes no further ones).
    """
    stats = StatsFile(stats_uri, storage)
    done = stats.step_lines
    if len(done) > position:
        if done[position]["name"] != line["name"]:
            raise RuntimeError(
                f"{stats_uri}: step line {position} is {done[position]['name']!r}, expected {line['name']!r}; "
                "the pipeline changed since this output was written (rerun with overwrite)"
            )
        return "present"
    if len(done) < position:
        if line.get("pages_in"):
            raise RuntimeError(f"{stats_uri}: has {len(done)} step lines, cannot record step {position}")
        return "ended"
    stats.commit([line])
    return "appended"


def recover_pending(paths: ShardPaths, storage: Storage, step_lines: int) -> None:
    """Finish a commit the stats file records (copy its pending data over the output); drop any other."""
    if not storage.exists(paths.pending_dir):
        return
    keep = paths.pending(step_lines)
    pattern = re.compile(r"(\d+)\." + re.escape(paths.ext) + r"$")
    for info in storage.list_files(paths.pending_dir, recursive=False):
        if not pattern.fullmatch(info.uri.rsplit("/", 1)[-1]):
            continue
        if info.uri == keep:
            copy_file(storage, keep, paths.output)
        storage.delete(info.uri, missing_ok=True)


def copy_file(storage: Storage, src: str, dst: str) -> None:
    """Stream ``src`` to ``dst`` atomically (the storage API has no rename; this works on S3 too)."""
    with storage.open_read(src) as fin, storage.atomic_writer(dst) as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)


def rewrite_quarantine(
    paths: ShardPaths, storage: Storage, keep_below: int, new_entries: list[dict[str, Any]]
) -> None:
    """Keep entries recorded before position ``keep_below`` and add ``new_entries``, atomically.

    Entries at or past ``keep_below`` come from a run that was killed before its commit: the rerun produces
    them again, so they are dropped instead of duplicated.
    """
    try:
        old_text = storage.read_text(paths.quarantine)
    except StorageNotFoundError:
        old_text = ""
    kept: list[str] = []
    dropped = False
    for raw in old_text.splitlines(keepends=True):
        if not raw.strip():
            continue
        if json.loads(raw).get("position", 0) < keep_below:
            kept.append(raw if raw.endswith("\n") else raw + "\n")
        else:
            dropped = True
    if not new_entries and not dropped:
        return
    storage.write_text(paths.quarantine, "".join(kept) + "".join(dumps_line(e) for e in new_entries))


def load_pages(
    uri: str, storage: Storage, shard: str, position: int, require_text: bool
) -> tuple[list[Page], list[dict[str, Any]]]:
    """All valid pages of ``uri`` in order, and a quarantine entry for every line that is not one."""
    pages: list[Page] = []
    bad: list[dict[str, Any]] = []

    def quarantine(line_no: int, reason: str, raw: bytes | None) -> None:
        entry: dict[str, Any] = {"shard": shard, "position": position, "step": "input",
                                 "source": f"{uri}:{line_no}", "error": reason}
        if raw is not None:
            entry["raw"] = raw.decode("utf-8", "backslashreplace")
        bad.append(entry)

    try:
        for line_no, raw in iter_jsonl_lines(uri, storage):
            try:
                page = parse_jsonl_line(uri, line_no, raw)
            except JsonlFormatError as err:
                quarantine(line_no, err.reason, raw)
                continue
            if require_text and not isinstance(page.get("text"), str):
                quarantine(line_no, "key 'text' is missing or not a string", raw)
                continue
            pages.append(page)
    except JsonlFormatError as err:  # corrupt or truncated compression: the pages read so far still count
        quarantine(err.line_no, err.reason, None)
    return pages, bad


def remove_shard_outputs(paths: ShardPaths, storage: Storage) -> None:
    """``overwrite``: forget everything this shard committed before."""
    for uri in (paths.stats, paths.output, paths.quarantine):
        storage.delete(uri, missing_ok=True)
    if storage.exists(paths.pending_dir):
        for info in storage.list_files(paths.pending_dir, recursive=False):
            storage.delete(info.uri, missing_ok=True)
