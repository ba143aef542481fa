"""A small MPEG-TS inspector for ingest health (pure code, no I/O).

Feed it the transport stream as it arrives (:meth:`TsInspector.feed`, any chunking); it reads the
PAT and PMT (CRC-checked) to find the first video and audio elementary streams and their codecs,
then follows their PES packets:

* one video PES = one frame (as muxers write them); it is a keyframe when the packet that starts it
  has the adaptation field's random-access indicator, or when its first bytes hold an IDR (H.264) /
  IRAP (HEVC) NAL unit. The H.264 SPS gives width, height (pixels), the frame rate from the VUI
  timing info (frames per second) and the ``avc1.PPCCLL`` codec string (parsed by
  :mod:`vidlake.package.codecs`);
* AAC in ADTS: each ADTS frame is one audio frame (sample rate in Hz and channels from its header);
  other audio codecs count one frame per PES.

Timestamps are the PES DTS (or PTS) in 90 kHz units, unwrapped past the 33-bit wrap and expressed in
milliseconds since the first timestamp of the stream, so bitrate, frame rate and keyframe interval
are measured on media time, exactly like the RTMP :class:`~vidlake.live.stats.StatsTracker`,
which does the counting: :meth:`TsInspector.snapshot` returns the same
:class:`~vidlake.live.stats.SessionStats`. A frame is counted when its PES is complete (when the
next PES of its stream starts), so the newest frame shows up one frame late.

Garbage never raises: bytes that are not 188-byte packets starting with 0x47 are skipped (counted in
:attr:`TsInspector.resyncs`), tables with a bad CRC are ignored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

from vidlake.live.mpegts import crc32_mpeg2
from vidlake.live.stats import DEFAULT_WINDOW_S, AudioInfo, SessionStats, StatsTracker, VideoInfo
from vidlake.package.codecs import H264Sps, iter_adts, iter_nals, parse_h264_sps

TS_PACKET: Final = 188
SYNC: Final = 0x47
PTS_HZ: Final = 90_000
HEAD_BYTES: Final = 8192  #: bytes of each video PES kept for NAL scanning
MAX_AUDIO_PES: Final = 256 * 1024  #: larger audio PES payloads are counted, not parsed
MAX_SECTION: Final = 4096

#: PMT stream_type -> (kind, codec name as the RTMP stats name it)
STREAM_TYPES: Final[dict[int, tuple[str, str]]] = {
    0x01: ("video", "mpeg1video"),
    0x02: ("video", "mpeg2video"),
    0x10: ("video", "mpeg4"),
    0x1B: ("video", "h264"),
    0x24: ("video", "hevc"),
    0x33: ("video", "vvc"),
    0x03: ("audio", "mp3"),
    0x04: ("audio", "mp3"),
    0x0F: ("audio", "aac"),
    0x11: ("audio", "aac_latm"),
    0x81: ("audio", "ac3"),
    0x87: ("audio", "eac3"),
}
#: registration descriptor format identifiers of private streams (stream_type 0x06)
REGISTRATIONS: Final[dict[bytes, tuple[str, str]]] = {
    b"Opus": ("audio", "opus"),
    b"AC-3": ("audio", "ac3"),
    b"EAC3": ("audio", "eac3"),
    b"HEVC": ("video", "hevc"),
    b"AV01": ("video", "av1"),
    b"VC-1": ("video", "vc1"),
}


# ----------------------------------------------------------------------------------- streams


@dataclass
class _Unwrap:
    """33-bit PTS unwrapping: a continuous 90 kHz timeline."""

    last_raw: int | None = None
    last: int = 0

    def __call__(self, raw: int) -> int:
        if self.last_raw is None:
            self.last = raw
        else:
            delta = (raw - self.last_raw + (1 << 32)) % (1 << 33) - (1 << 32)
            self.last += delta
        self.last_raw = raw
        return self.last


@dataclass
class _Pes:
    pid: int
    kind: str
    codec: str
    timestamp: int | None = None
    random_access: bool = False
    size: int = 0
    head: bytearray = field(default_factory=bytearray)


@dataclass
class ElementaryStream:
    """A stream listed in the PMT: ``kind`` is ``video``/``audio``/``other``; ``stream_type`` as in the PMT."""

    pid: int
    stream_type: int
    kind: str
    codec: str
    pes_count: int = 0


def parse_pts(b: bytes | bytearray, i: int) -> int:
    """The 33-bit PTS/DTS (90 kHz) coded in the 5 bytes at ``b[i:]`` of a PES header."""
    return (
        ((b[i] >> 1) & 0x07) << 30 | b[i + 1] << 22 | (b[i + 2] >> 1) << 15 | b[i + 3] << 7 | b[i + 4] >> 1
    )


class TsInspector:
    """Follows one MPEG-TS stream and keeps its :class:`SessionStats` (see the module docstring).

    ``window_s``: the bitrate window in seconds of media time.
    """

    def __init__(self, window_s: float = DEFAULT_WINDOW_S) -> None:
        self.tracker = StatsTracker(window_s)
        self.streams: dict[int, ElementaryStream] = {}
        self.pmt_pids: set[int] = set()
        self.video_pid: int | None = None
        self.audio_pid: int | None = None
        self.packets = 0
        self.resyncs = 0
        self.cc_errors = 0
        self.sps: H264Sps | None = None
        self._buf = b""
        self._sections: dict[int, bytearray] = {}
        self._cc: dict[int, int] = {}
        self._pes: dict[int, _Pes] = {}
        self._unwrap: dict[int, _Unwrap] = {}
        self._base: int | None = None
        self._now: float | None = None

    # ------------------------------------------------------------------------------- input

    def feed(self, data: bytes, now: float | None = None) -> None:
        """Inspect the next bytes of the stream (``now``: Unix time override for tests)."""
        self.tracker.add_bytes(len(data))
        self._now = now
        buf = self._buf + data if self._buf else data
        i, n = 0, len(buf)
        while n - i >= TS_PACKET:
            if buf[i] != SYNC:
                j = buf.find(b"\x47", i + 1)
                self.resyncs += 1
                if j < 0:
                    i = n
                    break
                i = j
                continue
            self._packet(buf[i:i + TS_PACKET])
            i += TS_PACKET
        self._buf = buf[i:] if i < n else b""

    def flush(self, now: float | None = None) -> None:
        """Count the PES packets still open (call at the end of the stream)."""
        self._now = now
        for pid in list(self._pes):
            self._finish(self._pes.pop(pid))

    def snapshot(self) -> SessionStats:
        """The current numbers."""
        return self.tracker.snapshot()

    # ------------------------------------------------------------------------------- packets

    def _packet(self, pkt: bytes) -> None:
        self.packets += 1
        b1 = pkt[1]
        if b1 & 0x80:  # transport_error_indicator
            return
        pusi = bool(b1 & 0x40)
        pid = ((b1 & 0x1F) << 8) | pkt[2]
        afc = (pkt[3] >> 4) & 0x03
        if pid == 0x1FFF or afc == 0:
            return
        start = 4
        rai = False
        if afc & 0x02:
            af_len = pkt[4]
            if af_len > 183:
                return
            rai = af_len > 0 and bool(pkt[5] & 0x40)
            start = 5 + af_len
        if not afc & 0x01 or start >= TS_PACKET:
            return
        cc = pkt[3] & 0x0F
        prev = self._cc.get(pid)
        if prev is not None and cc != prev and cc != (prev + 1) & 0x0F:
            self.cc_errors += 1
        self._cc[pid] = cc
        payload = pkt[start:]
        if pid == 0 or pid in self.pmt_pids:
            self._section_data(pid, payload, pusi)
        elif pid == self.video_pid or pid == self.audio_pid:
            self._pes_data(pid, payload, pusi, rai)

    # ------------------------------------------------------------------------------- PSI

    def _section_data(self, pid: int, payload: bytes, pusi: bool) -> None:
        if pusi:
            pointer = payload[0]
            sec = bytearray(payload[1 + pointer:])
        else:
            existing = self._sections.get(pid)
            if existing is None:
                return
            sec = existing + payload
        if len(sec) > MAX_SECTION:
            self._sections.pop(pid, None)
            return
        self._sections[pid] = sec
        if len(sec) < 3:
            return
        total = 3 + (((sec[1] & 0x0F) << 8) | sec[2])
        if len(sec) < total:
            return
        del self._sections[pid]
        section = bytes(sec[:total])
        if total < 12 or crc32_mpeg2(section) != 0:
            return
        if pid == 0 and section[0] == 0x00:
            self._pat(section)
        elif section[0] == 0x02:
            self._pmt(section)

    def _pat(self, sec: bytes) -> None:
        pids = set()
        for i in range(8, len(sec) - 4 - 3, 4):
            program = (sec[i] << 8) | sec[i + 1]
            if program != 0:
                pids.add(((sec[i + 2] & 0x1F) << 8) | sec[i + 3])
        if pids:
            self.pmt_pids = pids

    def _pmt(self, sec: bytes) -> None:
        info_len = ((sec[10] & 0x0F) << 8) | sec[11]
        i = 12 + info_len
        end = len(sec) - 4
        found: dict[int, ElementaryStream] = {}
        while i + 5 <= end:
            stype = sec[i]
            pid = ((sec[i + 1] & 0x1F) << 8) | sec[i + 2]
            es_len = ((sec[i + 3] & 0x0F) << 8) | sec[i + 4]
            desc = sec[i + 5:min(i + 5 + es_len, end)]
            kind, codec = self._classify(stype, desc)
            old = self.streams.get(pid)
            same = old is not None and old.stream_type == stype
            found[pid] = old if old is not None and same else ElementaryStream(pid, stype, kind, codec)
            i += 5 + es_len
        self.streams = found
        videos = [s.pid for s in found.values() if s.kind == "video"]
        audios = [s.pid for s in found.values() if s.kind == "audio"]
        self.video_pid = videos[0] if videos else None
        self.audio_pid = audios[0] if audios else None
        if self.video_pid is not None:
            self.tracker.video_codec = found[self.video_pid].codec
        if self.audio_pid is not None:
            self.tracker.audio_codec = found[self.audio_pid].codec
        for pid in list(self._pes):
            if pid not in (self.video_pid, self.audio_pid):
                del self._pes[pid]

    @staticmethod
    def _classify(stype: int, desc: bytes) -> tuple[str, str]:
        if stype in STREAM_TYPES:
            return STREAM_TYPES[stype]
        j = 0
        while j + 2 <= len(desc):
            tag, length = desc[j], desc[j + 1]
            body = desc[j + 2:j + 2 + length]
            if tag == 0x05 and body[:4] in REGISTRATIONS:
                return REGISTRATIONS[body[:4]]
            if tag == 0x6A:
                return "audio", "ac3"
            if tag == 0x7A:
                return "audio", "eac3"
            j += 2 + length
        return "other", f"stream_type-0x{stype:02x}"

    # ------------------------------------------------------------------------------- PES

    def _pes_data(self, pid: int, payload: bytes, pusi: bool, rai: bool) -> None:
        es = self.streams.get(pid)
        if es is None:
            return
        if pusi:
            prev = self._pes.pop(pid, None)
            if prev is not None:
                self._finish(prev)
            if len(payload) < 9 or payload[:3] != b"\x00\x00\x01":
                return
            flags = (payload[7] >> 6) & 0x03
            hdr_len = payload[8]
            data_start = 9 + hdr_len
            pes = _Pes(pid, es.kind, es.codec, random_access=rai)
            if flags & 0x02 and len(payload) >= 14:
                ts_raw = parse_pts(payload, 14 if flags == 0x03 and len(payload) >= 19 else 9)
                pes.timestamp = self._unwrap.setdefault(pid, _Unwrap())(ts_raw)
                if self._base is None:
                    self._base = pes.timestamp
            self._pes[pid] = pes
            body = payload[data_start:] if data_start < len(payload) else b""
        else:
            found = self._pes.get(pid)
            if found is None:
                return
            pes = found
            body = payload
        pes.size += len(body)
        keep = HEAD_BYTES if pes.kind == "video" else MAX_AUDIO_PES
        if len(pes.head) < keep:
            pes.head += body[: keep - len(pes.head)]

    def _ms(self, ticks: int | None) -> int:
        if ticks is None or self._base is None:
            return self.tracker.last_timestamp_ms or 0
        return (ticks - self._base) * 1000 // PTS_HZ

    def _finish(self, pes: _Pes) -> None:
        es = self.streams.get(pes.pid)
        if es is not None:
            es.pes_count += 1
        if pes.size == 0:
            return
        if pes.kind == "video":
            self._video(pes)
        else:
            self._audio(pes)

    def _video(self, pes: _Pes) -> None:
        keyframe = pes.random_access
        head = bytes(pes.head)
        for nal in iter_nals(head):
            if pes.codec == "h264":
                nal_type = nal[0] & 0x1F
                if nal_type == 5:
                    keyframe = True
                elif nal_type == 7:
                    self._sps(nal)
            elif pes.codec == "hevc" and 16 <= (nal[0] >> 1) & 0x3F <= 21:
                keyframe = True
        info = VideoInfo(pes.codec, keyframe=keyframe, sequence_header=False,
                         codec_string=self.sps.codec_string if self.sps is not None and pes.codec == "h264" else None)
        self.tracker.on_video(info, self._ms(pes.timestamp), pes.size, self._stamp())

    def _sps(self, nal: bytes) -> None:
        try:
            sps = parse_h264_sps(nal)
        except ValueError:
            return
        self.sps = sps
        self.tracker.width, self.tracker.height = sps.width, sps.height
        if sps.fps:
            self.tracker.fps = sps.fps

    def _audio(self, pes: _Pes) -> None:
        base_ms = self._ms(pes.timestamp)
        now = self._stamp()
        if pes.codec == "aac" and len(pes.head) == pes.size:
            frames = list(iter_adts(bytes(pes.head)))
            if frames:
                for n, (rate, channels, size, samples) in enumerate(frames):
                    ts = base_ms + (n * samples * 1000 // rate if rate else 0)
                    self.tracker.on_audio(AudioInfo("aac", False, rate, channels), ts, size, now)
                return
        codec = pes.codec
        if codec == "mp3" and len(pes.head) >= 2 and pes.head[0] == 0xFF and (pes.head[1] >> 1) & 0x03 == 2:
            codec = "mp2"
        self.tracker.on_audio(AudioInfo(codec, False), base_ms, pes.size, now)

    def _stamp(self) -> float:
        return time.time() if self._now is None else self._now
