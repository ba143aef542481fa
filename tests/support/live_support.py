"""Helpers of the live end-to-end tests: real ffmpeg publishers, polling, HLS fetching and decoding."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import av
import httpx
from services import VidlakeServer
from sqlalchemy import create_engine, text

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.package import hls


def publish(url: str, seconds: float, *, fps: int = 25, size: str = "320x180") -> subprocess.Popen[bytes]:
    """A real ffmpeg publisher: testsrc2 + sine, H.264 (1 s GOP) + AAC, in real time (``-re``)."""
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}", "-f", "lavfi", "-i", "sine=frequency=440",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-g", str(fps), "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", url]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(fn: Any, what: str, timeout_s: float = 60.0) -> Any:
    """Poll ``fn()`` until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def create_stream(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    """Create a live stream through the API (public playback, low latency, unless ``fields`` say
    otherwise) and return its ``data``."""
    r = client.post("/video/v1/live-streams", json={"playback_policy": ["public"], "latency_mode": "low", **fields})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def stream_status(client: httpx.Client, stream_id: str) -> dict[str, Any]:
    r = client.get(f"/video/v1/live-streams/{stream_id}")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def events(server: VidlakeServer, object_id: str) -> list[str]:
    """Event types recorded for ``object_id``, oldest first (read from the server's database)."""
    engine = create_engine(f"sqlite:///{server.data_dir / 'vidlake.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT type FROM events WHERE object_id = :id ORDER BY created_at"),
                                {"id": object_id})
            return [r[0] for r in rows]
    finally:
        engine.dispose()


def fetch_media_playlist(base: str, playback_id: str) -> tuple[str, hls.MediaPlaylist]:
    """(variant URL, parsed media playlist) of the first variant of ``playback_id``."""
    master = hls.parse(httpx.get(f"{base}/{playback_id}.m3u8", timeout=10).raise_for_status().text)
    assert isinstance(master, hls.MasterPlaylist) and master.variants
    url = f"{base}/{master.variants[0].uri}"
    media = hls.parse(httpx.get(url, timeout=10).raise_for_status().text)
    assert isinstance(media, hls.MediaPlaylist)
    return url, media


def decode_segments(playlist_url: str, media: hls.MediaPlaylist, dest: Path) -> int:
    """Download every listed segment and decode it entirely; returns decoded video frames."""
    base = playlist_url.rsplit("/", 1)[0]
    frames = 0
    for n, seg in enumerate(media.segments):
        init = httpx.get(f"{base}/{seg.init_uri}", timeout=10).raise_for_status().content if seg.init_uri else b""
        path = dest / f"seg{n}{'.mp4' if seg.init_uri else '.ts'}"
        path.write_bytes(init + httpx.get(f"{base}/{seg.uri}", timeout=10).raise_for_status().content)
        with av.open(str(path)) as container:
            seg_frames = sum(1 for _ in container.decode(video=0))
        assert seg_frames > 0, f"segment {seg.uri} has no decodable video"
        frames += seg_frames
    return frames
