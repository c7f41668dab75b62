"""Check that a fastText ``.bin`` / ``.ftz`` file is whole before fastText reads it.

Why: fastText 0.9.3 reads a file cut short without complaint. Cut inside the matrices, the missing rows stay zero
and every prediction comes out ~0.5 (a quality filter silently becomes a coin toss); cut inside the dictionary,
the matrix sizes are read from garbage and the loader may try to allocate terabytes (the worker is OOM-killed).
Walking the layout here costs one pass over the dictionary (about a second for millions of words) and no
allocation beyond the file mapping.

Layout (fastText's ``saveModel``): magic and version (int32 each); args (12 int32, 1 double); dictionary: size,
nwords, nlabels (int32), ntokens, pruneidx_size (int64), per entry the word's bytes, a NUL, count (int64) and
type (int8), then ``pruneidx_size`` pairs of int32; a quantized flag (1 byte) and the input matrix; a quantized
flag and the output matrix. A dense matrix is rows, cols (int64) and rows*cols float32; a quantized one is qnorm
(1 byte), rows, cols (int64), codesize (int32), the codes, a product quantizer, and with qnorm the norm codes and
a second quantizer. A product quantizer is dim, nsubq, dsub, lastdsub (int32) and dim*256 float32 centroids.
"""

from __future__ import annotations

import mmap
import struct

FASTTEXT_MAGIC = 793712314
KSUB = 256  # centroids per sub-quantizer (8-bit codes)
_ARGS_BYTES = 12 * 4 + 8


class LayoutError(ValueError):
    """The file is not a whole fastText model; the message says where the layout breaks."""


class _Reader:
    def __init__(self, buf: mmap.mmap | bytes) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, n: int, what: str) -> int:
        if n < 0 or self.pos + n > len(self.buf):
            raise LayoutError(f"ends inside the {what} (needs {n} bytes at offset {self.pos}, file has {len(self.buf)})")
        start = self.pos
        self.pos += n
        return start

    def unpack(self, fmt: str, what: str) -> tuple[int, ...]:
        start = self.take(struct.calcsize(fmt), what)
        return struct.unpack_from(fmt, self.buf, start)


def check_fasttext_file(path: str) -> None:
    """Raise LayoutError unless ``path`` holds exactly one whole fastText model (no byte missing or extra)."""
    with open(path, "rb") as fh:
        try:
            buf: mmap.mmap | bytes = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            buf = b""
    try:
        r = _Reader(buf)
        magic, _version = r.unpack("<ii", "header")
        if magic != FASTTEXT_MAGIC:
            raise LayoutError("does not start with fastText's magic number")
        r.take(_ARGS_BYTES, "training arguments")
        size, nwords, nlabels, _ntokens, prune_pairs = r.unpack("<iiiqq", "dictionary header")
        if size < 0 or nwords < 0 or nlabels < 0 or size != nwords + nlabels:
            raise LayoutError(f"dictionary header is inconsistent (size {size}, words {nwords}, labels {nlabels})")
        for i in range(size):
            end = buf.find(b"\0", r.pos)
            if end < 0:
                raise LayoutError(f"ends inside dictionary entry {i} of {size}")
            r.pos = end + 1
            r.take(9, f"dictionary entry {i} of {size}")
        r.take(8 * max(prune_pairs, 0), "pruned-word index")
        for name in ("input matrix", "output matrix"):
            (quantized,) = r.unpack("<?", f"{name} flag")
            if quantized:
                _quant_matrix(r, name)
            else:
                _dense_matrix(r, name)
        if r.pos != len(buf):
            raise LayoutError(f"has {len(buf) - r.pos} bytes after the output matrix")
    finally:
        if isinstance(buf, mmap.mmap):
            buf.close()


def _dense_matrix(r: _Reader, name: str) -> None:
    rows, cols = r.unpack("<qq", f"{name} header")
    if rows < 0 or cols < 0:
        raise LayoutError(f"{name} header is negative ({rows} x {cols})")
    r.take(4 * rows * cols, f"{name} ({rows} x {cols} floats)")


def _quant_matrix(r: _Reader, name: str) -> None:
    qnorm, rows, _cols, codesize = r.unpack("<?qqi", f"{name} header")
    r.take(codesize, f"{name} codes")
    _product_quantizer(r, name)
    if qnorm:
        r.take(rows, f"{name} norm codes")
        _product_quantizer(r, f"{name} norm")


def _product_quantizer(r: _Reader, name: str) -> None:
    dim, _nsubq, _dsub, _lastdsub = r.unpack("<iiii", f"{name} quantizer header")
    r.take(4 * dim * KSUB, f"{name} quantizer centroids")
