"""The ``dclm`` command line: every command has help, bad input is one clear line, the demo runs for real."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dclm_assets.cli import build_parser, main
from dclm_resources.storage import read_jsonl
from dclm_tests.paths import REPO_ROOT, shared_data

COMMANDS = [
    "demo", "raw-pool", "extract-warc", "process", "tokenize", "train", "eval", "aggregate", "eval-data", "scales",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: dclm " + command in capsys.readouterr().out


def test_eval_of_a_missing_checkpoint_is_one_clear_line(tmp_path, capsys):
    code = main(["eval", "--checkpoint", str(tmp_path / "run"), "--suite", "core", "--output", str(tmp_path / "e.json"),
                 "--tokenizer", str(tmp_path / "tok.json")])
    assert code == 1
    err = capsys.readouterr().err
    assert "dclm eval: error" in err and "Traceback" not in err


def test_bad_source_is_one_clear_line(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    code = main(["raw-pool", "--home", str(tmp_path / "home"), "--dataset", "x", "--source", str(missing),
                 "--workers", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert str(missing) in err and "Traceback" not in err


def test_process_bad_pipeline_is_one_clear_line_before_ray_starts(tmp_path, capsys):
    config = tmp_path / "p.yaml"
    config.write_text("- source: cc\n  steps: [{func: my_pkg.my_module.my_operator}]\n")
    code = main(["process", "--config", str(config), "--source-name", "cc", "--input", str(tmp_path),
                 "--output", str(tmp_path / "out")])
    assert code == 1
    err = capsys.readouterr().err
    assert "step 0" in err and "my_pkg.my_module.my_operator" in err and "refused" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_extract_warc_command(tmp_path):
    warc = shared_data("web", "warc", "cc_whirlwind", "whirlwind.warc.gz")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "dclm_assets.cli", "extract-warc", str(warc), "--output", str(out), "--workers", "1"],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["pages_written"] == 1 and len(summary["outputs"]) == 1
    (page,) = list(read_jsonl(summary["outputs"][0]))
    assert page["url"] == "https://an.wikipedia.org/wiki/Escopete"


def test_tokenize_command(tmp_path):
    from dclm_resources.tokenization import check_manifest, train_bpe_tokenizer

    pages = list(read_jsonl(str(shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl"))))[:100]
    train_bpe_tokenizer((p["text"] for p in pages), tmp_path / "tok", vocab_size=1000)
    src = tmp_path / "src.jsonl"
    src.write_text("".join(json.dumps(p) + "\n" for p in pages))
    out = tmp_path / "shards"
    proc = subprocess.run(
        [sys.executable, "-m", "dclm_assets.cli", "tokenize", "--input", str(src), "--output", str(out),
         "--tokenizer", str(tmp_path / "tok"), "--seq-len", "128", "--sequences-per-shard", "50", "--workers", "2"],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert summary["shards"] >= 2 and check_manifest(str(out), context_len=129).ok


def test_tokenize_missing_tokenizer_is_one_clear_line(tmp_path, capsys):
    code = main(["tokenize", "--input", str(tmp_path), "--output", str(tmp_path / "o"),
                 "--tokenizer", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 1 and "tokenizer" in err and "Traceback" not in err


def test_unexpected_error_is_one_line_naming_its_type(monkeypatch, capsys):
    import dclm_assets.cli_scales as cli_scales

    def broken(_args):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli_scales, "cmd_scales", broken, raising=False)
    parser = build_parser()
    args = parser.parse_args(["scales"])
    monkeypatch.setattr("dclm_assets.cli.build_parser", lambda: _Fixed(parser, args, broken))
    assert main(["scales"]) == 1
    err = capsys.readouterr().err
    assert "dclm scales: error: RuntimeError: boom" in err and "Traceback" not in err
    monkeypatch.setenv("DCLM_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["scales"])


class _Fixed:
    """A parser stand-in returning args whose command raises (the parser itself is the real one)."""

    def __init__(self, parser, args, func):
        self.parser, self.args, self.func = parser, args, func

    def parse_args(self, argv):
        args = self.parser.parse_args(argv)
        args.func = self.func
        return args
