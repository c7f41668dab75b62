"""DCLM/open_lm mixing YAML: named sources, how files map to them, and per-context up/down-sampling.

Format (``dclm.md`` §4.1, open_lm ``--do_sample``)::

    sources:
      - source: C4
        markers: [c4]               # a file belongs to the first source with a marker that is a substring of its URI
        inputs: [s3://bucket/c4/]   # extension: files or folders listed for this source (optional)
      - source: UNKNOWN
        markers: []
    sampling_frequencies: {C4: 1.5, UNKNOWN: 0}
    inputs: [s3://bucket/mixed/]    # extension: folders whose files are matched by markers (optional)

A frequency ``f`` means: each packed context is emitted ``floor(f)`` times plus once more with probability
``f - floor(f)``; so ``f > 1`` upsamples and ``f < 1`` downsamples, and ``f = 0`` drops the source. Files that match
no source go to ``UNKNOWN`` (frequency ``sampling_frequencies.get("UNKNOWN", 0)``, i.e. dropped, as in open_lm).
Why our own RNG instead of open_lm's ``hash(key) + seed``: Python's string hash is salted per process, which
would break reproducibility; here the draws come from a NumPy generator seeded by (seed, file index).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml

from dclm_resources.storage import JSONL_SUFFIXES, Storage, basename
from dclm_resources.storage.uris import has_suffix

UNKNOWN_SOURCE = "UNKNOWN"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MixSource:
    """One named source: markers (URI substrings), optional explicit inputs, and its sampling frequency."""

    name: str
    frequency: float = 1.0
    markers: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MixingSpec:
    """A parsed mixing YAML; ``raw`` is the mapping as given (what the reference JSON stores as ``sampling_yaml``)."""

    sources: tuple[MixSource, ...]
    inputs: tuple[str, ...] = ()
    unknown_frequency: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def source_for(self, uri: str) -> MixSource:
        """The first source with a marker contained in ``uri`` (open_lm's rule), else ``UNKNOWN``."""
        for source in self.sources:
            if any(marker and marker in uri for marker in source.markers):
                return source
        return MixSource(UNKNOWN_SOURCE, self.unknown_frequency)


@dataclass(frozen=True)
class InputFile:
    """One JSONL file to tokenize, with the source it counts for and that source's frequency."""

    uri: str
    source: str
    frequency: float


def _as_tuple(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"mixing YAML: {what} must be a list of strings, got {value!r}")
    return tuple(str(v) for v in value)


def _check_frequency(name: str, value: Any) -> float:
    try:
        freq = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"mixing YAML: frequency of {name!r} is not a number: {value!r}") from None
    if not math.isfinite(freq) or freq < 0:
        raise ValueError(f"mixing YAML: frequency of {name!r} must be finite and >= 0, got {freq}")
    return freq


def parse_mixing(spec: str | dict[str, Any]) -> MixingSpec:
    """Parse DCLM's mixing YAML (text or an already-loaded mapping); errors name the offending entry."""
    raw = yaml.safe_load(spec) if isinstance(spec, str) else spec
    if not isinstance(raw, dict) or not isinstance(raw.get("sources"), list):
        raise ValueError("mixing YAML needs a 'sources' list")
    freqs = raw.get("sampling_frequencies") or {}
    if not isinstance(freqs, dict):
        raise ValueError("mixing YAML: 'sampling_frequencies' must be a mapping of source name to number")
    sources: list[MixSource] = []
    for entry in raw["sources"]:
        if not isinstance(entry, dict) or not (entry.get("source") or entry.get("name")):
            raise ValueError(f"mixing YAML: each source needs a 'source' name, got {entry!r}")
        name = str(entry.get("source") or entry.get("name"))
        if any(s.name == name for s in sources):
            raise ValueError(f"mixing YAML: source {name!r} is listed twice")
        value = freqs.get(name, entry.get("frequency", 1.0))
        sources.append(
            MixSource(
                name=name,
                frequency=_check_frequency(name, value),
                markers=_as_tuple(entry.get("markers"), f"markers of {name!r}"),
                inputs=_as_tuple(entry.get("inputs"), f"inputs of {name!r}"),
            )
        )
    unknown = next((s for s in sources if s.name == UNKNOWN_SOURCE), None)
    unknown_freq = (
        unknown.frequency if unknown else _check_frequency(UNKNOWN_SOURCE, freqs.get(UNKNOWN_SOURCE, 0))
    )
    missing = set(freqs) - {s.name for s in sources} - {UNKNOWN_SOURCE}
    if missing:
        raise ValueError(f"mixing YAML: sampling_frequencies names unknown sources {sorted(missing)}")
    return MixingSpec(
        sources=tuple(sources),
        inputs=_as_tuple(raw.get("inputs"), "inputs"),
        unknown_frequency=unknown_freq,
        raw=dict(raw),
    )


def load_mixing(uri: str, storage: Storage | None = None) -> MixingSpec:
    """Read and parse a mixing YAML file (local or s3)."""
    return parse_mixing((storage or Storage()).read_text(uri))


def _expand(uri: str, storage: Storage) -> list[str]:
    """The JSONL files at ``uri``; other files there are skipped with a warning naming them, never silently."""
    listed = [info.uri for info in storage.list_files(uri)]
    found = [u for u in listed if has_suffix(u, JSONL_SUFFIXES)]
    if len(found) < len(listed):
        other = [u for u in listed if not has_suffix(u, JSONL_SUFFIXES)]
        log.warning("%s: %d file(s) that are not JSONL were skipped: %s%s", uri, len(other), ", ".join(other[:10]),
                    " ..." if len(other) > 10 else "")
    return found


def resolve_inputs(inputs: Sequence[str] | MixingSpec, storage: Storage | None = None) -> list[InputFile]:
    """The JSONL files to tokenize, sorted by URI, each with its source and frequency.

    A plain list makes each given URI (file or folder) its own source, named by its basename, frequency 1.
    A file reached twice is an error: it would silently count double.
    """
    storage = storage or Storage()
    files: dict[str, InputFile] = {}

    def add(uri: str, source: str, frequency: float) -> None:
        if uri in files:
            raise ValueError(f"input {uri} is listed twice (sources {files[uri].source!r} and {source!r})")
        files[uri] = InputFile(uri, source, frequency)

    if isinstance(inputs, MixingSpec):
        for source in inputs.sources:
            for given in source.inputs:
                for uri in _expand(given, storage):
                    add(uri, source.name, source.frequency)
        for given in inputs.inputs:
            for uri in _expand(given, storage):
                if uri not in files:  # a file both listed and marker-matched keeps its explicit source
                    matched = inputs.source_for(uri)
                    add(uri, matched.name, matched.frequency)
    else:
        if isinstance(inputs, str):
            raise TypeError("inputs must be a list of URIs or a MixingSpec, not a single string")
        for given in inputs:
            name = basename(given.rstrip("/")) or given
            for uri in _expand(given, storage):
                add(uri, name, 1.0)
    if not files:
        raise ValueError(f"no JSONL files ({', '.join(JSONL_SUFFIXES)}) found in {inputs!r}")
    return [files[uri] for uri in sorted(files)]


def repeat_counts(n: int, frequency: float, rng: np.random.Generator) -> np.ndarray:
    """How many times each of ``n`` contexts is emitted: ``floor(f)`` plus a Bernoulli(``f - floor(f)``) draw."""
    whole = math.floor(frequency)
    frac = frequency - whole
    counts = np.full(n, whole, dtype=np.int64)
    if frac > 0:
        counts += rng.random(n) < frac
    return counts
