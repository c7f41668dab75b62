"""The bad-input corpus through ``dclm tokenize``: each kind beside a good file, through ``dclm_assets.cli.main``.

Tokenization has no quarantine: a line it cannot read as a page with a string ``text`` ends the run with one
error line naming ``file:line`` (processing would have quarantined it, so processed data never holds one).
Valid JSON that the tokenizer cannot take as is (lone surrogates) is tokenized with U+FFFD in their place;
empty and zero-byte files add nothing; other file types in an input folder are skipped with a warning.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from dclm_assets.cli import main
from dclm_resources.tokenization import load_tokenizer, pack_texts
from dclm_resources.tokenization.packing import PackStats
from dclm_tests.reliability.corpus import WRONG_EXTENSIONS, BadFile, good_pages, process_corpus

SEQ_LEN = 64
ERRORS = {  # kind -> reason in the error line (the line number is the file's first bad line)
    "corrupt_zstd": "corrupt or truncated zstd stream",
    "truncated_zstd": "zstd stream ended inside a frame (truncated file)",
    "corrupt_gzip": "invalid block type",
    "truncated_gzip": "ended before the end-of-stream marker",
    "invalid_json_line": "invalid JSON: Unterminated string",
    "missing_text": "key 'text' must be a string, got nothing (key missing)",
    "non_string_text": "key 'text' must be a string, got a number",
    "invalid_utf8": "invalid UTF-8 at byte 16",
    "nul_raw_byte": "invalid JSON: Invalid control character",
}
ACCEPTED = ("lone_surrogate", "nul_in_text", "empty_shard", "zero_byte_zst")


def _files() -> dict[str, BadFile]:
    return {f.kind: f for f in process_corpus() if f.kind in ERRORS or f.kind in ACCEPTED or f.kind == "control"}


@pytest.fixture(scope="module")
def corpus() -> dict[str, BadFile]:
    return _files()


def _tokenize(tmp_path: Path, tokenizer: Path, files: list[tuple[str, bytes]], capsys) -> tuple[int, str, str]:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in files:
        (folder / name).write_bytes(data)
    code = main(["tokenize", "--input", str(folder), "--output", str(tmp_path / "out"), "--tokenizer",
                 str(tokenizer), "--seq-len", str(SEQ_LEN), "--workers", "2"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err


def _tokens(texts: list[str], tokenizer: Path) -> int:
    stats = PackStats()
    for _ in pack_texts(texts, load_tokenizer(str(tokenizer)), SEQ_LEN, stats=stats):
        pass
    return stats.tokens


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_tokenize_bad_file_fails_naming_file_and_line(kind, corpus, tokenizer_dir, tmp_path, capsys, ray_local):
    f, control = corpus[kind], corpus["control"]
    code, _, err = _tokenize(tmp_path, tokenizer_dir, [(control.name, control.data), (f.name, f.data)], capsys)
    assert code == 1
    lines = [x for x in err.splitlines() if x.startswith("dclm tokenize: error: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"dclm tokenize: error: {tmp_path / 'in' / f.name}:{f.quarantined[0][0]}: "), lines
    assert ERRORS[kind] in lines[0], lines[0]
    assert not (tmp_path / "out" / "manifest.jsonl").exists(), "a failed run must not look like a finished dataset"


@pytest.mark.parametrize("kind", ACCEPTED)
def test_tokenize_accepts_odd_but_valid_input(kind, corpus, tokenizer_dir, tmp_path, capsys, ray_local):
    f, control = corpus[kind], corpus["control"]
    code, out, err = _tokenize(tmp_path, tokenizer_dir, [(control.name, control.data), (f.name, f.data)], capsys)
    assert code == 0, err
    texts = [p["text"].replace("\ud800", "\ufffd") for p in f.kept]
    expected = _tokens([p["text"] for p in control.kept], tokenizer_dir) + (_tokens(texts, tokenizer_dir) if texts else 0)
    assert json.loads(out)["tokens"] == expected


@pytest.mark.parametrize("kind", sorted(WRONG_EXTENSIONS))
def test_tokenize_skips_and_reports_wrong_extension(kind, corpus, tokenizer_dir, tmp_path, capsys, caplog, ray_local):
    control, name = corpus["control"], WRONG_EXTENSIONS[kind]
    with caplog.at_level(logging.WARNING, logger="dclm_resources.tokenization.mixing"):
        code, out, err = _tokenize(tmp_path, tokenizer_dir, [(control.name, control.data), (name, b"PAR1")], capsys)
    assert code == 0, err
    assert any(str(tmp_path / "in" / name) in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)
    assert json.loads(out)["tokens"] == _tokens([p["text"] for p in good_pages()], tokenizer_dir)
