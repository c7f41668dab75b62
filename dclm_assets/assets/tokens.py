"""tokenizer: the tokenizer every tokenized dataset uses (GPT-NeoX-20B when present, else a trained BPE)."""

import dagster as dg
from pydantic import Field

from dclm_resources.quality.sources import expand_dataset_uri
from dclm_resources.storage_resource import StorageResource
from dclm_resources.tokenization import DEFAULT_TOKENIZER
from dclm_resources.tokenization.provision import iter_texts, provide_tokenizer


class TokenizerConfig(dg.Config):
    name: str = Field(
        default=DEFAULT_TOKENIZER,
        description="Tokenizer name (HF cache) or path to tokenizer.json / its folder; DCLM uses GPT-NeoX-20B.",
    )
    train_if_missing: bool = Field(
        default=True, description="Offline: train a byte-level BPE when the named tokenizer's file is absent."
    )
    training_source: str = Field(
        default="raw_pool:sample",
        description="Texts for the BPE: raw_pool:<dataset>, filtered:<dataset>[/<stage>], a folder, prefix or file.",
    )
    vocab_size: int = Field(default=8192, description="Vocabulary of the trained BPE.")
    max_documents: int = Field(default=20000, description="At most this many documents train the BPE.")
    trained_name: str = Field(default="dclm-bpe", description="Folder name of the trained tokenizer.")


@dg.asset(group_name="tokens", kinds={"python"}, code_version="1")
def tokenizer(context: dg.AssetExecutionContext, config: TokenizerConfig, storage: StorageResource) -> dg.MaterializeResult:
    """The tokenizer file with its EOT and PAD ids (PAD = base vocabulary + 2, as open_lm)."""
    layout, store = storage.layout(), storage.storage()
    source = expand_dataset_uri(config.training_source, layout)
    texts = iter_texts(source, store, config.max_documents) if config.train_if_missing else None
    provided = provide_tokenizer(
        config.name,
        layout.tokenizer_dir(config.trained_name),
        training_texts=texts,
        training_source=source,
        vocab_size=config.vocab_size,
    )
    info = provided.tokenizer.info
    context.log.info(f"tokenizer {info.name} ({provided.origin}) at {provided.path}")
    return dg.MaterializeResult(
        metadata={
            "name": dg.MetadataValue.text(info.name),
            "origin": dg.MetadataValue.text(provided.origin),
            "path": dg.MetadataValue.path(provided.path),
            "vocab_size": dg.MetadataValue.int(info.vocab_size),
            "eot_id": dg.MetadataValue.int(info.eot_id),
            "pad_id": dg.MetadataValue.int(info.pad_id),
            "trained_on": dg.MetadataValue.text(provided.trained_on or ""),
            "training_documents": dg.MetadataValue.int(provided.documents),
        }
    )
