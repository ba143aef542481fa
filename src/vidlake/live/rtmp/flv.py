"""FLV: writing the file header and tags, and reading enough of audio/video tag bodies to know codecs.

RTMP audio (type 8), video (type 9) and AMF0 data (type 18) message payloads are exactly FLV tag
bodies, so an FLV byte stream is ``header + PreviousTagSize0 + (tag + PreviousTagSize)*``. ffmpeg reads
that from a pipe with ``-f flv -i pipe:0``.

Tag header (11 bytes): type (8 audio, 9 video, 18 script), data size (24 bits), timestamp in
milliseconds (lower 24 bits, then the upper 8 bits), stream id (24 bits, always 0).

Video body, legacy: ``frame_type<<4 | codec_id`` (AVC = 7), then for AVC: packet type (0 sequence
header, 1 NALUs, 2 end of sequence) and a 24-bit signed composition time offset in milliseconds.
Enhanced RTMP: bit 7 set, ``frame_type`` in bits 4..6, packet type in bits 0..3, then a FourCC
(``avc1``, ``hvc1``, ``av01``, ``vp09``).
Audio body: ``format<<4 | rate<<2 | size<<1 | channels``; AAC (10) is followed by packet type
(0 AudioSpecificConfig, 1 raw). Enhanced audio: format 9 + packet type + FourCC (``Opus``, ``mp4a``...).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from vidlake.live.rtmp.errors import RtmpProtocolError
from vidlake.live.stats import AudioInfo, VideoInfo
from vidlake.package.codecs import AacConfig, avc_codec_string

TAG_AUDIO: Final = 8
TAG_VIDEO: Final = 9
TAG_SCRIPT: Final = 18

FLAG_AUDIO: Final = 0x04
FLAG_VIDEO: Final = 0x01

VIDEO_CODECS: Final = {
    2: "h263",
    3: "screen",
    4: "vp6",
    5: "vp6a",
    6: "screen2",
    7: "h264",
    12: "hevc",
    13: "av1",
}
VIDEO_FOURCCS: Final = {b"avc1": "h264", b"hvc1": "hevc", b"av01": "av1", b"vp09": "vp9", b"vp08": "vp8"}
AUDIO_CODECS: Final = {
    0: "pcm",
    1: "adpcm",
    2: "mp3",
    3: "pcm_le",
    4: "nellymoser",
    5: "nellymoser",
    6: "nellymoser",
    7: "g711a",
    8: "g711u",
    10: "aac",
    11: "speex",
    14: "mp3",
    15: "device",
}
AUDIO_FOURCCS: Final = {
    b"Opus": "opus",
    b"fLaC": "flac",
    b"ac-3": "ac3",
    b"ec-3": "eac3",
    b".mp3": "mp3",
    b"mp4a": "aac",
}

FRAME_KEY: Final = 1
FRAME_INTER: Final = 2
FRAME_COMMAND: Final = 5


def header(*, audio: bool = True, video: bool = True) -> bytes:
    """The 9-byte FLV header followed by PreviousTagSize0 (4 zero bytes)."""
    flags = (FLAG_AUDIO if audio else 0) | (FLAG_VIDEO if video else 0)
    return b"FLV\x01" + bytes((flags,)) + struct.pack(">I", 9) + b"\x00\x00\x00\x00"


def tag(tag_type: int, timestamp_ms: int, data: bytes) -> bytes:
    """One FLV tag followed by its PreviousTagSize. ``timestamp_ms`` wraps at 2^32."""
    if len(data) > 0xFFFFFF:
        raise ValueError("FLV tag body longer than 16 MiB - 1")
    ts = timestamp_ms & 0xFFFFFFFF
    head = (
        bytes((tag_type,))
        + len(data).to_bytes(3, "big")
        + (ts & 0xFFFFFF).to_bytes(3, "big")
        + bytes((ts >> 24,))
        + b"\x00\x00\x00"
    )
    return head + data + struct.pack(">I", 11 + len(data))


_TAG_HEAD: Final = struct.Struct(">IIHB")  # type<<24 | size, ts<<8 | ts>>24, stream id (3 bytes)
_U32: Final = struct.Struct(">I")


def append_tag(out: bytearray, tag_type: int, timestamp_ms: int, data: bytes) -> None:
    """Append one FLV tag and its PreviousTagSize to ``out`` (what :func:`tag` returns, without copies)."""
    size = len(data)
    if size > 0xFFFFFF:
        raise ValueError("FLV tag body longer than 16 MiB - 1")
    ts = timestamp_ms & 0xFFFFFFFF
    out += _TAG_HEAD.pack((tag_type << 24) | size, ((ts & 0xFFFFFF) << 8) | (ts >> 24), 0, 0)
    out += data
    out += _U32.pack(size + 11)


@dataclass(frozen=True)
class FlvTag:
    """A tag read back from an FLV stream (timestamp in milliseconds)."""

    tag_type: int
    timestamp_ms: int
    data: bytes


def read_tags(data: bytes, *, with_header: bool = True) -> Iterator[FlvTag]:
    """Iterate over the tags of a complete FLV byte string (``with_header``: it starts with 'FLV')."""
    pos = 0
    if with_header:
        if len(data) < 13 or data[:3] != b"FLV":
            raise RtmpProtocolError("not an FLV stream")
        pos = struct.unpack_from(">I", data, 5)[0] + 4
    while pos < len(data):
        if pos + 11 > len(data):
            raise RtmpProtocolError("truncated FLV tag header")
        tag_type = data[pos]
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        ts = int.from_bytes(data[pos + 4 : pos + 7], "big") | (data[pos + 7] << 24)
        end = pos + 11 + size
        if end + 4 > len(data):
            raise RtmpProtocolError("truncated FLV tag body")
        yield FlvTag(tag_type, ts, bytes(data[pos + 11 : end]))
        pos = end + 4


class FlvStreamReader:
    """Reads an FLV byte stream incrementally: :meth:`feed` any slices of it, get the tags they complete.

    The stream starts with the FLV header (checked and skipped); ``max_tag_size`` bounds memory (bytes).
    """

    def __init__(self, *, max_tag_size: int = 16 * 1024 * 1024) -> None:
        self.max_tag_size = max_tag_size
        self._buf = bytearray()
        self._header_done = False

    def feed(self, data: bytes) -> list[FlvTag]:
        """Consume ``data``; return the tags completed by it, in order. Raises
        :class:`RtmpProtocolError` on a stream that is not FLV."""
        buf = self._buf
        buf += data
        pos = 0
        end = len(buf)
        if not self._header_done:
            if end < 13:
                return []
            if buf[:3] != b"FLV":
                raise RtmpProtocolError("not an FLV stream")
            pos = struct.unpack_from(">I", buf, 5)[0] + 4
            if end < pos:
                return []
            self._header_done = True
        out: list[FlvTag] = []
        while end - pos >= 11:
            size = (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
            if size > self.max_tag_size:
                raise RtmpProtocolError(f"FLV tag of {size} bytes exceeds the limit")
            stop = pos + 11 + size
            if stop + 4 > end:
                break
            ts = (buf[pos + 4] << 16) | (buf[pos + 5] << 8) | buf[pos + 6] | (buf[pos + 7] << 24)
            out.append(FlvTag(buf[pos], ts, bytes(buf[pos + 11 : stop])))
            pos = stop + 4
        if pos:
            del buf[:pos]
        return out


def split_aggregate(payload: bytes, timestamp_ms: int) -> list[FlvTag]:
    """Split an RTMP aggregate message (type 22) into its sub-messages, re-based on ``timestamp_ms``."""
    tags = list(read_tags(payload, with_header=False))
    if not tags:
        return []
    base = tags[0].timestamp_ms
    return [FlvTag(t.tag_type, (timestamp_ms + t.timestamp_ms - base) & 0xFFFFFFFF, t.data) for t in tags]


def _avc_codec_string(config: bytes) -> str | None:
    if len(config) >= 4 and config[0] == 1:
        return avc_codec_string(config[1], config[2], config[3])
    return None


def parse_video(body: bytes) -> VideoInfo:
    """Parse the first bytes of a video tag body (legacy or enhanced RTMP)."""
    if not body:
        raise RtmpProtocolError("empty video message")
    b0 = body[0]
    if b0 & 0x80:  # enhanced RTMP
        frame_type = (b0 >> 4) & 0x07
        packet_type = b0 & 0x0F
        if frame_type == FRAME_COMMAND:
            return VideoInfo("unknown", False, False, command_frame=True, enhanced=True)
        if len(body) < 5:
            raise RtmpProtocolError("enhanced video header shorter than 5 bytes")
        fourcc = bytes(body[1:5])
        codec = VIDEO_FOURCCS.get(fourcc, fourcc.decode("latin-1"))
        ct = 0
        if packet_type == 1 and fourcc in (b"avc1", b"hvc1") and len(body) >= 8:
            ct = int.from_bytes(body[5:8], "big", signed=True)
        codec_string = None
        if packet_type == 0 and fourcc == b"avc1":
            codec_string = _avc_codec_string(body[5:])
        return VideoInfo(
            codec,
            keyframe=frame_type == FRAME_KEY,
            sequence_header=packet_type in (0, 5),
            end_of_sequence=packet_type == 2,
            enhanced=True,
            composition_time_ms=ct,
            codec_string=codec_string,
        )
    frame_type = b0 >> 4
    codec_id = b0 & 0x0F
    codec = VIDEO_CODECS.get(codec_id, f"codec-{codec_id}")
    if frame_type == FRAME_COMMAND:
        return VideoInfo(codec, False, False, command_frame=True)
    if codec_id in (7, 12, 13):
        if len(body) < 5:
            raise RtmpProtocolError(f"{codec} video header shorter than 5 bytes")
        packet_type = body[1]
        ct = int.from_bytes(body[2:5], "big", signed=True)
        return VideoInfo(
            codec,
            keyframe=frame_type == FRAME_KEY,
            sequence_header=packet_type == 0,
            end_of_sequence=packet_type == 2,
            composition_time_ms=ct,
            codec_string=_avc_codec_string(body[5:]) if packet_type == 0 and codec_id == 7 else None,
        )
    return VideoInfo(codec, keyframe=frame_type == FRAME_KEY, sequence_header=False)


def _aac_config(asc: bytes) -> tuple[int | None, int | None]:
    """(sample rate in Hz, channels) of an AudioSpecificConfig (``None`` when it says nothing)."""
    try:
        config = AacConfig.parse(asc)
    except ValueError:
        return None, None
    return config.sample_rate, config.channels


def parse_audio(body: bytes) -> AudioInfo:
    """Parse the first bytes of an audio tag body (legacy or enhanced RTMP)."""
    if not body:
        raise RtmpProtocolError("empty audio message")
    fmt = body[0] >> 4
    if fmt == 9:  # enhanced audio
        if len(body) < 5:
            raise RtmpProtocolError("enhanced audio header shorter than 5 bytes")
        fourcc = bytes(body[1:5])
        codec = AUDIO_FOURCCS.get(fourcc, fourcc.decode("latin-1"))
        return AudioInfo(codec, sequence_header=(body[0] & 0x0F) == 0, enhanced=True)
    codec = AUDIO_CODECS.get(fmt, f"codec-{fmt}")
    channels = 2 if body[0] & 0x01 else 1
    rate = (5512, 11025, 22050, 44100)[(body[0] >> 2) & 0x03]
    if fmt == 10:
        if len(body) < 2:
            raise RtmpProtocolError("AAC audio header shorter than 2 bytes")
        if body[1] == 0:
            asc_rate, asc_channels = _aac_config(body[2:])
            return AudioInfo(codec, True, asc_rate, asc_channels)
        return AudioInfo(codec, False)
    return AudioInfo(codec, False, rate, channels)
