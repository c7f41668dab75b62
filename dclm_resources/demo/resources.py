"""The files the demo pipeline needs and the project builds itself: a TLD list, the LID model, quality examples.

Why: DCLM's configs name resources that are not shipped (IANA's TLD list, lid.176.bin, the OH-2.5 + ELI5 quality
classifier and its training data) and no third-party text may be committed. Everything here is generated
deterministically on the machine, in ``<home>/demo/resources`` (the pipeline's resource folder) and
``<home>/models`` (where the LID model and the quality classifier live for every pipeline):

- ``demo_tlds.txt``: a project-written subset of IANA's TLD list for ``url_removal_modifier``;
- ``lid_offline_v1.ftz``: the offline fastText LID model (``dclm_resources.lid``; built once per home);
- ``quality_reference.jsonl.zst``: good articles from the sample generator under a seed of their own, the
  ``__label__hq`` side of the demo classifier (DCLM: OpenHermes-2.5 + ELI5); the ``__label__cc`` side is the
  raw pool itself, as DCLM uses RefinedWeb. Its pages never occur in the pool (another seed; checked by
  ``heldout.disjoint_texts`` for the held-out set, which uses a third seed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from dclm_resources.layout import Layout
from dclm_resources.pools.sample import SamplePoolSpec, generate_pages
from dclm_resources.storage import Storage, join_uri, write_jsonl

TLDS_FILENAME = "demo_tlds.txt"
REFERENCE_FILENAME = "quality_reference.jsonl.zst"
QUALITY_MODEL_NAME = "demo_quality.bin"
REFERENCE_SEED = 424242  # the sample pool's default seed is 1234; the held-out set uses HELDOUT_SEED
_MARKER = "resources.json"

# Generic TLDs, the ones the sample generator uses, and common country codes: enough for the pool's URLs.
DEMO_TLDS = (
    "com", "net", "org", "info", "biz", "edu", "gov", "mil", "int", "name", "pro", "xyz", "top", "click", "online",
    "win", "loan", "blog", "news", "site", "shop", "store", "app", "dev", "io", "ai", "co", "me", "tv", "uk", "de",
    "fr", "es", "it", "nl", "be", "ch", "at", "se", "no", "dk", "fi", "pl", "cz", "pt", "ie", "gr", "ru", "ua",
    "tr", "il", "in", "cn", "jp", "kr", "tw", "hk", "sg", "my", "id", "th", "vn", "ph", "au", "nz", "ca", "us",
    "mx", "br", "ar", "cl", "za", "ng", "eg", "ke", "ma", "ro", "hu", "bg", "hr", "rs", "sk", "si", "lt", "lv",
    "ee", "is", "lu",
)


@dataclass(frozen=True)
class DemoResources:
    """Where the built resources are (the pipeline's resource folder and the files in it)."""

    resource_dir: str
    tlds: str
    lid_model: str
    reference_pages: str
    reference_count: int
    fingerprint: str = ""  # of what the files were built from
    reused: bool = False  # True when nothing had to be built

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def demo_dir(layout: Layout) -> str:
    """``<home>/demo``: everything the demo builds besides the assets' own outputs."""
    return join_uri(layout.home, "demo")


def resource_dir(layout: Layout) -> str:
    return join_uri(demo_dir(layout), "resources")


def reference_pages(count: int, seed: int = REFERENCE_SEED) -> Iterator[dict[str, Any]]:
    """``count`` good articles from the sample generator under ``seed`` (half of a pool is good pages)."""
    made = 0
    spec = SamplePoolSpec(num_pages=max(2 * count + 20, 40), seed=seed)
    for page in generate_pages(spec):
        if made >= count:
            return
        if page["metadata"].get("sample_kind") == "good":
            made += 1
            yield {"text": page["text"], "url": page["url"], "source": "demo_reference"}
    if made < count:
        raise ValueError(f"the sample generator gave {made} good pages, {count} were asked for")


def prepare_resources(
    layout: Layout, storage: Storage | None = None, *, reference_count: int = 1000, build_lid: bool = True
) -> DemoResources:
    """Build what is missing; a second call with the same arguments only reads the marker file.

    The LID model goes where the LID enricher looks for it (``$DCLM_MODELS_DIR``, else ``<home>/models``), so the
    pipeline finds it instead of building it again inside a Ray task; ``build_lid=False`` leaves that to the task.
    """
    from dclm_resources.lid.build import OFFLINE_LID_MODEL_NAME
    from dclm_resources.processing.enrichers.models import offline_lid_model

    storage = storage or Storage()
    folder = resource_dir(layout)
    marker = join_uri(folder, _MARKER)
    lid_path = join_uri(layout.models_dir(), OFFLINE_LID_MODEL_NAME)
    wanted = {"reference_count": reference_count, "reference_seed": REFERENCE_SEED, "tlds": len(DEMO_TLDS)}
    tlds_uri = join_uri(folder, TLDS_FILENAME)
    reference_uri = join_uri(folder, REFERENCE_FILENAME)
    done = _read_marker(marker, storage)
    reused = done == wanted and storage.exists(tlds_uri) and storage.exists(reference_uri)
    if not reused:
        storage.write_text(tlds_uri, "".join(f"{t}\n" for t in DEMO_TLDS))
        write_jsonl(reference_pages(reference_count), reference_uri, storage)
        storage.write_text(marker, json.dumps(wanted, indent=2) + "\n")
    if build_lid:
        reused = reused and storage.exists(lid_path)
        lid_path = offline_lid_model(storage)
    fingerprint = hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:16]
    return DemoResources(folder, tlds_uri, lid_path, reference_uri, reference_count, fingerprint, reused)


def _read_marker(uri: str, storage: Storage) -> dict[str, Any] | None:
    if not storage.exists(uri):
        return None
    try:
        data = json.loads(storage.read_text(uri))
    except json.JSONDecodeError:
        return None  # a broken marker only means "rebuild"
    return data if isinstance(data, dict) else None
