"""Tokenizers for packing: a named HF tokenizer found locally (never downloaded) or a BPE the project trains.

Special ids follow open_lm/DCLM (``open_lm.md`` §3.2, ``dclm.md`` §4):

- EOT is ``<|endoftext|>``; for GPT-NeoX-20B its id is 0, and the trained BPE registers it first so it is 0 too.
- PAD = ``vocab_size + 2`` where ``vocab_size`` is the tokenizer's base vocabulary (HF ``vocab_size``, i.e. without
  added tokens): open_lm's ``SpecialTokens.PAD = -1`` taken modulo ``vocab_size + 3``. GPT-NeoX: 50254 -> 50256.
  PAD is therefore outside the tokenizer's vocabulary and must be dropped before decoding.

Why a sidecar JSON (``tokenizer_info.json``): the ids packed into shards must be the ones the reader and the
trainer assume; recording them beside ``tokenizer.json`` makes that explicit instead of re-derived.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

DEFAULT_TOKENIZER = "EleutherAI/gpt-neox-20b"
EOT_TOKEN = "<|endoftext|>"
TOKENIZER_FILE = "tokenizer.json"
INFO_FILE = "tokenizer_info.json"


class TokenizerNotFoundError(FileNotFoundError):
    """A named tokenizer is not on this machine; the message says which file to put where."""


@dataclass(frozen=True)
class TokenizerInfo:
    """The ids a packed dataset depends on (what ``tokenizer_info.json`` records)."""

    name: str
    eot_id: int
    pad_id: int
    vocab_size: int


@dataclass(frozen=True)
class LoadedTokenizer:
    """An HF ``tokenizers.Tokenizer`` with the EOT/PAD ids used to pack and read back contexts."""

    tokenizer: Tokenizer
    info: TokenizerInfo
    path: Path

    @property
    def eot_id(self) -> int:
        return self.info.eot_id

    @property
    def pad_id(self) -> int:
        return self.info.pad_id

    @property
    def name(self) -> str:
        return self.info.name


def hf_cache_dirs(hf_home: str | os.PathLike[str] | None = None) -> list[Path]:
    """Where the HF hub cache may live (``$HF_HOME/hub``, ``$HF_HUB_CACHE``, ``~/.cache/huggingface/hub``)."""
    if hf_home is not None:
        return [Path(hf_home) / "hub"]
    dirs: list[Path] = []
    if os.environ.get("HF_HUB_CACHE"):
        dirs.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        dirs.append(Path(os.environ["HF_HOME"]) / "hub")
    dirs.append(Path.home() / ".cache" / "huggingface" / "hub")
    return dirs


def find_tokenizer_file(name_or_path: str, hf_home: str | os.PathLike[str] | None = None) -> Path:
    """``tokenizer.json`` for a file path, a folder holding it, or a hub name in the local HF cache layout."""
    direct = Path(name_or_path)
    if direct.is_file():
        return direct
    if direct.is_dir():
        if (direct / TOKENIZER_FILE).is_file():
            return direct / TOKENIZER_FILE
        raise TokenizerNotFoundError(f"folder {direct} has no {TOKENIZER_FILE}")
    if name_or_path.endswith(".json") or name_or_path.startswith((".", "/", "~")):
        raise TokenizerNotFoundError(
            f"no tokenizer file at {direct} (a local path was given; nothing is downloaded)"
        )
    repo_dir = "models--" + name_or_path.replace("/", "--")
    tried: list[str] = []
    for hub in hf_cache_dirs(hf_home):
        snapshots = hub / repo_dir / "snapshots"
        tried.append(str(snapshots / "<revision>" / TOKENIZER_FILE))
        if snapshots.is_dir():
            found = sorted(snapshots.glob(f"*/{TOKENIZER_FILE}"))
            if found:
                return found[-1]
    raise TokenizerNotFoundError(
        f"tokenizer {name_or_path!r} is not available offline (nothing is downloaded). Put its {TOKENIZER_FILE} "
        f"at one of: {', '.join(tried)}; or pass a local path to a {TOKENIZER_FILE} (or a folder holding one); "
        "or train one with train_bpe_tokenizer()."
    )


def tokenizer_info(tokenizer: Tokenizer, name: str) -> TokenizerInfo:
    """EOT/PAD ids by the open_lm rule (see the module docstring)."""
    eot_id = tokenizer.token_to_id(EOT_TOKEN)
    if eot_id is None:
        raise ValueError(f"tokenizer {name!r} has no {EOT_TOKEN} token, which open_lm packing requires")
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=False)
    return TokenizerInfo(name=name, eot_id=eot_id, pad_id=vocab_size + 2, vocab_size=vocab_size)


def load_tokenizer(
    name_or_path: str = DEFAULT_TOKENIZER, hf_home: str | os.PathLike[str] | None = None
) -> LoadedTokenizer:
    """Load a tokenizer without network access; ids come from ``tokenizer_info.json`` beside it when present."""
    path = find_tokenizer_file(name_or_path, hf_home)
    tokenizer = Tokenizer.from_file(str(path))
    info_path = path.parent / INFO_FILE
    if info_path.is_file():
        info = TokenizerInfo(**json.loads(info_path.read_text(encoding="utf-8")))
    else:
        info = tokenizer_info(tokenizer, name_or_path)
    return LoadedTokenizer(tokenizer=tokenizer, info=info, path=path)


def train_bpe_tokenizer(
    texts: Iterable[str],
    output_path: str | os.PathLike[str],
    vocab_size: int = 8192,
    min_frequency: int = 2,
    name: str = "dclm-bpe",
) -> LoadedTokenizer:
    """Train a byte-level BPE (GPT-2 style, like GPT-NeoX's) and save ``tokenizer.json`` + ``tokenizer_info.json``.

    Why: the offline default when GPT-NeoX-20B's file is not present. Deterministic for the same texts in the
    same order. ``output_path`` is a local folder (created if needed). EOT is special token 0.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[EOT_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    info = tokenizer_info(tokenizer, name)
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / TOKENIZER_FILE, tokenizer.to_str(pretty=False))
    _write_atomic(out / INFO_FILE, json.dumps(asdict(info), indent=2, sort_keys=True) + "\n")
    return LoadedTokenizer(tokenizer=tokenizer, info=info, path=out / TOKENIZER_FILE)


def _write_atomic(path: Path, text: str) -> None:
    """Write then rename, so a reader never sees half a tokenizer file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
