"""The Storage interface on local disk and on a real S3-compatible server (moto over HTTP)."""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidlake.core.errors import InvalidParameters, ObjectNotFound, StorageError, StorageFull
from vidlake.storage import Storage, keys, open_storage
from vidlake.storage.local import LocalStorage


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield open_storage(f"file://{tmp_path / 'store'}")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
        yield open_storage(f"s3://bucket-{tmp_path.name.lower().replace('_', '-')[-40:]}/pre?endpoint={endpoint}"
                           "&region=us-east-1&create_bucket=true")


def test_put_get_list_delete(storage: Storage, tmp_path: Path) -> None:
    storage.put_bytes("a/b/one.txt", b"one", "text/plain")
    src = tmp_path / "two.bin"
    src.write_bytes(os.urandom(70_000))
    storage.put_file("a/b/two.bin", src)
    assert storage.put_stream("a/c/three", io.BytesIO(b"3" * 1000)) == 1000
    assert storage.read_bytes("a/b/one.txt") == b"one"
    assert storage.size("a/b/two.bin") == 70_000
    with storage.open("a/b/two.bin") as fh:
        assert fh.read() == src.read_bytes()
    assert list(storage.list("a/b/")) == ["a/b/one.txt", "a/b/two.bin"]
    assert list(storage.list("a/")) == ["a/b/one.txt", "a/b/two.bin", "a/c/three"]
    dest = tmp_path / "dl"
    storage.download("a/c/three", dest)
    assert dest.read_bytes() == b"3" * 1000
    assert storage.exists("a/c/three")
    storage.delete("a/c/three")
    storage.delete("a/c/three")  # idempotent
    assert not storage.exists("a/c/three")
    assert storage.delete_prefix("a/b/") == 2
    assert list(storage.list("a/")) == []
    with pytest.raises(ObjectNotFound):
        storage.read_bytes("a/b/one.txt")
    with pytest.raises(FileNotFoundError):  # ObjectNotFound is also a FileNotFoundError
        storage.size("nope")
    storage.check()


def test_large_stream_is_multipart_and_atomic(storage: Storage) -> None:
    data = os.urandom(20 * 1024 * 1024 + 123)  # over the 16 MiB multipart threshold
    assert storage.put_stream("big/blob", io.BytesIO(data)) == len(data)
    assert storage.size("big/blob") == len(data)
    assert storage.read_bytes("big/blob") == data


@pytest.mark.parametrize("bad", ["", "/abs", "a/../b", "a//b", "./a", "a\\b", "a\x00b"])
def test_keys_that_escape_are_refused(storage: Storage, bad: str) -> None:
    with pytest.raises(InvalidParameters):
        storage.put_bytes(bad, b"x")


def test_key_layout() -> None:
    assert keys.asset_prefix("env1", "a1") == "env/env1/assets/a1"
    assert keys.job_scratch("j1", 2) == "jobs/j1/2"


class _ExplodingStream(io.RawIOBase):
    """Yields some bytes, then fails like a dropped client connection."""

    def __init__(self) -> None:
        self.sent = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.sent > 3_000_000:
            raise ConnectionResetError("client went away")
        self.sent += 1_000_000
        return b"x" * 1_000_000


def test_failed_write_leaves_nothing_visible(storage: Storage) -> None:
    with pytest.raises(OSError):
        storage.put_stream("partial/file", _ExplodingStream())  # type: ignore[arg-type]
    assert not storage.exists("partial/file")
    assert list(storage.list("partial/")) == []


def test_disk_full_is_a_clear_507(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStorage(tmp_path / "s")

    def no_space(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StorageFull) as info:
        store.put_bytes("x/y", b"data")
    assert info.value.status_code == 507 and "no space" in info.value.messages[0]
    assert not store.exists("x/y") and list(store.list("x/")) == []


def test_unreachable_s3_is_a_storage_error() -> None:
    store = open_storage("s3://b?endpoint=http://127.0.0.1:9&region=us-east-1")
    with pytest.raises(StorageError) as info:
        store.put_bytes("k", b"v")
    assert info.value.status_code == 503


def test_open_range(storage: Storage) -> None:
    data = bytes(range(256)) * 40
    storage.put_bytes("r/blob", data)
    with storage.open_range("r/blob", 100, 1099) as fh:
        assert fh.read() == data[100:1100]
    with storage.open_range("r/blob", 10_000, 10_239) as fh:
        assert fh.read() == data[10_000:]


def test_concurrent_checks_never_fail(storage: Storage) -> None:
    """Health probes arrive at once (load balancer + orchestrator); one shared probe file made them race
    (a 503 from /healthz under 200 requests per second, found by bench/collector.py)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: storage.check(), range(400)))
    assert list(storage.list("")) == []  # no probe left behind
