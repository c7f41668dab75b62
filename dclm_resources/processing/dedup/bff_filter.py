"""The n-gram Bloom filter of BFF on rbloom: sizing (``sysreq``), persistence, batched check-and-insert."""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

HASH_SCHEME = "dclm-bff-1:poly64-codepoint-tokens:weighted-sum-ngrams:fmix64"
_FILE_MAGIC = b"DCLMBFF\x01"

# ---------------------------------------------------------------------------------------------------------------
# Filter sizing and persistence.


@dataclass(frozen=True)
class FilterSize:
    """What a filter for ``expected_ngram_count`` n-grams at ``fp_rate`` costs: ours (rbloom) and BFF's."""

    expected_ngram_count: int
    fp_rate: float
    size_in_bits: int
    size_in_bytes: int
    num_hashers: int
    bff_size_in_bytes: int
    bff_num_hashers: int


def _bff_hashers(size_in_bytes: int, n: int) -> int:
    return math.ceil(size_in_bytes * 8 / n * math.log(2))


def _bff_fp(size_in_bytes: int, n: int, k: int) -> float:
    m = size_in_bytes * 8
    return (1.0 - (1.0 - 1.0 / m) ** (k * n)) ** k


def _bff_size_in_bytes(n: int, fp_rate: float) -> int:
    """Smallest byte size whose false-positive rate with ``ceil(m/n ln 2)`` hashers is <= ``fp_rate`` (BFF's
    ``compute_bloom_size`` searches the same inequality, without its cap at 90% of RAM)."""
    lo, hi = 1, max(2, math.ceil(-n * math.log(fp_rate) / math.log(2) ** 2 / 8) * 2)
    while _bff_fp(hi, n, _bff_hashers(hi, n)) > fp_rate:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if _bff_fp(mid, n, _bff_hashers(mid, n)) > fp_rate:
            lo = mid + 1
        else:
            hi = mid
    return lo


def sysreq(expected_ngram_count: int, fp_rate: float) -> FilterSize:
    """Memory and hasher count of the filter ``run_bff`` would build (BFF's ``sysreq`` subcommand)."""
    _check_filter_args(expected_ngram_count, fp_rate)
    # rbloom: m = -n ln p / ln^2 2 bits, truncated, rounded up to whole bytes; k = floor(m/n * ln 2) on the unrounded m.
    bits = -expected_ngram_count * math.log(fp_rate) / math.log(2) ** 2
    size_in_bytes = -(-int(bits) // 8)
    k = int(bits / expected_ngram_count * math.log(2))
    bff_bytes = _bff_size_in_bytes(expected_ngram_count, fp_rate)
    return FilterSize(
        expected_ngram_count,
        fp_rate,
        size_in_bytes * 8,
        size_in_bytes,
        k,
        bff_bytes,
        _bff_hashers(bff_bytes, expected_ngram_count),
    )


def _check_filter_args(expected_ngram_count: int, fp_rate: float) -> None:
    if not isinstance(expected_ngram_count, int) or expected_ngram_count <= 0:
        raise ValueError(f"expected_ngram_count must be a positive integer, got {expected_ngram_count!r}")
    if not 0.0 < fp_rate < 1.0:
        raise ValueError(f"fp_rate must be in (0, 1), got {fp_rate!r}")


class NgramFilter:
    """The shared Bloom filter (rbloom) over 64-bit n-gram hashes, with a self-describing file format.

    rbloom only saves filters built with a custom hash function; ``int`` is the identity on our precomputed
    hashes, so it is both the cheapest callable and stable across processes. The file is a small JSON header
    (hash scheme, sizing) followed by rbloom's bytes, so a filter built by another hash scheme is refused.
    """

    def __init__(self, bloom: Any, info: dict[str, Any]) -> None:
        self.bloom = bloom
        self.info = info

    @classmethod
    def create(cls, expected_ngram_count: int, fp_rate: float) -> NgramFilter:
        from rbloom import Bloom

        _check_filter_args(expected_ngram_count, fp_rate)
        bloom = Bloom(expected_ngram_count, fp_rate, int)
        info = {"hash_scheme": HASH_SCHEME, "expected_ngram_count": expected_ngram_count, "fp_rate": fp_rate}
        return cls(bloom, info)

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> NgramFilter:
        from rbloom import Bloom

        if not data.startswith(_FILE_MAGIC) or len(data) < len(_FILE_MAGIC) + 4:
            raise ValueError(f"{source}: not a DCLM BFF filter file (bad magic)")
        (header_len,) = struct.unpack_from("<I", data, len(_FILE_MAGIC))
        start = len(_FILE_MAGIC) + 4
        info = json.loads(data[start : start + header_len])
        if info.get("hash_scheme") != HASH_SCHEME:
            raise ValueError(
                f"{source}: filter hashed with {info.get('hash_scheme')!r}, this code uses {HASH_SCHEME!r}"
            )
        return cls(Bloom.load_bytes(data[start + header_len :], int), info)

    def to_bytes(self) -> bytes:
        header = json.dumps(self.info, sort_keys=True).encode()
        return _FILE_MAGIC + struct.pack("<I", len(header)) + header + self.bloom.save_bytes()

    @property
    def size_in_bytes(self) -> int:
        return int(self.bloom.size_in_bits) // 8
