"""Per-session statistics of a publish, whatever the protocol (RTMP and SRT): bytes, codecs, picture size,
bitrate, keyframe interval; and the ingest health the API shows (:func:`health_public`).

Protocols report media as :class:`VideoInfo`/:class:`AudioInfo` (RTMP from FLV tag headers,
:func:`vidlake.live.rtmp.flv.parse_video`; SRT from the transport stream, :mod:`vidlake.live.srt.tsinfo`).

Bitrate and frame rate are measured on the media timestamps the encoder sends (not on arrival
times), so they describe the stream and not network jitter; they are deterministic for a given input.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vidlake.core.clock import now as unix_now

DEFAULT_WINDOW_S = 5.0


@dataclass(frozen=True)
class VideoInfo:
    """What a video frame's header says. ``composition_time_ms`` is the PTS-DTS offset."""

    codec: str
    keyframe: bool
    sequence_header: bool
    end_of_sequence: bool = False
    command_frame: bool = False
    enhanced: bool = False
    composition_time_ms: int = 0
    codec_string: str | None = None  # e.g. "avc1.64001f", from a sequence header


@dataclass(frozen=True)
class AudioInfo:
    """What an audio frame's header says. ``sample_rate`` in Hz and ``channels`` when known."""

    codec: str
    sequence_header: bool
    sample_rate: int | None = None
    channels: int | None = None
    enhanced: bool = False


@dataclass(frozen=True)
class SessionStats:
    """A snapshot of one publish session.

    Units: bytes; pixels; frames per second; bits per second; seconds; Unix time in seconds.
    """

    bytes_received: int
    media_bytes: int
    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    measured_fps: float | None
    bitrate_bps: float
    keyframe_interval_s: float | None
    video_frames: int
    audio_frames: int
    keyframes: int
    last_frame_at: float | None
    last_timestamp_ms: int | None
    audio_sample_rate: int | None
    audio_channels: int | None
    video_codec_string: str | None
    encoder: str | None


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class StatsTracker:
    """Accumulates :class:`SessionStats` from the messages of one session.

    ``window_s``: the sliding window of the bitrate, in seconds of media time.
    """

    def __init__(self, window_s: float = DEFAULT_WINDOW_S) -> None:
        self.window_ms = int(window_s * 1000)
        self.bytes_received = 0
        self.media_bytes = 0
        self.video_codec: str | None = None
        self.video_codec_string: str | None = None
        self.audio_codec: str | None = None
        self.audio_sample_rate: int | None = None
        self.audio_channels: int | None = None
        self.width: int | None = None
        self.height: int | None = None
        self.fps: float | None = None
        self.encoder: str | None = None
        self.video_frames = 0
        self.audio_frames = 0
        self.keyframes = 0
        self.last_frame_at: float | None = None
        self.last_timestamp_ms: int | None = None
        self._window: deque[tuple[int, int]] = deque()
        self._window_bytes = 0
        self._first_ts: int | None = None
        self._last_key_ts: int | None = None
        self._key_interval_ms: int | None = None
        self._first_video_ts: int | None = None
        self._last_video_ts: int | None = None
        self._newest: int | None = None

    def add_bytes(self, n: int) -> None:
        """Count ``n`` bytes read from the socket."""
        self.bytes_received += n

    def _media(self, timestamp_ms: int, size: int, now: float | None) -> None:
        self.media_bytes += size
        self.last_frame_at = time.time() if now is None else now
        self.last_timestamp_ms = timestamp_ms
        if self._first_ts is None:
            self._first_ts = timestamp_ms
        self._window.append((timestamp_ms, size))
        self._window_bytes += size
        self._newest = timestamp_ms if self._newest is None else max(self._newest, timestamp_ms)
        while self._window and self._window[0][0] < self._newest - self.window_ms:
            self._window_bytes -= self._window.popleft()[1]

    def on_video(self, info: VideoInfo, timestamp_ms: int, size: int, now: float | None = None) -> None:
        """Record a video message of ``size`` bytes at ``timestamp_ms`` (``now``: Unix time override)."""
        self.video_codec = info.codec if info.codec != "unknown" else self.video_codec
        if info.codec_string:
            self.video_codec_string = info.codec_string
        self._media(timestamp_ms, size, now)
        if info.sequence_header or info.command_frame or info.end_of_sequence:
            return
        self.video_frames += 1
        if self._first_video_ts is None:
            self._first_video_ts = timestamp_ms
        self._last_video_ts = timestamp_ms
        if info.keyframe:
            self.keyframes += 1
            if self._last_key_ts is not None and timestamp_ms > self._last_key_ts:
                self._key_interval_ms = timestamp_ms - self._last_key_ts
            self._last_key_ts = timestamp_ms

    def on_audio(self, info: AudioInfo, timestamp_ms: int, size: int, now: float | None = None) -> None:
        """Record an audio message."""
        self.audio_codec = info.codec
        if info.sample_rate:
            self.audio_sample_rate = info.sample_rate
        if info.channels:
            self.audio_channels = info.channels
        self._media(timestamp_ms, size, now)
        if not info.sequence_header:
            self.audio_frames += 1

    def on_metadata(self, meta: Mapping[str, object]) -> None:
        """Take width, height (pixels), frame rate and encoder name from ``onMetaData``."""
        width, height = _num(meta.get("width")), _num(meta.get("height"))
        fps = _num(meta.get("framerate")) or _num(meta.get("videoframerate"))
        if width and width > 0:
            self.width = int(width)
        if height and height > 0:
            self.height = int(height)
        if fps and fps > 0:
            self.fps = fps
        encoder = meta.get("encoder")
        if isinstance(encoder, str):
            self.encoder = encoder[:200]

    def bitrate_bps(self) -> float:
        """Media bits per second over the last ``window_s`` seconds of media time."""
        if not self._window or self._newest is None:
            return 0.0
        span_ms = self._newest - min(ts for ts, _ in self._window)
        if self._first_ts is not None and self._newest - self._first_ts >= self.window_ms:
            span_ms = self.window_ms
        if span_ms <= 0:
            return 0.0
        return self._window_bytes * 8 * 1000.0 / span_ms

    def measured_fps(self) -> float | None:
        """Video frames per second over the whole session, from timestamps."""
        if self._first_video_ts is None or self._last_video_ts is None or self.video_frames < 2:
            return None
        span = self._last_video_ts - self._first_video_ts
        return (self.video_frames - 1) * 1000.0 / span if span > 0 else None

    def snapshot(self) -> SessionStats:
        """The current numbers."""
        return SessionStats(
            bytes_received=self.bytes_received,
            media_bytes=self.media_bytes,
            video_codec=self.video_codec,
            audio_codec=self.audio_codec,
            width=self.width,
            height=self.height,
            fps=self.fps,
            measured_fps=self.measured_fps(),
            bitrate_bps=self.bitrate_bps(),
            keyframe_interval_s=None if self._key_interval_ms is None else self._key_interval_ms / 1000.0,
            video_frames=self.video_frames,
            audio_frames=self.audio_frames,
            keyframes=self.keyframes,
            last_frame_at=self.last_frame_at,
            last_timestamp_ms=self.last_timestamp_ms,
            audio_sample_rate=self.audio_sample_rate,
            audio_channels=self.audio_channels,
            video_codec_string=self.video_codec_string,
            encoder=self.encoder,
        )


def health_public(stats: SessionStats | None, *, connected: bool) -> dict[str, Any]:
    """Ingest health as the API shows it. Units: bits per second, frames per second, seconds, bytes."""
    if stats is None:
        return {"connected": connected}
    since = round(max(0.0, unix_now() - stats.last_frame_at), 3) if stats.last_frame_at else None
    return {
        "connected": connected,
        "bitrate_bps": round(stats.bitrate_bps),
        "frame_rate": stats.measured_fps or stats.fps,
        "keyframe_interval_s": stats.keyframe_interval_s,
        "video_codec": stats.video_codec,
        "audio_codec": stats.audio_codec,
        "width": stats.width,
        "height": stats.height,
        "bytes_received": stats.bytes_received,
        "seconds_since_last_frame": since,
    }
