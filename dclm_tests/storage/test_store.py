"""Storage on both backends: roundtrips, listing rules, atomic writes, errors that name the URI, pickling."""

from __future__ import annotations

import pickle

import pytest

from dclm_resources.storage import FileInfo, S3Settings, Storage, StorageError, StorageNotFoundError
from dclm_resources.storage import s3 as s3_backend
from dclm_tests.storage.conftest import Backend


def test_bytes_and_text_roundtrip(backend: Backend) -> None:
    st = backend.storage
    st.write_bytes(backend.uri("deep", "dir", "a.bin"), b"\x00\x01payload")
    assert st.read_bytes(backend.uri("deep", "dir", "a.bin")) == b"\x00\x01payload"
    st.write_text(backend.uri("t.txt"), "héllo ✓")
    assert st.read_text(backend.uri("t.txt")) == "héllo ✓"
    st.write_text(backend.uri("t.txt"), "replaced")
    assert st.read_text(backend.uri("t.txt")) == "replaced"
    assert st.size(backend.uri("t.txt")) == len(b"replaced")
    assert st.exists(backend.uri("t.txt"))
    assert st.exists(backend.uri("deep"))  # a directory / non-empty prefix
    assert not st.exists(backend.uri("nope.txt"))


def test_open_read_streams(backend: Backend) -> None:
    data = bytes(range(256)) * 4096
    backend.storage.write_bytes(backend.uri("big.bin"), data)
    with backend.storage.open_read(backend.uri("big.bin")) as fh:
        assert fh.read(10) == data[:10]
        assert fh.read() == data[10:]


def test_missing_paths_raise_naming_uri(backend: Backend) -> None:
    st, missing = backend.storage, backend.uri("missing", "x.jsonl")
    for call in (st.open_read, st.read_bytes, st.size, st.delete):
        with pytest.raises(StorageNotFoundError) as info:
            call(missing)
        assert missing in str(info.value)
        assert isinstance(info.value, StorageError)
    st.delete(missing, missing_ok=True)


def test_delete(backend: Backend) -> None:
    st = backend.storage
    st.write_bytes(backend.uri("a.bin"), b"x")
    st.delete(backend.uri("a.bin"))
    assert not st.exists(backend.uri("a.bin"))
    assert backend.raw_names() == []


def _populate(backend: Backend) -> None:
    for rel in [
        "b.jsonl",
        "a.jsonl.gz",
        "notes.txt",
        "sub/c.jsonl.zst",
        "sub/deeper/d.jsonl",
        ".hidden.jsonl",
        "_SUCCESS",
        "_tmp/e.jsonl",
        "sub/.f.jsonl.tmp",
        "sub/_g.jsonl",
    ]:
        backend.storage.write_bytes(backend.uri(rel), b"{}\n")


def test_list_files_filters_hidden_and_sorts(backend: Backend) -> None:
    _populate(backend)
    listed = backend.storage.list_files(backend.root)
    assert [f.uri for f in listed] == [
        backend.uri(r)
        for r in ["a.jsonl.gz", "b.jsonl", "notes.txt", "sub/c.jsonl.zst", "sub/deeper/d.jsonl"]
    ]
    assert all(isinstance(f, FileInfo) and f.size == 3 for f in listed)
    jsonl = backend.storage.list_files(backend.root, suffixes=(".jsonl", ".jsonl.zst"))
    assert [f.uri for f in jsonl] == [
        backend.uri(r) for r in ["b.jsonl", "sub/c.jsonl.zst", "sub/deeper/d.jsonl"]
    ]
    flat = backend.storage.list_files(backend.root, recursive=False)
    assert [f.uri for f in flat] == [backend.uri(r) for r in ["a.jsonl.gz", "b.jsonl", "notes.txt"]]
    # A trailing slash and a sub-"directory" root both work; hidden-ness is judged below the root only.
    assert [f.uri for f in backend.storage.list_files(backend.uri("sub") + "/", recursive=False)] == [
        backend.uri("sub") + "/c.jsonl.zst"
    ]
    assert [f.uri for f in backend.storage.list_files(backend.uri("_tmp"))] == [backend.uri("_tmp/e.jsonl")]


def test_list_files_single_file_and_prefix_sibling(backend: Backend) -> None:
    backend.storage.write_bytes(backend.uri("x.jsonl"), b"{}\n")
    backend.storage.write_bytes(backend.uri("x.jsonl2/y.jsonl"), b"{}\n")
    assert backend.storage.list_files(backend.uri("x.jsonl")) == [FileInfo(backend.uri("x.jsonl"), 3)]
    assert backend.storage.list_files(backend.uri("x.jsonl"), suffixes=(".gz",)) == []
    # A root must not match siblings that merely start with the same characters ("x" vs "x.jsonl").
    if backend.kind == "s3":
        assert backend.storage.list_files(backend.uri("x")) == []
    else:
        with pytest.raises(StorageNotFoundError):
            backend.storage.list_files(backend.uri("x"))


def test_list_empty_and_missing(backend: Backend) -> None:
    backend.storage.makedirs(backend.uri("empty"))
    if backend.kind == "local":
        assert backend.storage.list_files(backend.uri("empty")) == []
        with pytest.raises(StorageNotFoundError, match="does-not-exist"):
            backend.storage.list_files(backend.uri("does-not-exist"))
    else:
        assert backend.storage.list_files(backend.uri("empty")) == []  # S3 has no directories
        with pytest.raises(StorageNotFoundError, match="no-such-bucket-dclm"):
            backend.storage.list_files("s3://no-such-bucket-dclm/prefix")


def test_atomic_writer_failure_leaves_nothing(backend: Backend) -> None:
    target = backend.uri("out", "shard.bin")
    with pytest.raises(RuntimeError, match="boom"), backend.storage.atomic_writer(target) as fh:
        fh.write(b"partial data" * 1000)
        raise RuntimeError("boom")
    assert not backend.storage.exists(target)
    assert backend.raw_names() == []
    if backend.kind == "local":
        assert backend.storage.list_files(backend.root) == []


def test_atomic_writer_keeps_existing_until_success(backend: Backend) -> None:
    target = backend.uri("shard.bin")
    backend.storage.write_bytes(target, b"old")
    with pytest.raises(KeyboardInterrupt), backend.storage.atomic_writer(target) as fh:
        fh.write(b"new")
        raise KeyboardInterrupt
    assert backend.storage.read_bytes(target) == b"old"
    with backend.storage.atomic_writer(target) as fh:
        fh.write(b"new")
        assert backend.storage.read_bytes(target) == b"old"  # not visible before commit
        assert [f.uri for f in backend.storage.list_files(backend.root)] == [target]
    assert backend.storage.read_bytes(target) == b"new"
    assert backend.raw_names() == ["shard.bin"]


def test_storage_pickles_after_use(backend: Backend) -> None:
    backend.storage.write_bytes(backend.uri("p.bin"), b"pickled")
    clone = pickle.loads(pickle.dumps(backend.storage))
    assert clone == backend.storage
    assert clone.read_bytes(backend.uri("p.bin")) == b"pickled"


def test_errors_pickle() -> None:
    err = pickle.loads(pickle.dumps(StorageNotFoundError("s3://b/k", "no such object")))
    assert isinstance(err, StorageNotFoundError)
    assert str(err) == "s3://b/k: no such object"


def test_s3_settings_bounds() -> None:
    with pytest.raises(ValueError):
        S3Settings(max_attempts=0)
    assert Storage().s3_settings == S3Settings()


def test_s3_multipart_upload(s3_storage, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from boto3.s3.transfer import TransferConfig

    part = 5 << 20  # S3's minimum part size
    monkeypatch.setattr(
        s3_backend, "_TRANSFER", TransferConfig(multipart_threshold=part, multipart_chunksize=part)
    )
    monkeypatch.setattr(s3_backend, "SPOOL_IN_MEMORY", 1 << 20)  # also exercise spilling to disk
    uri = f"{s3_storage.root}/big/obj.bin"
    data = bytes(range(256)) * (11 << 12)  # ~11.5 MiB -> 3 parts
    s3_storage.storage.write_bytes(uri, data)
    head = s3_storage.storage.client.head_object(Bucket=s3_storage.bucket, Key="big/obj.bin")
    assert "-" in head["ETag"]  # multipart ETags carry the part count
    assert s3_storage.storage.read_bytes(uri) == data


def test_s3_write_to_bucket_root_is_an_error(s3_storage) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StorageError, match="not an object"):
        s3_storage.storage.write_bytes(s3_storage.root + "/", b"x")


def _read_in_child(storage: Storage, uri: str) -> bytes:
    return storage.read_bytes(uri)


def test_storage_works_in_another_process(s3_storage) -> None:  # type: ignore[no-untyped-def]
    """Ray-style use: the Storage is pickled to a fresh process, which builds its own client."""
    import concurrent.futures
    import multiprocessing

    uri = f"{s3_storage.root}/child.bin"
    s3_storage.storage.write_bytes(uri, b"from parent")
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        assert pool.submit(_read_in_child, s3_storage.storage, uri).result(timeout=60) == b"from parent"
