"""WARC/WET -> raw-pool page extraction on real crawl files, broken files and made-up garbage.

The fixtures live in the shared data folder next to the repo (``<repo>/../shared/data/web/warc``); tests that
need them skip when it is absent.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType

from dclm_resources.pools import warc as warc_module
from dclm_resources.pools.warc import (
    WarcExtractionStats,
    WarcFormatError,
    extract_warc,
    iter_warc_pages,
    warc_output_stem,
)
from dclm_resources.storage import Storage, read_jsonl

WARC_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "web" / "warc"
HTML_TAG = re.compile(r"</?(html|head|body|div|span|p|a|script|style|meta|table|td|li|ul)\b[^>]*>", re.IGNORECASE)


def _data(rel: str) -> Path:
    path = WARC_DIR / rel
    if not path.is_file():
        pytest.skip(f"shared WARC fixture missing: {path} (expected the shared data folder beside the repo)")
    return path


def _pages(path: Path) -> tuple[list[dict[str, Any]], WarcExtractionStats]:
    stats = WarcExtractionStats()
    with open(path, "rb") as fh:
        pages = list(iter_warc_pages(fh, path.name, stats))
    return pages, stats


def _pages_from_bytes(data: bytes, name: str = "mem.warc") -> tuple[list[dict[str, Any]], WarcExtractionStats]:
    stats = WarcExtractionStats()
    return list(iter_warc_pages(io.BytesIO(data), name, stats)), stats


def _response_uris(path: Path) -> list[str]:
    """Target URIs of the response records, read independently with plain fastwarc."""
    with open(path, "rb") as fh:
        return [r.headers["WARC-Target-URI"] for r in ArchiveIterator(fh, record_types=WarcRecordType.response)]


# -- real Common Crawl data ---------------------------------------------------------------------------------


def test_cc_warc_head_gives_one_page_per_html_response() -> None:
    path = _data("resiliparse_tests/warcfile.warc.gz")
    pages, stats = _pages(path)
    assert len(pages) == 16
    assert stats.responses == 16 and stats.pages_written == 16
    assert stats.records_read == 50  # warcinfo + 17 request + 16 response + 16 metadata
    assert stats.records_failed == 0 and stats.errors == []
    assert [p["url"] for p in pages] == _response_uris(path)
    for page in pages:
        meta = page["metadata"]
        assert {"WARC-Record-ID", "WARC-Date", "WARC-Target-URI", "WARC-Type"} <= set(meta)
        assert meta["WARC-Type"] == "response"
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
        assert page["text"].strip() and page["text"] == page["text"].strip()
        assert not HTML_TAG.search(page["text"]), page["url"]
        assert "isPartOf: CC-MAIN-2020-34" in page["warcinfo"]


def test_cc_warc_decodes_declared_charsets() -> None:
    pages, _ = _pages(_data("resiliparse_tests/warcfile.warc.gz"))
    by_url = {p["url"]: p["text"] for p in pages}
    assert "Стратегия пожарной безопасности" in by_url["http://01spb.ru/company/"]  # windows-1251 page
    assert "中山英才网热线" in by_url["http://0760.jxtdw.com/area/sanxiang/"]  # gb2312 page


def test_whirlwind_warc_and_wet_give_the_same_page() -> None:
    warc_pages, warc_stats = _pages(_data("cc_whirlwind/whirlwind.warc.gz"))
    wet_pages, wet_stats = _pages(_data("cc_whirlwind/whirlwind.warc.wet.gz"))
    assert [p["url"] for p in warc_pages] == ["https://an.wikipedia.org/wiki/Escopete"]
    assert [p["url"] for p in wet_pages] == ["https://an.wikipedia.org/wiki/Escopete"]
    assert warc_stats.records_failed == wet_stats.records_failed == 0
    assert "Escopete" in warc_pages[0]["text"]
    assert wet_pages[0]["metadata"]["WARC-Type"] == "conversion"
    assert "isPartOf: CC-MAIN-2024-22" in wet_pages[0]["warcinfo"]


def test_wet_text_is_the_conversion_payload_as_is() -> None:
    path = _data("cc_whirlwind/whirlwind.warc.wet.gz")
    with open(path, "rb") as fh:
        payload = next(iter(ArchiveIterator(fh, record_types=WarcRecordType.conversion))).reader.read()
    pages, _ = _pages(path)
    assert pages[0]["text"] == payload.decode("utf-8").strip()


def test_wat_file_has_no_pages() -> None:
    pages, stats = _pages(_data("cc_whirlwind/whirlwind.warc.wat.gz"))
    assert pages == [] and stats.records_read == 2 and stats.records_failed == 0


def test_lf_only_wet_sample_is_read_leniently() -> None:
    # cc_net's hand-made sample has bare-LF lines and Content-Lengths that count characters, not bytes: the
    # warcinfo block swallows the first conversion header, so a length-driven parser recovers 2 of its 3 pages.
    pages, stats = _pages(_data("cc_net_tests/sample.warc.wet.txt"))
    assert [p["url"] for p in pages] == ["http://sample_chinese.zh", "http://sample_russian.ru"]
    assert all(p["text"] for p in pages)
    assert "Марка Твена" in pages[1]["text"]


# -- other crawlers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [("sample-0000.warc.gz", 22), ("sample-0001.warc.gz", 15)])
def test_dolma_wget_warcs_strip_angle_brackets_from_urls(name: str, expected: int) -> None:
    path = _data(f"dolma_tests/{name}")
    pages, stats = _pages(path)
    assert len(pages) == expected and stats.responses == expected and stats.records_failed == 0
    raw_uris = _response_uris(path)
    assert all(u.startswith("<") and u.endswith(">") for u in raw_uris)
    assert [p["url"] for p in pages] == [u[1:-1] for u in raw_uris]
    assert all(p["metadata"]["WARC-Target-URI"].startswith("<") for p in pages)  # headers kept verbatim
    assert all(p["url"].startswith("https://") for p in pages)


def test_clueweb_odd_dates_and_lf_http_headers_do_not_break_extraction() -> None:
    pages, stats = _pages(_data("resiliparse_tests/clueweb-quirk.warc.gz"))
    assert len(pages) == 29 and stats.records_failed == 0
    assert {p["metadata"]["WARC-Date"] for p in pages} == {"2008-10-294T05:21:46-0700"}
    # The HTTP headers claim gzip + EUC-JP although the body is stored decoded: the text must be real Japanese.
    assert "吉田カバン" in pages[0]["text"]
    assert "nutch" in pages[0]["warcinfo"].lower()


def test_content_encoded_and_chunked_bodies_are_decoded() -> None:
    gz_pages, _ = _pages(_data("warcio_tests/example.warc.gz"))  # Content-Encoding: gzip body
    chunked_pages, _ = _pages(_data("warcio_tests/example-iana.org-chunked.warc"))
    assert gz_pages[0]["text"].startswith("Example Domain")
    assert chunked_pages[0]["text"].startswith("Internet Assigned Numbers Authority")
    assert not re.match(r"^[0-9a-f]+\s", chunked_pages[0]["text"])  # no chunk-size line leaked into the text


def test_non_html_responses_are_counted_not_emitted() -> None:
    pages, stats = _pages(_data("warcio_tests/post-test.warc.gz"))  # application/json responses
    assert pages == [] and stats.responses == 3 and stats.skipped_non_html == 3


def test_empty_extractions_are_skipped_and_counted() -> None:
    html = b"<html><body><script>var x = 1;</script></body></html>"
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (len(html), html)
    record = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://empty.example/\r\n"
              b"WARC-Date: 2024-01-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
              b"Content-Type: application/http; msgtype=response\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n"
              % (len(http), http))
    pages, stats = _pages_from_bytes(record)
    assert pages == [] and stats.responses == 1 and stats.skipped_empty == 1 and stats.records_failed == 0


# -- broken files ----------------------------------------------------------------------------------------------


def test_clipped_gzip_counts_the_truncated_record() -> None:
    pages, stats = _pages(_data("resiliparse_tests/clipped.warc.gz"))
    assert pages == []
    assert stats.records_read == 1 and stats.responses == 0 and stats.records_failed == 1
    assert len(stats.errors) == 1
    assert "clipped.warc.gz" in stats.errors[0] and "record #1 at offset 0" in stats.errors[0]
    assert "truncated" in stats.errors[0]


def test_truncated_warc_keeps_pages_before_the_garbage() -> None:
    pages, stats = _pages(_data("warcio_tests/example-trunc.warc"))
    assert [p["url"] for p in pages] == ["http://example.com/"]
    assert pages[0]["text"].startswith("Example Domain")
    assert stats.records_read == 3 and stats.records_failed == 1
    assert "example-trunc.warc" in stats.errors[0] and "after record #3 (offset 1197)" in stats.errors[0]


def test_whole_file_gzip_warc_is_read() -> None:
    # warcio rejects this file (one gzip member for all records instead of one per record); fastwarc reads it.
    pages, stats = _pages(_data("warcio_tests/example-bad.warc.gz.bad"))
    assert [p["url"] for p in pages] == ["http://example.com?example=1", "http://www.iana.org/domains/example"]
    assert stats.records_read == 6 and stats.records_failed == 0


def test_wrong_gzip_chunking_is_read() -> None:
    pages, stats = _pages(_data("warcio_tests/example-wrong-chunks.warc.gz"))
    assert [p["url"] for p in pages] == ["http://example.com/"]
    assert stats.records_read == 2 and stats.records_failed == 0
    assert "warcinfo" not in pages[0]  # this file has no warcinfo record


@pytest.mark.parametrize("cut", [70_000, 100_000, 135_000])
def test_cut_gzip_warc_keeps_pages_before_the_cut(cut: int) -> None:
    data = _data("resiliparse_tests/warcfile.warc.gz").read_bytes()
    full, _ = _pages_from_bytes(data)
    pages, stats = _pages_from_bytes(data[:cut], "cut.warc.gz")
    assert 0 < len(pages) < 16
    assert pages == full[: len(pages)]
    assert stats.records_failed == 1 and "truncated" in stats.errors[0] and "cut.warc.gz" in stats.errors[0]


def test_garbage_after_valid_records_is_one_counted_failure() -> None:
    data = _data("resiliparse_tests/warcfile.warc.gz").read_bytes() + b"\x00garbage" * 40
    pages, stats = _pages_from_bytes(data, "tail.warc.gz")
    assert len(pages) == 16 and stats.records_failed == 1
    assert "tail.warc.gz: stream broken after record #50" in stats.errors[0]


@pytest.mark.parametrize("name", ["example.arc", "example.arc.gz", "bad.arc", "example-space-in-url.arc"])
def test_arc_files_are_rejected_clearly(name: str) -> None:
    path = _data(f"warcio_tests/{name}")
    with pytest.raises(WarcFormatError, match=rf"{re.escape(name)}: ARC files are not supported"):
        _pages(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (os.urandom(4096), "not a WARC file"),
        (b"", "empty"),
        (b"just some text\n" * 100, "not a WARC file"),
        (gzip.compress(b'{"text": "a jsonl line"}\n' * 10), "not a WARC file"),
        (b"\x1f\x8b" + os.urandom(2000), "gzip data is corrupt"),
    ],
    ids=["random", "empty", "text", "gzipped-jsonl", "corrupt-gzip"],
)
def test_garbage_file_raises_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "garbage.warc.gz"
    path.write_bytes(content)
    with pytest.raises(WarcFormatError, match=message) as info:
        _pages(path)
    assert "garbage.warc.gz" in str(info.value)


def test_stream_errors_propagate_instead_of_being_counted() -> None:
    class FlakyStream(io.RawIOBase):
        def __init__(self, data: bytes, fail_after: int) -> None:
            self._data, self._pos, self._fail_after = data, 0, fail_after

        def readable(self) -> bool:
            return True

        def read(self, size: int | None = -1) -> bytes:
            if self._pos >= self._fail_after:
                raise ConnectionResetError("network went away")
            size = len(self._data) if size is None or size < 0 else size
            out = self._data[self._pos : min(self._pos + size, self._fail_after)]
            self._pos += len(out)
            return out

    data = _data("resiliparse_tests/warcfile.warc.gz").read_bytes()
    stats = WarcExtractionStats()
    with pytest.raises(ConnectionResetError):
        list(iter_warc_pages(FlakyStream(data, 100_000), "flaky", stats))
    assert stats.records_failed == 0


def test_non_seekable_zstd_stream_is_read() -> None:
    zstandard = pytest.importorskip("zstandard")
    raw = gzip.decompress(_data("cc_whirlwind/whirlwind.warc.gz").read_bytes())

    class ReadOnly:
        def __init__(self, data: bytes) -> None:
            self._buf = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self._buf.read(size)

    stats = WarcExtractionStats()
    pages = list(iter_warc_pages(ReadOnly(zstandard.ZstdCompressor().compress(raw)), "w.warc.zst", stats))  # type: ignore[arg-type]
    assert [p["url"] for p in pages] == ["https://an.wikipedia.org/wiki/Escopete"]


# -- stats -----------------------------------------------------------------------------------------------------


def test_stats_merge_adds_counts_and_lists_without_mutating() -> None:
    a = WarcExtractionStats(files=1, records_read=10, pages_written=3, records_failed=1, errors=["a"], outputs=["x"])
    b = WarcExtractionStats(files=2, records_read=5, skipped_empty=2, files_skipped=1, errors=["b"], outputs=["y"])
    merged = a.merge(b)
    assert (merged.files, merged.records_read, merged.pages_written, merged.skipped_empty) == (3, 15, 3, 2)
    assert merged.records_failed == 1 and merged.files_skipped == 1
    assert merged.errors == ["a", "b"] and merged.outputs == ["x", "y"]
    assert a.errors == ["a"] and b.outputs == ["y"]
    assert WarcExtractionStats.from_dict(merged.to_dict()) == merged


# -- extract_warc: one file -> JSONL shard(s) ------------------------------------------------------------------


def test_output_stem_follows_dclm_naming() -> None:
    uri = "s3://commoncrawl/crawl-data/CC-MAIN-2020-34/segments/x/warc/CC-MAIN-2020-00000.warc.gz"
    digest = hashlib.md5(uri.encode()).hexdigest()[:7]
    assert warc_output_stem(uri) == f"CC-MAIN-2020-00000_{digest}"
    assert warc_output_stem("/d/a.warc").startswith("a_")
    assert warc_output_stem("/d/a.warc.wet.gz").startswith("a_")


def test_extract_warc_writes_one_gzip_shard(tmp_path: Path) -> None:
    src = str(_data("resiliparse_tests/warcfile.warc.gz"))
    out = str(tmp_path / "pool")
    stats = extract_warc(src, out, Storage())
    expected = f"{out}/warcfile_{hashlib.md5(src.encode()).hexdigest()[:7]}.jsonl.gz"
    assert stats.outputs == [expected] and stats.files == 1 and stats.pages_written == 16
    written = list(read_jsonl(expected))
    direct, _ = _pages(Path(src))
    assert written == direct
    assert Path(expected).read_bytes()[:2] == b"\x1f\x8b"  # really gzip


def test_extract_warc_splits_parts_and_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen_types: list[type] = []
    real_write = warc_module.write_jsonl

    def spy(pages: Any, uri: str, storage: Any) -> int:
        seen_types.append(type(pages))
        return real_write(pages, uri, storage)

    monkeypatch.setattr(warc_module, "write_jsonl", spy)
    src = str(_data("dolma_tests/sample-0000.warc.gz"))
    stats = extract_warc(src, str(tmp_path), Storage(), documents_per_jsonl=5)
    stem = warc_output_stem(src)
    assert stats.outputs == [f"{tmp_path}/{stem}_{i}.jsonl.gz" for i in range(1, 6)]
    assert [len(list(read_jsonl(u))) for u in stats.outputs] == [5, 5, 5, 5, 2]
    assert all(not issubclass(t, (list, tuple)) for t in seen_types)  # generators, never a materialized list


def test_extract_warc_skips_committed_output_on_rerun(tmp_path: Path) -> None:
    src = str(_data("dolma_tests/sample-0001.warc.gz"))
    first = extract_warc(src, str(tmp_path), Storage(), documents_per_jsonl=4)
    again = extract_warc(src, str(tmp_path), Storage(), documents_per_jsonl=4)
    assert first.files_skipped == 0 and first.pages_written == 15
    assert again.files == 1 and again.files_skipped == 1 and again.pages_written == 0
    assert again.outputs == first.outputs
    forced = extract_warc(src, str(tmp_path), Storage(), documents_per_jsonl=4, skip_existing=False)
    assert forced.files_skipped == 0 and forced.pages_written == 15
    resplit = extract_warc(src, str(tmp_path), Storage(), documents_per_jsonl=0)  # other split: redo
    assert resplit.files_skipped == 0 and len(resplit.outputs) == 1
    Path(resplit.outputs[0]).unlink()  # a shard lost since: the marker alone does not count
    redone = extract_warc(src, str(tmp_path), Storage())
    assert redone.files_skipped == 0 and redone.pages_written == 15


def test_extract_warc_counts_broken_and_foreign_files(tmp_path: Path) -> None:
    storage = Storage()
    clipped = extract_warc(str(_data("resiliparse_tests/clipped.warc.gz")), str(tmp_path), storage)
    assert clipped.records_failed == 1 and clipped.outputs == [] and clipped.files_failed == 0

    garbage = tmp_path / "in" / "junk.warc.gz"
    garbage.parent.mkdir()
    garbage.write_bytes(os.urandom(1000))
    failed = extract_warc(str(garbage), str(tmp_path / "out"), storage)
    assert failed.files == 1 and failed.files_failed == 1 and failed.outputs == []
    assert str(garbage) in failed.errors[0] and "not a WARC file" in failed.errors[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.jsonl.gz"))

    arc = extract_warc(str(_data("warcio_tests/example.arc")), str(tmp_path / "out"), storage)
    assert arc.files_failed == 1 and "ARC files are not supported" in arc.errors[0]
