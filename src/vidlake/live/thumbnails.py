"""Live thumbnails from the passthrough rung's keyframes, without starting an ffmpeg per picture.

Starting ffmpeg costs ~30 ms of CPU (mostly the process itself), which every live stream paid every few
seconds. Instead one helper process per ingest (``python -m vidlake.live.thumbnails``) decodes the
H.264 keyframe that starts a segment (Annex B with its SPS/PPS, as :class:`~vidlake.live.segmenter.Segmenter`
keeps it) with PyAV and writes a JPEG at most :data:`MAX_HEIGHT` pixels high: ~5 ms per picture. The
decoder runs on publisher data, so it runs apart from the server: a crash there costs a thumbnail, and
the next request starts a new helper.

Wire format on the helper's stdin: ``u32 path length, u32 data length`` (big-endian), the destination path
(UTF-8), the Annex B access unit; it answers one byte per request on stdout (1: written, 0: failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import sys
from fractions import Fraction
from pathlib import Path

log = logging.getLogger(__name__)

MAX_HEIGHT = 360  #: thumbnails are at most this high (pixels); never upscaled
JPEG_QSCALE = 5  #: JPEG quantizer scale (as ffmpeg's ``-q:v``; 2 best .. 31 worst)
TIMEOUT_S = 10.0  #: a request the helper has not answered in this many seconds kills it
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
        self._proc: asyncio.subprocess.Process | None = None
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
                assert proc.stdin is not None and proc.stdout is not None
                path = str(dest).encode("utf-8")
                proc.stdin.write(_HEAD.pack(len(path), len(annexb)) + path + annexb)
                async with asyncio.timeout(TIMEOUT_S):
                    await proc.stdin.drain()
                    answer = await proc.stdout.readexactly(1)
                return answer == b"\x01"
            except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError):
                log.warning("live thumbnail helper failed; restarting it on the next request")
                await self.close()
                return False

    async def _helper(self) -> asyncio.subprocess.Process:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            proc = self._proc = await asyncio.create_subprocess_exec(
                self.python, "-m", "vidlake.live.thumbnails", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        return proc

    async def close(self) -> None:
        """Stop the helper (it exits when its stdin closes; killed after 5 s)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


if __name__ == "__main__":
    main()
