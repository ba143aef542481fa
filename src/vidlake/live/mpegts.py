"""MPEG-TS muxing (ISO/IEC 13818-1) of H.264 and AAC from FLV tag bodies, pure Python and sans-IO.

What HLS (RFC 8216) asks of a transport-stream segment, and what this module writes:

* 188-byte packets; a PAT (program 1 → PMT on PID 0x1000) and a PMT (H.264 on PID 0x100, AAC on
  PID 0x101, the PCR on the video PID, else the audio PID) at the start of every segment
  (:meth:`TsMuxer.psi`); continuity counters run on per PID across segments, so the segments of one
  run can be concatenated byte-wise;
* one PES per video access unit (stream id 0xE0, PTS and DTS) and per AAC frame (0xC0, PTS), with a
  PCR in the adaptation field of every PES start on the PCR PID and the random-access indicator on
  keyframes;
* H.264 as Annex B: the FLV body's length-prefixed NAL units (AVCC) get start codes, every access unit
  starts with an access unit delimiter, and SPS/PPS from the AVC sequence header
  (AVCDecoderConfigurationRecord) are put before each IDR that does not carry its own
  (:class:`AvcConfig`, :func:`avcc_to_annexb`);
* AAC as ADTS: a 7-byte header built from the AudioSpecificConfig (:class:`AacConfig`) before every
  raw frame.

Timestamps are 90 kHz ticks; :data:`TS_OFFSET` (1.4 s, as ffmpeg) is added so that the PCR
(:data:`PCR_DELAY` before the DTS) never goes below zero; they wrap at 2^33.
"""

from __future__ import annotations

import struct
from typing import Final

from vidlake.package.codecs import START_CODE, AacConfig, AvcConfig

PACKET_SIZE: Final = 188
PMT_PID: Final = 0x1000
VIDEO_PID: Final = 0x100
AUDIO_PID: Final = 0x101
STREAM_TYPE_H264: Final = 0x1B
STREAM_TYPE_AAC: Final = 0x0F
TS_OFFSET: Final = 126_000  #: added to every PTS/DTS, in 90 kHz ticks (1.4 s)
PCR_DELAY: Final = 63_000  #: the PCR runs this far behind the DTS, in 90 kHz ticks (0.7 s)
_WRAP: Final = (1 << 33) - 1

NAL_IDR: Final = 5
NAL_SPS: Final = 7
NAL_PPS: Final = 8
NAL_AUD: Final = 9
AUD: Final = b"\x00\x00\x00\x01\x09\xf0"  #: access unit delimiter, primary_pic_type 7 (any slice type)


def _crc32_table() -> list[int]:
    table = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04C11DB7) if c & 0x80000000 else (c << 1)
        table.append(c & 0xFFFFFFFF)
    return table


_CRC_TABLE: Final = _crc32_table()


def crc32_mpeg2(data: bytes) -> int:
    """CRC-32/MPEG-2 of ``data`` (polynomial 0x04C11DB7, initial 0xFFFFFFFF, not reflected)."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) ^ b) & 0xFF]
    return crc


# ---------------------------------------------------------------------------------------------- codecs


def avcc_to_annexb(data: bytes | memoryview, config: AvcConfig, *, keyframe: bool) -> bytes:
    """One access unit in AVCC form (length-prefixed NAL units) → Annex B with an AUD first and the
    parameter sets of ``config`` before the IDR when ``keyframe`` and the unit has no SPS of its own.
    Raises ``ValueError`` on a NAL length running past the end."""
    mv = memoryview(data)
    size = config.length_size
    end = len(mv)
    pos = 0
    nals: list[bytes | memoryview] = []
    has_sps = has_aud = has_idr = False
    while pos + size <= end:
        n = int.from_bytes(mv[pos : pos + size], "big")
        pos += size
        if n == 0:
            continue
        if pos + n > end:
            raise ValueError("NAL unit longer than the access unit")
        nal_type = mv[pos] & 0x1F
        if nal_type == NAL_SPS:
            has_sps = True
        elif nal_type == NAL_AUD:
            has_aud = True
        elif nal_type == NAL_IDR:
            has_idr = True
        nals.append(START_CODE)
        nals.append(mv[pos : pos + n])
        pos += n
    head = b"" if has_aud else AUD
    if (keyframe or has_idr) and not has_sps:
        if has_aud:  # keep the AUD first
            return b"".join([*nals[:2], config.parameter_sets, *nals[2:]])
        head += config.parameter_sets
    return head + b"".join(nals)


# ---------------------------------------------------------------------------------------------- muxing


def _timestamp(prefix: int, ts: int) -> bytes:
    """A 5-byte PES PTS/DTS field (``prefix`` 2: PTS only, 3: PTS of a pair, 1: DTS)."""
    ts &= _WRAP
    return bytes(((prefix << 4) | ((ts >> 29) & 0x0E) | 1, (ts >> 22) & 0xFF, ((ts >> 14) & 0xFE) | 1,
                  (ts >> 7) & 0xFF, ((ts << 1) & 0xFE) | 1))


def _pcr(base: int) -> bytes:
    """The 6-byte PCR field of a 90 kHz ``base`` (extension 0)."""
    base &= _WRAP
    return bytes(((base >> 25) & 0xFF, (base >> 17) & 0xFF, (base >> 9) & 0xFF, (base >> 1) & 0xFF,
                  ((base & 1) << 7) | 0x7E, 0))


def _section(table_id: int, id_field: int, body: bytes) -> bytes:
    """A PSI section with pointer field, syntax header (version 0, current) and CRC."""
    length = 5 + len(body) + 4
    head = bytes((table_id, 0xB0 | (length >> 8), length & 0xFF, id_field >> 8, id_field & 0xFF, 0xC1, 0, 0))
    section = head + body
    return b"\x00" + section + struct.pack(">I", crc32_mpeg2(section))


class TsMuxer:
    """Packetizes PES into 188-byte transport packets for one program with an optional H.264 and an
    optional AAC elementary stream. Each method returns the bytes to append to the current segment."""

    def __init__(self, *, video: bool, audio: bool) -> None:
        if not (video or audio):
            raise ValueError("a transport stream needs at least one elementary stream")
        self.video = video
        self.audio = audio
        self.pcr_pid = VIDEO_PID if video else AUDIO_PID
        self._cc: dict[int, int] = {0: 0, PMT_PID: 0, VIDEO_PID: 0, AUDIO_PID: 0}
        self._plain = {pid: [bytes((0x47, (pid >> 8) & 0x1F, pid & 0xFF, 0x10 | cc)) for cc in range(16)]
                       for pid in (VIDEO_PID, AUDIO_PID)}
        self._pat = _section(0x00, 1, struct.pack(">HH", 1, 0xE000 | PMT_PID))
        streams = b""
        if video:
            streams += struct.pack(">BHH", STREAM_TYPE_H264, 0xE000 | VIDEO_PID, 0xF000)
        if audio:
            streams += struct.pack(">BHH", STREAM_TYPE_AAC, 0xE000 | AUDIO_PID, 0xF000)
        self._pmt = _section(0x02, 1, struct.pack(">HH", 0xE000 | self.pcr_pid, 0xF000) + streams)

    def _psi_packet(self, pid: int, section: bytes) -> bytes:
        cc = self._cc[pid]
        self._cc[pid] = (cc + 1) & 0x0F
        head = bytes((0x47, 0x40 | (pid >> 8), pid & 0xFF, 0x10 | cc))
        return head + section + b"\xff" * (184 - len(section))

    def psi(self) -> bytes:
        """A PAT and a PMT packet (the start of every segment)."""
        return self._psi_packet(0, self._pat) + self._psi_packet(PMT_PID, self._pmt)

    def video_frame(self, dts: int, cts: int, annexb: bytes, *, keyframe: bool) -> bytes:
        """Packets of one H.264 access unit (Annex B) decoded at ``dts`` and shown ``cts`` later (90 kHz
        ticks; :data:`TS_OFFSET` is added here)."""
        dts += TS_OFFSET
        if cts:
            header = b"\x80\xc0\x0a" + _timestamp(3, dts + cts) + _timestamp(1, dts)
        else:
            header = b"\x80\x80\x05" + _timestamp(2, dts)
        length = len(header) + len(annexb)
        pes = b"\x00\x00\x01\xe0" + struct.pack(">H", length if length <= 0xFFFF else 0) + header + annexb
        pcr = dts - PCR_DELAY if self.pcr_pid == VIDEO_PID else None
        return self._packetize(VIDEO_PID, pes, pcr, keyframe)

    def audio_frame(self, pts: int, adts: bytes) -> bytes:
        """Packets of one AAC frame with its ADTS header, presented at ``pts`` (90 kHz ticks;
        :data:`TS_OFFSET` is added here)."""
        pts += TS_OFFSET
        header = b"\x80\x80\x05" + _timestamp(2, pts)
        pes = b"\x00\x00\x01\xc0" + struct.pack(">H", len(header) + len(adts)) + header + adts
        pcr = pts - PCR_DELAY if self.pcr_pid == AUDIO_PID else None
        return self._packetize(AUDIO_PID, pes, pcr, self.pcr_pid == AUDIO_PID)

    def _packetize(self, pid: int, pes: bytes, pcr: int | None, random_access: bool) -> bytes:
        cc = self._cc[pid]
        n = len(pes)
        # First packet: payload unit start, adaptation field with PCR / random access when asked.
        af = b""
        if pcr is not None or random_access:
            af = bytes((0x50 if pcr is not None and random_access else 0x10 if pcr is not None else 0x40,))
            if pcr is not None:
                af += _pcr(max(0, pcr))
        out = bytearray()
        take = min(n, 184 - (1 + len(af) if af else 0))
        out += self._packet(pid, True, cc, af if af else None, pes[:take])
        cc = (cc + 1) & 0x0F
        pos = take
        plain = self._plain[pid]
        mv = memoryview(pes)
        while n - pos >= 184:
            out += plain[cc]
            out += mv[pos : pos + 184]
            pos += 184
            cc = (cc + 1) & 0x0F
        if pos < n:
            out += self._packet(pid, False, cc, None, mv[pos:])
            cc = (cc + 1) & 0x0F
        self._cc[pid] = cc
        return bytes(out)

    @staticmethod
    def _packet(pid: int, start: bool, cc: int, af_body: bytes | None, payload: bytes | memoryview) -> bytes:
        """One packet; the adaptation field is added or grown with stuffing to fill 188 bytes."""
        room = 184 - len(payload)
        if af_body is None and room == 0:
            return bytes((0x47, (0x40 if start else 0) | (pid >> 8), pid & 0xFF, 0x10 | cc)) + bytes(payload)
        if af_body is None:
            af = b"\x00" if room == 1 else bytes((room - 1, 0)) + b"\xff" * (room - 2)
        else:
            stuffing = room - 1 - len(af_body)
            if stuffing < 0:
                raise ValueError("adaptation field and payload exceed one packet")
            af = bytes((room - 1,)) + af_body + b"\xff" * stuffing
        head = bytes((0x47, (0x40 if start else 0) | (pid >> 8), pid & 0xFF, 0x30 | cc))
        return head + af + bytes(payload)


__all__ = [
    "AacConfig", "AvcConfig", "TsMuxer", "avcc_to_annexb", "crc32_mpeg2",
]
