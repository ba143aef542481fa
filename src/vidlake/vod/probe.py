"""Probing uploads: what is in the file, and is it acceptable.

:func:`probe` sniffs the first bytes (playlists, concat lists and other text are refused before any
demuxer sees them), then runs :mod:`vidlake.vod.probe_worker` in a child process under a time limit
and an address-space limit, and returns a :class:`ProbeResult`. :func:`validate` checks a result
against :class:`ProbeLimits` and raises :class:`MediaRejected` with a message meant for humans.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidlake.ffmpeg.inputs import UnsupportedContainerError, demuxer_for

HDR_TRANSFERS = frozenset({"smpte2084", "arib-std-b67"})
_SNIFF_BYTES = 4096


class MediaRejected(ValueError):
    """The file is not acceptable media. ``reason`` is a stable code, ``str(exc)`` a human message.

    Codes: ``not_media``, ``playlist``, ``unsupported_container``, ``truncated``, ``no_streams``,
    ``undecodable``, ``empty``, ``too_large``, ``too_long``, ``too_many_pixels``, ``too_many_streams``,
    ``probe_timeout``, ``probe_failed``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class VideoInfo:
    """The first video stream. Sizes in pixels, rates in frames per second, rotation in degrees
    counter-clockwise (0/90/180/270); ``display_*`` are the sizes after rotation and sample aspect."""

    codec: str
    width: int
    height: int
    display_width: int
    display_height: int
    rotation: int
    avg_frame_rate: float | None
    r_frame_rate: float | None
    pix_fmt: str | None
    bit_depth: int | None
    color_transfer: str | None
    color_primaries: str | None
    field_order: str
    interlaced: bool
    sample_aspect_ratio: float = 1.0

    @property
    def hdr(self) -> bool:
        """PQ (smpte2084) or HLG (arib-std-b67) transfer."""
        return self.color_transfer in HDR_TRANSFERS

    @property
    def frame_rate(self) -> float:
        """Best single frame rate in fps (average rate, else r_frame_rate, else 30)."""
        return self.avg_frame_rate or self.r_frame_rate or 30.0

    @property
    def variable_frame_rate(self) -> bool:
        """Average and container rates differ by more than 1 %: treat as VFR."""
        a, r = self.avg_frame_rate, self.r_frame_rate
        return bool(a and r and abs(a - r) / r > 0.01)


@dataclass(frozen=True)
class AudioInfo:
    """The first audio stream: ``sample_rate`` in Hz, ``bit_rate`` in bits per second."""

    codec: str
    channels: int
    sample_rate: int
    bit_rate: int | None = None


@dataclass(frozen=True)
class ProbeResult:
    """What :func:`probe` found. ``duration_s`` seconds, ``size_bytes`` bytes, ``bit_rate`` bits per
    second; ``format_name`` as the demuxer reports it; ``demuxer`` the pinned ``-f`` for ffmpeg."""

    path: Path
    format_name: str
    demuxer: str
    duration_s: float | None
    size_bytes: int
    bit_rate: int | None
    stream_count: int
    video: VideoInfo | None = None
    audio: AudioInfo | None = None


@dataclass(frozen=True)
class ProbeLimits:
    """Acceptance limits: bytes, seconds, pixels per frame, streams, and the probe child's own
    limits (``timeout_s`` seconds, ``memory_bytes`` of address space)."""

    max_bytes: int = 50 * 1024**3
    max_duration_s: float = 12 * 3600.0
    max_pixels: int = 7680 * 4320
    max_streams: int = 32
    timeout_s: float = 30.0
    memory_bytes: int = 4 * 1024**3


def limits_for(settings: Any) -> ProbeLimits:
    """The acceptance limits of :class:`~vidlake.core.settings.Settings` (``media_max_*``)."""
    return ProbeLimits(max_bytes=settings.media_max_bytes, max_duration_s=settings.media_max_duration_s,
                       max_pixels=settings.media_max_pixels, max_streams=settings.media_max_streams)


def sniff(head: bytes) -> None:
    """Refuse text that is not media (playlists, concat lists, anything plain text).

    ``head`` is the first few KiB of the file. Raises :class:`MediaRejected`.
    """
    if not head:
        raise MediaRejected("empty", "the file is empty")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lower = stripped[:64].lower()
    if lower.startswith(b"#extm3u") or b"#ext-x-" in head.lower():
        raise MediaRejected("playlist", "the file is an HLS playlist, not a media file")
    if lower.startswith(b"ffconcat") or lower.startswith(b"file '") or lower.startswith(b"file "):
        raise MediaRejected("playlist", "the file is a concat list, not a media file")
    if lower.startswith((b"<?xml", b"<mpd", b"[playlist]", b"#extinf")):
        raise MediaRejected("playlist", "the file is a playlist or manifest, not a media file")
    if b"\x00" not in head:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            return
        if any(s in text.lower() for s in ("file://", "http://", "https://", "ftp://")):
            raise MediaRejected("playlist", "the file is text that references other files or URLs")
        if all(c.isprintable() or c in "\r\n\t" for c in text[:-4]):
            raise MediaRejected("not_media", "the file is plain text, not a media file")


def _limits(memory_bytes: int) -> Any:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    return apply


def _from_json(path: Path, data: dict[str, Any]) -> ProbeResult:
    try:
        demuxer = demuxer_for(data["format_name"])
    except UnsupportedContainerError as exc:
        raise MediaRejected("unsupported_container", str(exc)) from exc
    video = None
    if data.get("video"):
        v = data["video"]
        rotation = int(v.get("rotation") or 0) % 360
        sar = float(v.get("sample_aspect_ratio") or 1.0)
        w = round(v["width"] * sar) if sar > 0 else v["width"]
        h = v["height"]
        dw, dh = (h, w) if rotation in (90, 270) else (w, h)
        video = VideoInfo(
            codec=v["codec"], width=v["width"], height=v["height"], display_width=dw, display_height=dh,
            rotation=rotation, avg_frame_rate=v.get("avg_frame_rate"), r_frame_rate=v.get("r_frame_rate"),
            pix_fmt=v.get("pix_fmt"), bit_depth=v.get("bit_depth"), color_transfer=v.get("color_transfer"),
            color_primaries=v.get("color_primaries"), field_order=v.get("field_order") or "unknown",
            interlaced=bool(v.get("interlaced")), sample_aspect_ratio=sar,
        )
    audio = None
    if data.get("audio"):
        a = data["audio"]
        audio = AudioInfo(codec=a["codec"], channels=int(a["channels"]), sample_rate=int(a["sample_rate"]),
                          bit_rate=a.get("bit_rate"))
    return ProbeResult(
        path=path, format_name=data["format_name"], demuxer=demuxer, duration_s=data.get("duration_s"),
        size_bytes=int(data["size_bytes"]), bit_rate=data.get("bit_rate"),
        stream_count=int(data["stream_count"]), video=video, audio=audio,
    )


def probe(path: str | Path, limits: ProbeLimits | None = None, *, validate_limits: bool = True) -> ProbeResult:
    """Probe ``path`` in a child process and (by default) :func:`validate` it.

    Raises :class:`MediaRejected` for anything unacceptable, ``FileNotFoundError`` if missing.
    """
    limits = limits or ProbeLimits()
    p = Path(path)
    size = p.stat().st_size
    if validate_limits and size > limits.max_bytes:
        raise MediaRejected("too_large", f"the file is {size} bytes; the limit is {limits.max_bytes} bytes")
    with p.open("rb") as fh:
        sniff(fh.read(_SNIFF_BYTES))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("http_", "HTTP", "https_"))}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "vidlake.vod.probe_worker", str(p.resolve()), str(limits.max_pixels)],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=limits.timeout_s,
            preexec_fn=_limits(limits.memory_bytes), start_new_session=True, env=env,
        )
    except subprocess.TimeoutExpired as exc:
        raise MediaRejected("probe_timeout", f"the file could not be read within {limits.timeout_s:g} s") from exc
    try:
        out = json.loads(proc.stdout.decode("utf-8", "replace"))
    except ValueError:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise MediaRejected(
            "probe_failed", f"the file could not be read (probe exited {proc.returncode}: {' '.join(tail)})"
        ) from None
    if not out.get("ok"):
        raise MediaRejected(out.get("reason", "probe_failed"), out.get("message", "the file could not be read"))
    result = _from_json(p, out["result"])
    if validate_limits:
        validate(result, limits)
    return result


def validate(result: ProbeResult, limits: ProbeLimits) -> None:
    """Raise :class:`MediaRejected` when ``result`` breaks one of ``limits``."""
    if result.video is None and result.audio is None:
        raise MediaRejected("no_streams", "the file has no video or audio stream")
    if result.size_bytes > limits.max_bytes:
        raise MediaRejected("too_large", f"the file is {result.size_bytes} bytes; the limit is {limits.max_bytes}")
    if result.stream_count > limits.max_streams:
        raise MediaRejected(
            "too_many_streams", f"the file has {result.stream_count} streams; the limit is {limits.max_streams}"
        )
    if result.duration_s is None or result.duration_s <= 0:
        raise MediaRejected("undecodable", "the file has no measurable duration")
    if result.duration_s > limits.max_duration_s:
        raise MediaRejected(
            "too_long", f"the media lasts {result.duration_s:.0f} s; the limit is {limits.max_duration_s:.0f} s"
        )
    v = result.video
    if v is not None and v.width * v.height > limits.max_pixels:
        raise MediaRejected(
            "too_many_pixels",
            f"the video is {v.width}x{v.height} pixels; the limit is {limits.max_pixels} pixels per frame",
        )
