"""The passthrough rung without ffmpeg: FLV tags in, MPEG-TS segment files out, each announced the moment
it is closed.

:class:`Segmenter` takes the tags of one publish (H.264 and/or AAC, legacy or enhanced RTMP bodies),
muxes them with :class:`~vidlake.live.mpegts.TsMuxer` and cuts a segment at the first video keyframe
whose DTS is at least ``target_s`` after the segment's first (audio-only: at the first audio frame past
it). Segments are written as ``{index:05d}.ts`` in ``out_dir`` (through a ``.tmp`` file renamed on close,
the names ffmpeg's HLS muxer uses), and ``on_segment(name, duration_s)`` is called right after the
rename. A segment's duration is the DTS distance to the next segment's first frame; the last one's
runs to the end of its last frame.

With ``part_target_s`` (LL-HLS partial segments) the open segment is also cut into *parts*: a part is
closed before the frame that would make it longer than the target (video frames only when there is video;
a segment cut always starts a new part) and written at once as ``parts/{index:05d}.{k}.ts`` (in place: it is
not listed before it is whole), then ``on_part(name, duration_s, independent)`` is called with its name
relative to ``out_dir``; ``independent`` when the part starts with a keyframe (always, audio-only). Every
part starts with a PAT/PMT, so it demuxes alone; the segment file is exactly its parts' bytes one after
the other (a PAT/PMT every part, continuity counters running on), so it stays one valid transport stream.
The last part of a segment is announced before the segment.

Which tracks the transport stream carries is settled at the first media frame once both sequence headers
were seen, or when ``probe_ms`` of media passed with only one (an audio-only or video-only publish).
Frames of other codecs (HEVC, Opus, MP3 ...) and frames before the first keyframe are dropped and
counted in :attr:`Segmenter.dropped`.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import IO, Final

from vidlake.live.mpegts import TsMuxer, avcc_to_annexb
from vidlake.live.rtmp.flv import TAG_AUDIO, TAG_VIDEO, FlvTag
from vidlake.package.codecs import AacConfig, AvcConfig

log = logging.getLogger(__name__)

#: Keyframes this close before the target still cut the segment (milliseconds of FLV rounding).
CUT_TOLERANCE_MS: Final = 1
#: Audio PTS follow the sample count unless it strays this far from the FLV timestamps (milliseconds).
AUDIO_RESYNC_MS: Final = 5
#: Keyframes further apart than this are not taken as the stream's keyframe interval (milliseconds).
MAX_KEY_INTERVAL_MS: Final = 20_000
#: The open segment's packets are written out whenever this much piled up, and at its close (bytes).
FLUSH_BYTES: Final = 64 * 1024
_AVC: Final = 7
_AAC: Final = 10


class Segmenter:
    """FLV tags of one publish → MPEG-TS segments of about ``target_s`` seconds in ``out_dir``.

    Call :meth:`feed` with each tag (or :meth:`feed_tag` with its parts) and :meth:`close` at the end of
    the publish. ``on_segment(name, duration_s)`` runs synchronously inside those calls.
    """

    def __init__(self, out_dir: Path, target_s: float, on_segment: Callable[[str, float], None], *,
                 probe_ms: int = 1000, part_target_s: float | None = None,
                 on_part: Callable[[str, float, bool], None] | None = None) -> None:
        self.out_dir = out_dir
        self._out = str(out_dir)
        self.target_ms = round(target_s * 1000)
        self.on_segment = on_segment
        #: Longest part, in milliseconds (0: no parts).
        self.part_target_ms = round(part_target_s * 1000) if part_target_s else 0
        self.on_part = on_part
        self.parts = 0  #: parts of the open segment closed so far
        self.probe_ms = probe_ms
        self.avc: AvcConfig | None = None
        self.aac: AacConfig | None = None
        self.muxer: TsMuxer | None = None
        self.segments = 0  #: segments closed so far
        self.dropped = 0  #: frames not muxed (unsupported codec, before the first keyframe, malformed)
        #: During ``on_segment``: the keyframe that starts the closed segment (Annex B with SPS/PPS; None
        #: for audio-only), e.g. for a thumbnail.
        self.closed_keyframe: bytes | None = None
        self._first_keyframe: bytes | None = None
        self._pending: list[tuple[bool, int, int, bool, bytes | memoryview]] = []
        self._file: IO[bytes] | None = None
        self._buf = bytearray()  # packets of the open segment not written yet
        self._start_ms = 0
        self._end_ms = 0
        self._last_video_ms: int | None = None
        self._last_ms = 0  # the latest media timestamp fed (milliseconds)
        self._last_key_ms: int | None = None
        self._key_interval_ms = 0  # between the last two keyframes (0: not seen yet)
        self._video_step_ms = 33
        self._audio_step_ms = 23
        self._audio_rate = 44100  # Hz
        self._audio_base_ms = 0
        self._audio_samples = -1  # AAC samples since _audio_base_ms (-1: resync at the next frame)
        self._warned: set[str] = set()
        self._part_buf = bytearray()  # the open part's packets (PAT/PMT first)
        self._part_start_ms = 0
        self._part_independent = True
        out_dir.mkdir(parents=True, exist_ok=True)
        if self.part_target_ms:
            (out_dir / "parts").mkdir(exist_ok=True)

    # ------------------------------------------------------------------------------------ input

    def feed(self, tag: FlvTag) -> None:
        """One FLV tag (script tags are ignored)."""
        self.feed_tag(tag.tag_type, tag.timestamp_ms, tag.data)

    def feed_tag(self, tag_type: int, timestamp_ms: int, body: bytes) -> None:
        """One FLV tag by its parts: type (8 audio, 9 video), timestamp (milliseconds), body."""
        if not body:
            return
        if tag_type == TAG_VIDEO:
            self._video(timestamp_ms, body)
        elif tag_type == TAG_AUDIO:
            self._audio(timestamp_ms, body)

    def _video(self, ts: int, body: bytes) -> None:
        b0 = body[0]
        if b0 & 0x80:  # enhanced RTMP
            if body[1:5] != b"avc1":
                self._unsupported(f"video {bytes(body[1:5])!r}")
                return
            frame_type, packet_type = (b0 >> 4) & 0x07, b0 & 0x0F
            if packet_type == 0:
                self._avc_config(body[5:])
                return
            if packet_type == 1 and len(body) >= 8:
                cts, data = int.from_bytes(body[5:8], "big", signed=True), memoryview(body)[8:]
            elif packet_type == 3:
                cts, data = 0, memoryview(body)[5:]
            else:
                return
        else:
            frame_type = b0 >> 4
            if b0 & 0x0F != _AVC:
                self._unsupported(f"video codec {b0 & 0x0F}")
                return
            if len(body) < 5:
                return
            if body[1] == 0:
                self._avc_config(body[5:])
                return
            if body[1] != 1:
                return
            cts, data = int.from_bytes(body[2:5], "big", signed=True), memoryview(body)[5:]
        if frame_type == 5:  # command frame
            return
        self._media(True, ts, cts, frame_type == 1, data)

    def _audio(self, ts: int, body: bytes) -> None:
        fmt = body[0] >> 4
        if fmt == 9:  # enhanced audio
            if body[1:5] != b"mp4a":
                self._unsupported(f"audio {bytes(body[1:5])!r}")
                return
            packet_type, offset = body[0] & 0x0F, 5
        elif fmt == _AAC and len(body) >= 2:
            packet_type, offset = body[1], 2
        else:
            self._unsupported(f"audio format {fmt}")
            return
        if packet_type == 0:
            try:
                self.aac = AacConfig.parse(bytes(body[offset:]))
            except ValueError as exc:
                self._unsupported(f"AAC config ({exc})")
                return
            rate = self.aac.sample_rate or 44100
            self._audio_step_ms = max(1, round(1024 * 1000 / rate))
            self._audio_rate, self._audio_samples = rate, -1
            return
        if packet_type == 1:
            self._media(False, ts, 0, False, memoryview(body)[offset:])

    def _avc_config(self, record: bytes) -> None:
        try:
            self.avc = AvcConfig.parse(bytes(record))
        except (ValueError, IndexError, struct.error) as exc:
            self._unsupported(f"AVC config ({exc})")

    @property
    def unsupported(self) -> bool:
        """True once a track was dropped for its codec or a bad sequence header (the caller may fall back
        to a remuxer that copies any codec)."""
        return bool(self._warned)

    @property
    def settled(self) -> bool:
        """True once the tracks are fixed (the muxer exists)."""
        return self.muxer is not None

    def _unsupported(self, what: str) -> None:
        self.dropped += 1
        if what not in self._warned:
            self._warned.add(what)
            log.warning("passthrough segmenter: dropping %s", what)

    # ------------------------------------------------------------------------------------ tracks

    def _media(self, video: bool, ts: int, cts: int, key: bool, data: bytes | memoryview) -> None:
        if ts > self._last_ms:
            self._last_ms = ts
        if self.muxer is None:
            self._pending.append((video, ts, cts, key, bytes(data)))
            first = self._pending[0][1]
            if not (self.avc and self.aac) and ts - first < self.probe_ms and len(self._pending) < 1000:
                return
            if not self._settle():
                return
            pending, self._pending = self._pending, []
            for item in pending:
                self._mux(*item)
            return
        self._mux(video, ts, cts, key, data)

    def _settle(self) -> bool:
        """Fix the tracks from the sequence headers seen so far (False: none yet, keep waiting)."""
        if self.avc is None and self.aac is None:
            del self._pending[:-200]  # bounded while nothing is muxable
            return False
        self.muxer = TsMuxer(video=self.avc is not None, audio=self.aac is not None)
        return True

    # ------------------------------------------------------------------------------------ muxing

    def _mux(self, video: bool, ts: int, cts: int, key: bool, data: bytes | memoryview) -> None:
        muxer = self.muxer
        assert muxer is not None
        if video:
            avc = self.avc
            if not muxer.video or avc is None:
                self.dropped += 1
                return
            try:
                annexb = avcc_to_annexb(data, avc, keyframe=key)
            except ValueError:
                self.dropped += 1
                return
            if self._file is None:
                if not key:
                    self.dropped += 1
                    return
                self._open(ts)
                self._first_keyframe = annexb
            elif key and (ts - self._start_ms >= self.target_ms - CUT_TOLERANCE_MS or ts < self._start_ms):
                self._cut(ts)
                self._first_keyframe = annexb
            elif self._part_full(ts, self._video_step_ms):
                self._cut_part(ts, key)
            if key:
                if self._last_key_ms is not None and 0 < ts - self._last_key_ms <= MAX_KEY_INTERVAL_MS:
                    self._key_interval_ms = ts - self._last_key_ms
                self._last_key_ms = ts
            if self._last_video_ms is not None and 0 < ts - self._last_video_ms < 1000:
                self._video_step_ms = ts - self._last_video_ms
            self._last_video_ms = ts
            self._write(muxer.video_frame(ts * 90, cts * 90, annexb, keyframe=key), ts + self._video_step_ms)
        else:
            aac = self.aac
            if not muxer.audio or aac is None:
                self.dropped += 1
                return
            if self._file is None:
                if muxer.video:
                    self.dropped += 1
                    return
                self._open(ts)
            elif not muxer.video and (ts - self._start_ms >= self.target_ms - CUT_TOLERANCE_MS
                                      or ts < self._start_ms):
                self._cut(ts)
            elif not muxer.video and self._part_full(ts, self._audio_step_ms):
                self._cut_part(ts, True)
            try:
                adts = aac.adts_header(len(data)) + bytes(data)
            except ValueError:
                self.dropped += 1
                return
            self._write(muxer.audio_frame(self._audio_pts(ts), adts), ts + self._audio_step_ms)

    def _audio_pts(self, ts: int) -> int:
        """The frame's PTS in 90 kHz ticks, counted in samples from the last resync (FLV milliseconds are
        rounded); resynced to ``ts`` when the two differ by more than :data:`AUDIO_RESYNC_MS`."""
        expected = self._audio_base_ms + self._audio_samples * 1000 / self._audio_rate
        if self._audio_samples < 0 or abs(ts - expected) > AUDIO_RESYNC_MS:
            self._audio_base_ms, self._audio_samples = ts, 0
        pts = self._audio_base_ms * 90 + self._audio_samples * 90_000 // self._audio_rate
        self._audio_samples += 1024
        return pts

    def slack_ms(self) -> int:
        """How much more media (milliseconds) can come before a frame may close the open segment or part:
        input may be held back that long (in real time) without delaying any output. 0 when such a frame
        may come at once (before the first segment, or when a cut is overdue).

        A segment with video is cut by the first keyframe at or after its target: the next keyframe is
        expected one keyframe interval after the last (when two were seen), else at the target itself.
        """
        muxer = self.muxer
        if muxer is None or self._file is None:
            return 0
        due = self._start_ms + self.target_ms - CUT_TOLERANCE_MS
        interval, last_key = self._key_interval_ms, self._last_key_ms
        if muxer.video and interval and last_key is not None:
            expected = last_key + interval
            if expected < due:
                expected += -((expected - due) // interval) * interval  # the first one at or after due
            due = expected
        if self.part_target_ms:
            # The first frame later than ``limit`` closes the part (see _part_full; 1 ms less for the
            # rounding of FLV timestamps): expected one frame step (less 1 ms) after another.
            step = self._video_step_ms if muxer.video else self._audio_step_ms
            limit = self._part_start_ms + self.part_target_ms - step - 1
            last = self._last_video_ms if muxer.video else self._last_ms
            stride = max(1, step - 1)
            part_due = limit + 1
            if last is not None:
                part_due = last + stride
                if part_due <= limit:
                    part_due += ((limit - part_due) // stride + 1) * stride
            due = min(due, part_due)
        return max(0, due - self._last_ms)

    def _part_full(self, ts: int, step_ms: int) -> bool:
        """True when a frame at ``ts`` lasting ``step_ms`` would make the open part longer than the part
        target (never for its first frame)."""
        return bool(self.part_target_ms) and ts > self._part_start_ms \
            and ts + step_ms - self._part_start_ms > self.part_target_ms

    def _write(self, packets: bytes, end_ms: int) -> None:
        if self.part_target_ms:
            self._part_buf += packets
        buf = self._buf
        buf += packets
        if len(buf) >= FLUSH_BYTES:
            assert self._file is not None
            self._file.write(buf)
            buf.clear()
        if end_ms > self._end_ms:
            self._end_ms = end_ms

    def _path(self, index: int) -> Path:
        return self.out_dir / f"{index:05d}.ts"

    def _open(self, ts: int) -> None:
        assert self.muxer is not None
        self._file = open(str(self._path(self.segments)) + ".tmp", "wb", buffering=0)  # noqa: SIM115 (see _close)
        psi = self.muxer.psi()
        self._buf += psi
        self._start_ms = ts
        self._end_ms = ts
        self.parts = 0
        self._part_buf = bytearray(psi) if self.part_target_ms else bytearray()
        self._part_start_ms, self._part_independent = ts, True

    def part_name(self, segment: int, part: int) -> str:
        """Name of a part file relative to ``out_dir`` (``parts/00012.3.ts``)."""
        return f"parts/{segment:05d}.{part}.ts"

    def _cut_part(self, ts: int, key: bool) -> None:
        """Close the open part at ``ts`` and start the next one (PAT/PMT first) with the frame at ``ts``."""
        assert self.muxer is not None
        self._close_part(ts)
        psi = self.muxer.psi()
        self._buf += psi
        self._part_buf = bytearray(psi)
        self._part_start_ms, self._part_independent = ts, key

    def _close_part(self, end_ms: int) -> None:
        name = self.part_name(self.segments, self.parts)
        # Written in place, not through a temporary file: nobody reads a part before on_part lists it.
        fd = os.open(f"{self._out}/{name}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            if os.write(fd, self._part_buf) != len(self._part_buf):
                raise OSError(f"short write of part {name} (disk full?)")
        finally:
            os.close(fd)
        self._part_buf = bytearray()
        self.parts += 1
        start = self._part_start_ms
        duration_ms = end_ms - start if end_ms > start else max(1, self._end_ms - start)
        if self.on_part is not None:
            self.on_part(name, duration_ms / 1000.0, self._part_independent)

    def _close(self, end_ms: int) -> None:
        f = self._file
        if f is None:
            return
        self._file = None
        if self.part_target_ms:
            self._close_part(end_ms)
        if self._buf:
            f.write(self._buf)
            self._buf.clear()
        f.close()
        path = self._path(self.segments)
        os.replace(str(path) + ".tmp", path)
        self.segments += 1
        self.closed_keyframe, self._first_keyframe = self._first_keyframe, None
        duration_ms = end_ms - self._start_ms if end_ms > self._start_ms else max(1, self._end_ms - self._start_ms)
        self.on_segment(path.name, duration_ms / 1000.0)

    def _cut(self, ts: int) -> None:
        self._close(ts)
        self._open(ts)

    def close(self) -> None:
        """End of the publish: mux what waited for the track decision and close the last segment."""
        if self.muxer is None and self._pending and self._settle():
            pending, self._pending = self._pending, []
            for item in pending:
                self._mux(*item)
        self._close(self._end_ms)


__all__ = ["AUDIO_RESYNC_MS", "CUT_TOLERANCE_MS", "Segmenter"]
