"""Publishing an HLS directory into storage while it is being written (VOD encodes and live sessions).

Segments and init files are uploaded once, then the media playlists, then the master, so a reader
following playlists never meets a segment that is not there yet. With local storage ffmpeg writes in
place (``Storage.local_dir``) and there is nothing to copy.
"""

from __future__ import annotations

import threading
from pathlib import Path

from vidlake.package import hls
from vidlake.storage import Storage

_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".m4s": "video/iso.segment", ".mp4": "video/mp4",
          ".ts": "video/mp2t", ".vtt": "text/vtt"}


def content_type(name: str) -> str:
    """MIME type of an HLS file by its extension."""
    return _TYPES.get(Path(name).suffix, "application/octet-stream")


class HlsPublisher:
    """Mirrors ``root`` (an HLS output directory) to ``prefix`` in ``storage``."""

    def __init__(self, root: Path, storage: Storage, prefix: str) -> None:
        self.root = root
        self.storage = storage
        self.prefix = prefix.rstrip("/")
        self.in_place = storage.local_dir(self.prefix) == root
        self.uploaded: set[str] = set()
        self.lock = threading.Lock()

    def publish(self) -> None:
        """Upload new segments, then all playlists (media first, master last)."""
        if self.in_place:
            return
        with self.lock:
            playlists = sorted(self.root.rglob("*.m3u8"), key=lambda p: p.name == "master.m3u8")
            for playlist_path in playlists:
                try:
                    playlist = hls.read(playlist_path)
                except (ValueError, OSError):
                    continue
                if isinstance(playlist, hls.MediaPlaylist):
                    names = [s.uri for s in playlist.segments]
                    names += sorted({s.init_uri for s in playlist.segments if s.init_uri})
                    for uri in names:
                        local = playlist_path.parent / uri
                        rel = local.relative_to(self.root).as_posix()
                        if rel not in self.uploaded and local.is_file():
                            self.storage.put_file(f"{self.prefix}/{rel}", local, content_type(rel))
                            self.uploaded.add(rel)
            for playlist_path in playlists:
                rel = playlist_path.relative_to(self.root).as_posix()
                self.storage.put_file(f"{self.prefix}/{rel}", playlist_path, content_type(rel))
