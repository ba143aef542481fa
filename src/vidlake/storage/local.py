"""Local-disk storage: atomic writes by temp file + fsync + rename in the same directory."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from vidlake.core.errors import ObjectNotFound, StorageError, StorageFull
from vidlake.storage.base import validate_key

_CHUNK = 1024 * 1024


def _translate(exc: OSError, key: str) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull(f"no space left on the storage device writing {key!r}")
    return StorageError(f"storage failed on {key!r}: {exc.strerror or exc}")


class LocalStorage:
    """Objects as files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _write(self, key: str, writer: BinaryIO | bytes | Path) -> int:
        dest = self._path(key)
        tmp_name = ""
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
            written = 0
            with os.fdopen(fd, "wb") as out:
                if isinstance(writer, bytes):
                    out.write(writer)
                    written = len(writer)
                elif isinstance(writer, Path):
                    with writer.open("rb") as src:
                        while chunk := src.read(_CHUNK):
                            out.write(chunk)
                            written += len(chunk)
                else:
                    while chunk := writer.read(_CHUNK):
                        out.write(chunk)
                        written += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, dest)
            tmp_name = ""
            return written
        except OSError as exc:
            if isinstance(exc, StorageError):
                raise
            raise _translate(exc, key) from exc
        finally:
            if tmp_name:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._write(key, data)

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        self._write(key, Path(path))

    def put_stream(self, key: str, stream: BinaryIO, content_type: str | None = None) -> int:
        return self._write(key, stream)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {key!r}") from exc
        except IsADirectoryError as exc:
            raise ObjectNotFound(f"no object {key!r}") from exc
        except OSError as exc:
            raise _translate(exc, key) from exc

    def open_range(self, key: str, start: int, end: int) -> BinaryIO:
        fh = self.open(key)
        fh.seek(start)
        return cast(BinaryIO, _Limited(fh, end - start + 1))

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as fh:
            return fh.read()

    def size(self, key: str) -> int:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(f"no object {key!r}")
        return path.stat().st_size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _translate(exc, key) from exc

    def delete_prefix(self, prefix: str) -> int:
        keys = list(self.list(prefix))
        for key in keys:
            self.delete(key)
        base = self.root / validate_key(prefix.rstrip("/"))
        if base.is_dir():
            shutil.rmtree(base, ignore_errors=True)
        return len(keys)

    def list(self, prefix: str) -> Iterator[str]:
        head = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self.root / validate_key(head) if head else self.root
        if not base.is_dir():
            return
        keys = sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())
        for key in keys:
            if key.startswith(prefix) and not key.rsplit("/", 1)[-1].startswith(".tmp-"):
                yield key

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def local_dir(self, prefix: str) -> Path | None:
        path = self.root / validate_key(prefix.rstrip("/"))
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _translate(exc, prefix) from exc
        return path

    def download(self, key: str, dest: Path) -> None:
        src = self.local_path(key)
        if src is None:
            raise ObjectNotFound(f"no object {key!r}")
        shutil.copyfile(src, dest)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            # One probe file per call: concurrent health checks must not delete each other's.
            fd, name = tempfile.mkstemp(prefix=".vidlake-check-", dir=self.root)
            os.close(fd)
            os.unlink(name)
        except OSError as exc:
            raise _translate(exc, ".vidlake-check") from exc


class _Limited(io.RawIOBase):
    """Reads at most ``remaining`` bytes of ``fh`` (then EOF), closing it when closed."""

    def __init__(self, fh: BinaryIO, remaining: int) -> None:
        self.fh = fh
        self.remaining = remaining

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        want = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.fh.read(want)
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.fh.close()
        super().close()
