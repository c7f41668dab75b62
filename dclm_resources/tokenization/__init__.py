"""Tokenize and pack documents into open_lm webdataset shards (DCLM's tokenize-shuffle output format).

Plain Python (no Dagster): tokenizer loading/training, the open_lm packer, shard/manifest/reference writers and
the readers used by the round-trip checks.
"""

from dclm_resources.tokenization.mixing import (
    InputFile,
    MixingSpec,
    MixSource,
    load_mixing,
    parse_mixing,
    resolve_inputs,
)
from dclm_resources.tokenization.packing import (
    DEFAULT_SEQ_LEN,
    ContextPacker,
    PackStats,
    pack_texts,
)
from dclm_resources.tokenization.readback import (
    ManifestCheck,
    check_manifest,
    decode_contexts,
    iter_tar_contexts,
    iter_webdataset_contexts,
)
from dclm_resources.tokenization.shards import (
    DEFAULT_SEQUENCES_PER_SHARD,
    MANIFEST_NAME,
    ShardRecord,
    ShardWriter,
    encode_context,
    tokenized_dataset_reference,
    write_manifest,
    write_tokenized_reference,
)
from dclm_resources.tokenization.shuffle import SourceStats, TokenizeSummary, tokenize_shuffle
from dclm_resources.tokenization.tokenizer import (
    DEFAULT_TOKENIZER,
    EOT_TOKEN,
    LoadedTokenizer,
    TokenizerInfo,
    TokenizerNotFoundError,
    find_tokenizer_file,
    load_tokenizer,
    tokenizer_info,
    train_bpe_tokenizer,
)

__all__ = [
    "DEFAULT_SEQUENCES_PER_SHARD",
    "DEFAULT_SEQ_LEN",
    "DEFAULT_TOKENIZER",
    "EOT_TOKEN",
    "MANIFEST_NAME",
    "ContextPacker",
    "InputFile",
    "LoadedTokenizer",
    "ManifestCheck",
    "MixSource",
    "MixingSpec",
    "PackStats",
    "ShardRecord",
    "ShardWriter",
    "SourceStats",
    "TokenizeSummary",
    "TokenizerInfo",
    "TokenizerNotFoundError",
    "check_manifest",
    "decode_contexts",
    "encode_context",
    "find_tokenizer_file",
    "iter_tar_contexts",
    "iter_webdataset_contexts",
    "load_mixing",
    "load_tokenizer",
    "pack_texts",
    "parse_mixing",
    "resolve_inputs",
    "tokenize_shuffle",
    "tokenized_dataset_reference",
    "tokenizer_info",
    "train_bpe_tokenizer",
    "write_manifest",
    "write_tokenized_reference",
]
