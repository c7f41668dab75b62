"""The submission manifest: a small YAML or JSON file that names a dataset, its data, its pipeline and a scale.

Why a strict schema: manifests come from strangers. Every key is known, every value is a short string, and the
whole file is small, so a manifest can neither smuggle options into the runs nor blow up the sensor; and every
problem is reported at once, by key, so a submitter fixes the file in one round.

Format (YAML via ``yaml.safe_load`` only, or JSON)::

    name: my_dataset            # the dataset partition key: letters, digits, '_', '-', '.', '='
    track: filtering            # DCLM's tracks: filtering (the shared pool) | mixing (bring your own data)
    scale: 1b-1x                # one of the scale partitions
    raw_pool: builtin:sample    # the pool to filter ... (filtering: an allowed pool; mixing: also data in the prefix)
    # tokenized: mine/tok.json  # ... or, mixing only, a DCLM tokenized-dataset reference JSON in the prefix
    pipeline: dclm_baseline_refinedweb.yaml   # a shipped pipeline YAML, or a YAML inside the submissions prefix
    source_name: cc             # which `source` entry of the pipeline YAML (default cc)
    # The pipeline is the processing YAML of the heuristic stage (DCLM's format); near-dedup and the quality
    # filter then run with the deployment's settings, as for every dataset.
    contact: someone@example.org
    description: free text, shown on the leaderboard
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

import yaml

from dclm_resources.layout import check_dataset_name

TRACKS = ("filtering", "mixing")
MAX_MANIFEST_BYTES = 64 * 1024
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
DEFAULT_SOURCE_NAME = "cc"
# Longest value accepted per key (characters).
FIELD_LIMITS: dict[str, int] = {
    "name": 100,
    "track": 16,
    "scale": 32,
    "raw_pool": 1024,
    "tokenized": 1024,
    "pipeline": 1024,
    "source_name": 100,
    "contact": 256,
    "description": 4000,
}
REQUIRED = ("name", "track", "scale")
# Multi-line text is allowed only where a person writes prose.
_MULTILINE = frozenset({"description"})


class ManifestError(ValueError):
    """A manifest that cannot be accepted; ``reasons`` lists every problem, each naming its key."""

    def __init__(self, uri: str, reasons: list[str]) -> None:
        super().__init__(uri, reasons)
        self.uri = uri
        self.reasons = list(reasons)

    def __str__(self) -> str:
        return f"{self.uri}: " + "; ".join(self.reasons)


@dataclass(frozen=True)
class Manifest:
    name: str
    track: str
    scale: str
    raw_pool: str | None = None
    tokenized: str | None = None
    pipeline: str | None = None
    source_name: str = DEFAULT_SOURCE_NAME
    contact: str = ""
    description: str = ""

    def to_dict(self) -> dict[str, str]:
        """The manifest as written (absent optional keys left out)."""
        out = {"name": self.name, "track": self.track, "scale": self.scale}
        for key in ("raw_pool", "tokenized", "pipeline"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.pipeline is not None:
            out["source_name"] = self.source_name
        for key in ("contact", "description"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


def _decode(data: bytes, uri: str) -> Any:
    """Bytes -> Python data: JSON for ``.json``, ``yaml.safe_load`` otherwise; errors name the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ManifestError(uri, [f"not valid UTF-8 at byte {err.start}"]) from None
    if uri.lower().endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ManifestError(uri, [f"line {err.lineno}: not valid JSON ({err.msg})"]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or type(err).__name__
        raise ManifestError(uri, [f"{where}not valid YAML ({problem})"]) from None


def _bad_characters(value: str, multiline: bool) -> str | None:
    """Control and format characters (NUL, escapes, bidi overrides) would corrupt logs and pages that show them."""
    for ch in value:
        if multiline and ch in "\n\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co"):
            return f"U+{ord(ch):04X}"
    return None


def _type_name(value: Any) -> str:
    """Only the type is reported, never the value: a hostile value may be huge or deeply aliased."""
    return "null" if value is None else type(value).__name__


def _check_fields(data: dict[Any, Any], reasons: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    unknown = sorted(str(k)[:50] for k in data if k not in FIELD_LIMITS)
    if unknown:
        reasons.append(f"unknown keys {unknown}; allowed keys: {sorted(FIELD_LIMITS)}")
    for key, limit in FIELD_LIMITS.items():
        if key not in data:
            continue
        value = data[key]
        if not isinstance(value, str):
            reasons.append(f"key {key!r} must be a string, got {_type_name(value)}")
            continue
        if len(value) > limit:
            reasons.append(f"key {key!r} is {len(value)} characters long; the limit is {limit}")
            continue
        bad = _bad_characters(value, key in _MULTILINE)
        if bad:
            reasons.append(f"key {key!r} contains the control character {bad}")
            continue
        if key not in _MULTILINE and value != value.strip():
            reasons.append(f"key {key!r} has leading or trailing whitespace")
            continue
        values[key] = value
    for key in REQUIRED:
        if key not in data:
            reasons.append(f"key {key!r} is required")
        elif key in values and not values[key]:
            reasons.append(f"key {key!r} must not be empty")
    return values


def _check_semantics(values: dict[str, str], present: set[Any], reasons: list[str]) -> None:
    if "name" in values and values["name"]:
        try:
            check_dataset_name(values["name"])
        except ValueError as err:
            reasons.append(f"key 'name': {err}")
    if "track" in values and values["track"] not in TRACKS:
        reasons.append(f"key 'track' must be one of {list(TRACKS)}, got {values['track']!r}")
    has_raw, has_tok = "raw_pool" in present, "tokenized" in present
    if has_raw == has_tok:
        reasons.append("give exactly one of 'raw_pool' (data to filter) and 'tokenized' (already tokenized data)")
    for key in ("raw_pool", "tokenized", "pipeline", "source_name"):
        if key in values and not values[key]:
            reasons.append(f"key {key!r} must not be empty")
    if has_raw and "pipeline" not in present:
        reasons.append("key 'pipeline' is required with 'raw_pool' (a shipped pipeline name or a YAML in the prefix)")
    if has_tok and "pipeline" in present:
        reasons.append("key 'pipeline' applies to 'raw_pool' only: tokenized data is not filtered again")
    if "source_name" in present and "pipeline" not in present:
        reasons.append("key 'source_name' applies only with 'pipeline'")


def parse_manifest(data: bytes, uri: str) -> Manifest:
    """Validate a manifest's bytes against the schema (no storage access); ManifestError lists every problem."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(uri, [f"manifest is {len(data)} bytes; the limit is {MAX_MANIFEST_BYTES}"])
    if not uri.lower().endswith(MANIFEST_SUFFIXES):
        raise ManifestError(uri, [f"a manifest file name ends with one of {list(MANIFEST_SUFFIXES)}"])
    parsed = _decode(data, uri)
    if not isinstance(parsed, dict):
        raise ManifestError(uri, [f"a manifest is a mapping of keys to strings, got {_type_name(parsed)}"])
    reasons: list[str] = []
    values = _check_fields(parsed, reasons)
    _check_semantics(values, set(parsed), reasons)
    if reasons:
        raise ManifestError(uri, reasons)
    return Manifest(
        name=values["name"],
        track=values["track"],
        scale=values["scale"],
        raw_pool=values.get("raw_pool"),
        tokenized=values.get("tokenized"),
        pipeline=values.get("pipeline"),
        source_name=values.get("source_name", DEFAULT_SOURCE_NAME),
        contact=values.get("contact", ""),
        description=values.get("description", ""),
    )


def peek_name(data: bytes, uri: str) -> str | None:
    """The manifest's dataset name when it is readable and safe (for reject records), else None."""
    try:
        parsed = _decode(data, uri) if len(data) <= MAX_MANIFEST_BYTES else None
    except ManifestError:
        return None
    name = parsed.get("name") if isinstance(parsed, dict) else None
    if not isinstance(name, str) or len(name) > FIELD_LIMITS["name"]:
        return None
    try:
        return check_dataset_name(name)
    except ValueError:
        return None
