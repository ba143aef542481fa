"""Live thumbnails from the passthrough rung's keyframes, without starting an ffmpeg per picture.

Starting ffmpeg costs ~30 ms of CPU (mostly the process itself), which every live stream paid every few
seconds. Instead one helper process per ingest (``python -m vidlake.live.thumbnails``) decodes the
H.264 keyframe that starts a segment (Annex B with its SPS/PPS, as :class:`~vidlake.live.segmenter.Segmenter`
keeps it) with PyAV and writes a JPEG at most :data:`MAX_HEIGHT` pixels high: ~5 ms per picture. The
decoder runs on publisher data, so it runs apart from the server: a crash there costs a thumbnail, and
the next request starts a new helper.

:class:`LiveThumbnail` decides when a session's ``thumbnail.jpg`` is refreshed (every :data:`THUMBNAIL_S`
seconds) and how: from the keyframe by the helper when the segment was muxed in-process, else by an
ffmpeg decoding the newest segment's first keyframe.

Wire format on the helper's stdin: ``u32 path length, u32 data length`` (big-endian), the destination path
(UTF-8), the Annex B access unit; it answers one byte per request on stdout (1: written, 0: failed).
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import sys
import time
from collections.abc import Awaitable
from fractions import Fraction
from pathlib import Path

from vidlake.ffmpeg.process import Child, StreamingProcess, popen
from vidlake.live.pipeline import thumbnail_argv
from vidlake.storage.base import Storage

log = logging.getLogger(__name__)

MAX_HEIGHT = 360  #: thumbnails are at most this high (pixels); never upscaled
JPEG_QSCALE = 5  #: JPEG quantizer scale (as ffmpeg's ``-q:v``; 2 best .. 31 worst)
TIMEOUT_S = 10.0  #: a request the helper has not answered in this many seconds kills it
THUMBNAIL_S = 5.0  #: how often a live session's thumbnail is refreshed (seconds)
_HEAD = struct.Struct(">II")


def render(annexb: bytes, dest: Path) -> None:
    """Decode the H.264 keyframe ``annexb`` and write it to ``dest`` as JPEG (atomically). Raises
    ``ValueError`` when it does not decode to a picture."""
    import av

    decoder = av.CodecContext.create("h264", "r")
    frames = list(decoder.decode(av.Packet(annexb)))
    if not frames:
        frames = list(decoder.decode(None))
    if not frames:
        raise ValueError("the keyframe did not decode")
    frame = frames[0]
    height = min(MAX_HEIGHT, frame.height)
    width = max(2, round(frame.width * height / frame.height / 2) * 2)
    picture = frame.reformat(width=width, height=height, format="yuvj420p")
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    encoder.options = {"flags": "+qscale", "global_quality": str(JPEG_QSCALE * 118)}  # 118: FF_QP2LAMBDA
    data = b"".join(bytes(p) for p in encoder.encode(picture)) + b"".join(bytes(p) for p in encoder.encode(None))
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, dest)


def main() -> None:
    """The helper: serve requests from stdin until it closes."""
    import av  # noqa: F401  (loaded before the first request)

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = stdin.read(_HEAD.size)
        if len(head) < _HEAD.size:
            return
        path_len, data_len = _HEAD.unpack(head)
        path = stdin.read(path_len).decode("utf-8")
        data = stdin.read(data_len)
        ok = b"\x00"
        try:
            render(data, Path(path))
            ok = b"\x01"
        except Exception as exc:  # a bad keyframe costs one thumbnail, never the helper
            print(f"thumbnail {path}: {exc}", file=sys.stderr)
        stdout.write(ok)
        stdout.flush()


class Thumbnailer:
    """The ingest side: one helper process, started on first use, one request at a time (asyncio)."""

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable
        self._proc: StreamingProcess | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Start the helper now (it takes a fraction of a second of CPU to load), not at the first picture."""
        async with self._lock:
            try:
                await self._helper()
            except OSError:
                log.warning("live thumbnail helper could not start; retrying at the first picture")

    async def render(self, annexb: bytes, dest: Path) -> bool:
        """Write the keyframe ``annexb`` (Annex B H.264 with SPS/PPS) to ``dest`` as JPEG; True if done."""
        async with self._lock:
            try:
                proc = await self._helper()
                path = str(dest).encode("utf-8")
                async with asyncio.timeout(TIMEOUT_S):
                    await proc.write(_HEAD.pack(len(path), len(annexb)) + path + annexb)
                    answer = await proc.stdout.readexactly(1)
                return answer == b"\x01"
            except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError):
                log.warning("live thumbnail helper failed; restarting it on the next request")
                await self.close()
                return False

    async def _helper(self) -> StreamingProcess:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            proc = self._proc = await StreamingProcess.start([self.python, "-m", "vidlake.live.thumbnails"],
                                                             stdin=True, stdout=True)
        return proc

    async def close(self) -> None:
        """Stop the helper (it exits when its stdin closes; killed after 5 s)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            await proc.stop(5.0)


class LiveThumbnail:
    """One live session's ``thumbnail.jpg`` under ``root`` (storage key ``{prefix}/thumbnail.jpg``).

    ``storage`` is set when the session's files are mirrored to remote storage (the picture is uploaded
    after each refresh); ``None`` when ``root`` is the storage itself."""

    def __init__(self, root: Path, prefix: str, storage: Storage | None) -> None:
        self.path = root / "thumbnail.jpg"
        self.key = f"{prefix}/thumbnail.jpg"
        self.storage = storage
        self.at = -1e9  #: monotonic time of the last refresh (seconds)
        self._proc: Child | None = None

    def due(self) -> bool:
        """True when the last refresh is :data:`THUMBNAIL_S` seconds old (and marks it refreshed now)."""
        if time.monotonic() - self.at < THUMBNAIL_S:
            return False
        self.at = time.monotonic()
        return True

    async def from_keyframe(self, thumbnailer: Thumbnailer, keyframe: bytes) -> None:
        """Render ``keyframe`` (Annex B H.264 with SPS/PPS) by the helper, then upload it."""
        if await thumbnailer.render(keyframe, self.path) and self.storage is not None:
            await asyncio.to_thread(self.storage.put_file, self.key, self.path, "image/jpeg")

    def from_segment(self, segment: Path | None, ffmpeg: str | None = None) -> Awaitable[None] | None:
        """Reap the ffmpeg of the previous refresh (never waited for: it is polled here); when it is time,
        start one on the first keyframe of ``segment``. Returns the upload of the finished picture to
        await (remote storage only), else ``None``."""
        upload: Awaitable[None] | None = None
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                return None
            self._proc = None
            if proc.returncode == 0 and self.storage is not None and self.path.is_file():
                upload = asyncio.to_thread(self.storage.put_file, self.key, self.path, "image/jpeg")
        if segment is not None and self.due():
            self._proc = popen(thumbnail_argv(segment, self.path, ffmpeg=ffmpeg))
        return upload


if __name__ == "__main__":
    main()
