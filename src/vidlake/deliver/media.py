"""Local views of stored HLS output, for rendering images (ffmpeg reads local files only)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from vidlake.package import hls
from vidlake.runtime import Services

_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _lock(key: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(key, threading.Lock())


def local_hls_dir(services: Services, prefix: str) -> Path:
    """A local directory holding the HLS output at ``prefix`` (in place for local storage; for remote
    storage a cached mirror under ``{data_dir}/cache``, filled once per version)."""
    storage = services.storage
    if storage.local_path(f"{prefix}/master.m3u8") is not None:
        path = storage.local_dir(prefix)
        assert path is not None
        return path
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:24]
    root = services.settings.data_dir / "cache" / "hls" / digest
    with _lock(digest):
        marker = root / ".complete"
        if not marker.exists():
            for key in storage.list(prefix + "/"):
                dest = root / key[len(prefix) + 1:]
                dest.parent.mkdir(parents=True, exist_ok=True)
                storage.download(key, dest)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("ok")
    return root


def pick_rung(hls_dir: Path, want_height: int | None) -> Path:
    """The media playlist of the smallest rung at least ``want_height`` pixels high (else the
    highest); ``want_height=None`` picks the highest."""
    master = hls.read(hls_dir / "master.m3u8")
    if not isinstance(master, hls.MasterPlaylist):
        raise ValueError("master.m3u8 is not a master playlist")
    variants = sorted((v for v in master.variants if v.resolution), key=lambda v: v.resolution[1] if v.resolution
                      else 0)
    if not variants:
        raise ValueError("no video rendition")
    chosen = variants[-1]
    if want_height is not None:
        chosen = next((v for v in variants if v.resolution and v.resolution[1] >= want_height), variants[-1])
    return hls_dir / chosen.uri
