"""Storage engine: local folders and s3:// URIs behind one API, JSONL(.gz/.zst) I/O, atomic commits.

Plain Python (no Dagster): the storage resource wraps it for the assets, Ray workers use it directly.
"""

from dclm_resources.storage.base import FileInfo, StorageError, StorageNotFoundError
from dclm_resources.storage.compression import (
    codec_for,
    compressing_writer,
    decompressing_reader,
    open_compressed_writer,
    open_decompressed,
)
from dclm_resources.storage.jsonl import (
    JSONL_SUFFIXES,
    JsonlFormatError,
    iter_jsonl_lines,
    parse_jsonl_line,
    read_jsonl,
    write_jsonl,
)
from dclm_resources.storage.s3 import S3Settings
from dclm_resources.storage.store import Storage
from dclm_resources.storage.uris import basename, is_s3, join_uri, parent_uri, split_s3

__all__ = [
    "JSONL_SUFFIXES",
    "FileInfo",
    "JsonlFormatError",
    "S3Settings",
    "Storage",
    "StorageError",
    "StorageNotFoundError",
    "basename",
    "codec_for",
    "compressing_writer",
    "decompressing_reader",
    "is_s3",
    "iter_jsonl_lines",
    "join_uri",
    "open_compressed_writer",
    "open_decompressed",
    "parent_uri",
    "parse_jsonl_line",
    "read_jsonl",
    "split_s3",
    "write_jsonl",
]
