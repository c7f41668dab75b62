"""Tiny fastText models trained from the shared data, for tests that need a real model file (seconds each)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from itertools import islice
from pathlib import Path
from typing import Any

from dclm_tests.paths import shared_data

_TRAIN_SCRIPT = """
import json, sys, fasttext
data, out, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
fasttext.train_supervised(input=data, **params).save_model(out)
"""


def train_fasttext(tmp_dir: Path, name: str, lines: list[str], **params: Any) -> Path:
    """Train in a fresh process: fastText 0.9.3 training in a process that already trained a model can fail
    with "Encountered NaN" (state leaks between runs), which would make these tests order-dependent."""
    data = tmp_dir / f"{name}.txt"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = tmp_dir / f"{name}.bin"
    params = {"dim": 16, "epoch": 15, "bucket": 20000, "thread": 1, "seed": 0, "verbose": 0, **params}
    proc = subprocess.run(
        [sys.executable, "-c", _TRAIN_SCRIPT, str(data), str(path), json.dumps(params)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"fastText training failed: {proc.stderr[-2000:]}"
    return path


def bigbench_sentences() -> dict[str, list[str]]:
    """BIG-bench language_identification sentences (Bible verses) by gold language name."""
    path = shared_data(
        "eval", "local_data", "language_understanding", "bigbench_language_identification.jsonl"
    )
    out: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            options = dict(re.findall(r"\n([A-D])\. (.*)", row["query"]))
            sentence = re.search(r"Sentence: (.+)", row["query"])
            if sentence and "ABCD"[row["gold"]] in options:
                out.setdefault(options["ABCD"[row["gold"]]], []).append(sentence.group(1))
    return out


LID_LABELS = {"German": "de", "French": "fr", "Russian": "ru", "Hebrew": "he", "Mandarin Chinese": "zh"}


def train_tiny_lid(folder: Path, name: str = "lid") -> Path:
    """A 6-language LID model with lid.176's labels (``__label__en``, ...): English C4 lines, BIG-bench others."""
    c4 = shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
    english: list[str] = []
    with open(c4, encoding="utf-8") as handle:
        for line in islice(handle, 150):
            english += [ln for ln in json.loads(line)["text"].split("\n") if len(ln.split()) >= 5]
    lines = [f"__label__en {ln}" for ln in english[:600]]
    sentences = bigbench_sentences()
    for language, code in LID_LABELS.items():
        lines += [f"__label__{code} {s}" for s in sentences[language]] * 12
    return train_fasttext(folder, name, lines, lr=0.3, minn=2, maxn=4)


def train_tiny_quality(folder: Path, name: str = "quality") -> Path:
    """An hq/cc classifier from DCLM's human annotations (label 1 = hq), bigrams as DCLM's classifier."""
    path = shared_data("quality", "dclm_human_annotations", "majority_data.jsonl")
    lines = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            label = "__label__hq" if row["label"] == 1 else "__label__cc"
            lines.append(f"{label} {' '.join(row['text'].split())}")
    return train_fasttext(folder, name, lines, lr=0.5, wordNgrams=2)
