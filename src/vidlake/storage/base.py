"""The one storage interface. Keys are '/'-separated relative paths (see ``storage.keys``).

Writes are atomic: a reader sees the whole object or nothing (local: temp file + rename; S3: single
PUT or multipart complete). Errors are translated to ``vidlake.core.errors`` storage errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from vidlake.core.errors import InvalidKey


@runtime_checkable
class Storage(Protocol):
    """Object storage used for media, playlists, images and analysis results."""

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store ``data`` under ``key`` atomically."""

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        """Store the local file at ``path`` under ``key`` atomically."""

    def put_stream(self, key: str, stream: BinaryIO, content_type: str | None = None) -> int:
        """Store everything read from ``stream`` under ``key`` atomically; returns the byte count."""

    def open(self, key: str) -> BinaryIO:
        """Open ``key`` for reading. Raises ``ObjectNotFound``."""

    def open_range(self, key: str, start: int, end: int) -> BinaryIO:
        """Open bytes ``start``..``end`` (inclusive) of ``key``. Raises ``ObjectNotFound``."""

    def read_bytes(self, key: str) -> bytes:
        """The whole object. Raises ``ObjectNotFound``."""

    def size(self, key: str) -> int:
        """Size in bytes. Raises ``ObjectNotFound``."""

    def exists(self, key: str) -> bool:
        """True if ``key`` is stored."""

    def delete(self, key: str) -> None:
        """Remove ``key`` (no error if absent)."""

    def delete_prefix(self, prefix: str) -> int:
        """Remove every key under ``prefix``; returns how many."""

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under ``prefix``, sorted."""

    def local_path(self, key: str) -> Path | None:
        """A local file holding ``key`` if storage is on this disk (fast path), else None."""

    def local_dir(self, prefix: str) -> Path | None:
        """A local directory whose files appear as keys under ``prefix`` (created), or None if storage
        is remote. Lets ffmpeg write outputs in place; files there are not written atomically, so
        only use it for outputs that are published by an index written last (HLS playlists)."""

    def download(self, key: str, dest: Path) -> None:
        """Copy ``key`` to the local file ``dest``."""

    def check(self) -> None:
        """Raise ``StorageError`` if storage is unusable (used by ``doctor`` and ``/healthz``)."""


def validate_key(key: str) -> str:
    """Refuse keys that could escape the storage root."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise InvalidKey(f"storage key {key!r} is not a relative path")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidKey(f"storage key {key!r} has an empty, '.' or '..' part")
    return key
