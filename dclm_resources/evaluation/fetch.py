"""Obtain, verify and report the ICL task files: llm-foundry's ``scripts/eval/local_data``, as DCLM gets it.

DCLM's ``eval/download_eval_data.sh`` clones ``mosaicml/llm-foundry`` and copies ``scripts/eval/local_data`` into
the working directory. ``fetch_eval_data`` does the same (``method="git"``: ``git clone --depth 1`` and copy), or
downloads the files the suites need one by one from raw-file URLs (``method="http"``; any URL ``urllib`` opens,
``file://`` included). Either way the files land in a hidden staging folder inside the destination, are verified
(every line parses as a JSON object with the fields its task type needs; sizes and sha256 are compared with
``local_data_checksums.tsv``, taken from llm-foundry at the commit named in that file), and only then is the folder
renamed to ``DEST/local_data``: an interrupted or failed fetch leaves any previous copy untouched.

Nothing is downloaded unless the user asks for it (DESIGN §5).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dclm_resources.evaluation.meta import eval_config_dir, load_task_table
from dclm_resources.evaluation.suites import LOCAL_DATA, SUITE_NAMES, resolve_task_files

DEFAULT_GIT_SOURCE = "https://github.com/mosaicml/llm-foundry.git"
DEFAULT_HTTP_SOURCE = "https://raw.githubusercontent.com/mosaicml/llm-foundry/main/scripts/eval/local_data"
REPO_LOCAL_DATA = "scripts/eval/local_data"
CHECKSUMS_TSV = "local_data_checksums.tsv"
METHODS = ("git", "http")

# Fields each record needs, by icl_task_type (llm-foundry's ICL dataset formats).
_GENERATION = {"context": str, "answer": str}
RECORD_FIELDS: dict[str, dict[str, type]] = {
    "multiple_choice": {"query": str, "choices": list, "gold": int},
    "schema": {"context_options": list, "continuation": str, "gold": int},
    "language_modeling": {"context": str, "continuation": str},
    "generation_task_with_answers": _GENERATION,
    "question_answering": _GENERATION,
}


class EvalDataError(ValueError):
    """Fetching or verifying eval data failed; the message names the source or the file and line."""


@dataclass(frozen=True)
class Checksum:
    size: int
    sha256: str
    git_blob_sha1: str


@dataclass(frozen=True)
class FileCheck:
    """Verification of one file. status: ok | unverified (no checksum known) | changed (differs) | invalid."""

    relpath: str
    status: str
    records: int = 0
    detail: str = ""


@dataclass
class FetchResult:
    target: Path
    method: str
    source: str
    checks: list[FileCheck] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


def load_checksums(path: str | os.PathLike[str] | None = None) -> dict[str, Checksum]:
    """``relpath -> Checksum`` from the packaged table (tab-separated; ``#`` lines are comments)."""
    target = Path(path) if path is not None else eval_config_dir() / CHECKSUMS_TSV
    table: dict[str, Checksum] = {}
    for number, line in enumerate(target.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 4 or not parts[1].isdigit():
            raise EvalDataError(f"{target}: line {number}: expected 'path<TAB>bytes<TAB>sha256<TAB>blob sha1'")
        table[parts[0]] = Checksum(int(parts[1]), parts[2], parts[3])
    return table


def file_task_types() -> dict[str, tuple[str, bool]]:
    """``relpath under local_data -> (icl_task_type, has_categories)`` for every task of the task table."""
    types: dict[str, tuple[str, bool]] = {}
    prefix = LOCAL_DATA + "/"
    for task in load_task_table():
        if task.dataset_uri and task.icl_task_type and task.dataset_uri.startswith(prefix):
            relpath = task.dataset_uri[len(prefix):]
            types[relpath] = (task.icl_task_type, bool(task.extra.get("has_categories", False)))
    return types


def _infer_type(record: dict[str, Any]) -> str | None:
    """The task type whose required fields a record carries (for files no task names)."""
    for icl_type in ("multiple_choice", "schema", "generation_task_with_answers", "language_modeling"):
        if all(key in record for key in RECORD_FIELDS[icl_type]):
            return icl_type
    return None


def _record_problem(record: Any, icl_type: str | None, has_categories: bool) -> str | None:
    """Why a record does not fit its task type, or None when it does."""
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    if icl_type is None:
        return None
    for key, kind in RECORD_FIELDS.get(icl_type, {}).items():
        value = record.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"field {key!r} must be of type {kind.__name__} for {icl_type}, got {value!r:.60}"
    options = record.get("choices") if icl_type == "multiple_choice" else record.get("context_options")
    if icl_type in ("multiple_choice", "schema"):
        if not options or not all(isinstance(o, str) for o in options):
            return "choices / context_options must be a non-empty list of strings"
        if not 0 <= record["gold"] < len(options):
            return f"gold {record['gold']} is outside 0..{len(options) - 1}"
    aliases = record.get("aliases")
    if aliases is not None and not (isinstance(aliases, list) and all(isinstance(a, str) for a in aliases)):
        return "field 'aliases' must be a list of strings"
    if has_categories and not isinstance(record.get("category"), str):
        return "field 'category' (a string) is required: the task is scored per category"
    return None


def verify_file(
    path: Path,
    relpath: str,
    icl_type: str | None = None,
    has_categories: bool = False,
    checksum: Checksum | None = None,
) -> FileCheck:
    """Parse every line of a JSONL task file and compare its size / sha256 with ``checksum``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileCheck(relpath, "invalid", 0, f"cannot read: {exc.strerror or exc}")
    records = 0
    inferred = icl_type
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return FileCheck(relpath, "invalid", records, f"line {number}: not valid JSON: {exc}")
        if inferred is None and records == 0 and isinstance(record, dict):
            inferred = _infer_type(record)
        problem = _record_problem(record, inferred, has_categories)
        if problem:
            return FileCheck(relpath, "invalid", records, f"line {number}: {problem}")
        records += 1
    if records == 0:
        return FileCheck(relpath, "invalid", 0, "no records")
    if checksum is None:
        return FileCheck(relpath, "unverified", records, "no checksum known; records parse")
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != checksum.size or digest != checksum.sha256:
        return FileCheck(relpath, "changed", records,
                         f"differs from the checksum table ({len(data)} bytes, sha256 {digest[:12]}...)")
    return FileCheck(relpath, "ok", records)


def verify_local_data(local_data: str | os.PathLike[str]) -> list[FileCheck]:
    """Verify every ``*.jsonl`` under a ``local_data`` folder (sorted by relative path)."""
    root = Path(local_data)
    if not root.is_dir():
        raise EvalDataError(f"{root}: not a directory")
    types = file_task_types()
    checksums = load_checksums()
    checks = []
    for path in sorted(root.rglob("*.jsonl")):
        relpath = path.relative_to(root).as_posix()
        icl_type, has_categories = types.get(relpath, (None, False))
        checks.append(verify_file(path, relpath, icl_type, has_categories, checksums.get(relpath)))
    return checks


def http_file_list() -> list[str]:
    """Files the HTTP method asks for: those of the checksum table and every task file under ``local_data/``."""
    return sorted(set(load_checksums()) | set(file_task_types()))


def _git_clone(source: str, clone_dir: Path, ref: str | None, timeout: float) -> Path:
    command = ["git", "clone", "--depth", "1", "--quiet"]
    if ref:
        command += ["--branch", ref]
    command += [source, str(clone_dir)]
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except FileNotFoundError:
        raise EvalDataError("git is not installed; use --method http") from None
    except subprocess.TimeoutExpired:
        raise EvalDataError(f"git clone of {source} timed out after {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise EvalDataError(f"git clone of {source} failed: {proc.stderr.strip()[-500:]}")
    local = clone_dir / REPO_LOCAL_DATA
    if not local.is_dir():
        raise EvalDataError(f"{source}: the clone has no {REPO_LOCAL_DATA}/ folder")
    return local


def _http_download(source: str, staging: Path, relpaths: list[str], timeout: float) -> list[str]:
    """Download ``source/<relpath>`` for each path; returns the paths the source does not have."""
    not_found = []
    base = source.rstrip("/")
    for relpath in relpaths:
        url = f"{base}/{relpath}"
        target = staging / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
                shutil.copyfileobj(response, out)
        except urllib.error.HTTPError as exc:
            target.unlink(missing_ok=True)
            if exc.code == 404:
                not_found.append(relpath)
                continue
            raise EvalDataError(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            target.unlink(missing_ok=True)
            if isinstance(exc.reason, FileNotFoundError):
                not_found.append(relpath)
                continue
            raise EvalDataError(f"{url}: {exc.reason}") from None
        except OSError as exc:
            target.unlink(missing_ok=True)
            raise EvalDataError(f"{url}: {exc}") from None
    return not_found


def fetch_eval_data(
    dest: str | os.PathLike[str],
    method: str = "git",
    source: str | None = None,
    ref: str | None = None,
    force: bool = False,
    strict: bool = False,
    timeout: float = 1800.0,
) -> FetchResult:
    """Fetch llm-foundry's ``local_data`` into ``DEST/local_data`` (or into DEST when it is named local_data).

    ``force`` replaces an existing copy; ``strict`` also rejects files that differ from the checksum table
    (by default they are reported as ``changed``: llm-foundry's main branch may have moved on). An invalid file
    that no task of the task table reads and the checksum table does not list is reported, not fatal.
    """
    if method not in METHODS:
        raise EvalDataError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    dest_path = Path(dest).expanduser()
    target = dest_path if dest_path.name == LOCAL_DATA else dest_path / LOCAL_DATA
    if target.exists() and not force:
        raise EvalDataError(f"{target} already exists; pass --force to replace it")
    source = source or (DEFAULT_GIT_SOURCE if method == "git" else DEFAULT_HTTP_SOURCE)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".local_data.fetch-", dir=target.parent))
    try:
        new = staging / LOCAL_DATA
        not_found: list[str] = []
        if method == "git":
            shutil.copytree(_git_clone(source, staging / "clone", ref, timeout), new)
            shutil.rmtree(staging / "clone")
        else:
            new.mkdir()
            not_found = _http_download(source, new, http_file_list(), timeout)
        checks = verify_local_data(new)
        # A broken file no DCLM task reads (llm-foundry ships many) is reported, but does not block the fetch.
        needed = set(file_task_types()) | set(load_checksums())
        bad = [c for c in checks
               if (c.status == "invalid" and c.relpath in needed) or (strict and c.status == "changed")]
        if bad:
            lines = "; ".join(f"{c.relpath}: {c.status}: {c.detail}" for c in bad[:10])
            raise EvalDataError(f"{source}: {len(bad)} file(s) failed verification, nothing installed: {lines}")
        if not checks:
            raise EvalDataError(f"{source}: no .jsonl task files arrived, nothing installed")
        if target.exists():
            os.replace(target, staging / "previous")
        os.replace(new, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FetchResult(target, method, source, checks, not_found)


@dataclass(frozen=True)
class SuiteStatus:
    name: str
    present: list[str]
    missing: list[tuple[str, str]]

    @property
    def complete(self) -> bool:
        return not self.missing


def suite_status(data_dir: str | os.PathLike[str] | None, suites: tuple[str, ...] = SUITE_NAMES) -> list[SuiteStatus]:
    """Which tasks of each suite have their data file under ``data_dir`` (else ``$DCLM_EVAL_DATA``)."""
    statuses = []
    for name in suites:
        present, missing = resolve_task_files(name, data_dir)
        statuses.append(SuiteStatus(name, [entry["label"] for entry in present], missing))
    return statuses


def format_status(statuses: list[SuiteStatus]) -> str:
    """One block per suite: complete, or the missing tasks with the path each was expected at."""
    lines = []
    for status in statuses:
        total = len(status.present) + len(status.missing)
        state = "complete" if status.complete else "incomplete"
        lines.append(f"suite {status.name}: {len(status.present)}/{total} tasks present ({state})")
        for label, path in status.missing:
            lines.append(f"  missing {label}: {path}")
    return "\n".join(lines)


def format_checks(checks: list[FileCheck]) -> str:
    """Counts per status, then a line for every file that is not plainly ok."""
    counts: dict[str, int] = {}
    for check in checks:
        counts[check.status] = counts.get(check.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    lines = [f"verified {len(checks)} file(s): {summary}"]
    lines += [f"  {c.relpath}: {c.status} ({c.records} records) {c.detail}" for c in checks if c.status != "ok"]
    return "\n".join(lines)
