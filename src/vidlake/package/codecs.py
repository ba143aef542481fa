"""H.264 and AAC configuration, parsed once for every flow, and the RFC 6381 ``CODECS`` strings made from it.

* :func:`avc_codec_string`: the one way an ``avc1.PPCCLL`` string is built (from an fMP4 ``avcC`` box
  by :func:`codec_string`, from an AVCDecoderConfigurationRecord by :attr:`AvcConfig.codec_string`, from
  an SPS by :attr:`H264Sps.codec_string`);
* :class:`AvcConfig`: the AVCDecoderConfigurationRecord (RTMP's AVC sequence header, MP4's ``avcC``);
  :func:`parse_h264_sps` and :func:`iter_nals` for Annex B streams (MPEG-TS);
* :class:`AacConfig`: the AudioSpecificConfig (RTMP's AAC sequence header, MP4's ``esds``);
  :func:`iter_adts` for ADTS frames (MPEG-TS). Sample rates in Hz.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

START_CODE: Final = b"\x00\x00\x00\x01"

AAC_SAMPLE_RATES: Final = (
    96000,
    88200,
    64000,
    48000,
    44100,
    32000,
    24000,
    22050,
    16000,
    12000,
    11025,
    8000,
    7350,
)


def avc_codec_string(profile_idc: int, constraint_flags: int, level_idc: int) -> str:
    """RFC 6381 codec string of H.264, e.g. ``avc1.64001f``."""
    return f"avc1.{profile_idc:02x}{constraint_flags:02x}{level_idc:02x}"


class CodecStringError(ValueError):
    """No supported sample entry (avcC / esds) was found."""

def _avc(data: bytes) -> str | None:
    i = data.find(b"avcC")
    if i < 0 or i + 8 > len(data):
        return None
    # avcC body: configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
    return avc_codec_string(data[i + 5], data[i + 6], data[i + 7])


def _read_descriptor(data: bytes, pos: int) -> tuple[int, int, int]:
    """Return (tag, body start, body length) of the MPEG-4 descriptor at ``pos``."""
    tag = data[pos]
    pos += 1
    length = 0
    for _ in range(4):
        b = data[pos]
        pos += 1
        length = (length << 7) | (b & 0x7F)
        if not b & 0x80:
            break
    return tag, pos, length


def _aac(data: bytes) -> str | None:
    i = data.find(b"esds")
    if i < 0:
        return None
    try:
        pos = i + 4 + 4  # box type, version+flags
        tag, pos, _ = _read_descriptor(data, pos)
        if tag != 0x03:
            return None
        flags = data[pos + 2]
        pos += 3
        if flags & 0x80:
            pos += 2
        if flags & 0x40:
            pos += 1 + data[pos]
        if flags & 0x20:
            pos += 2
        tag, pos, _ = _read_descriptor(data, pos)
        if tag != 0x04:
            return None
        oti = data[pos]
        pos += 13
        tag, pos, _ = _read_descriptor(data, pos)
        aot = data[pos] >> 3 if tag == 0x05 else 2
        return f"mp4a.{oti:02x}.{aot}"
    except IndexError:
        return None


def codec_string(init_segment: str | Path | bytes) -> str:
    """The CODECS value for the track in an init segment (file path or bytes)."""
    data = init_segment if isinstance(init_segment, bytes) else Path(init_segment).read_bytes()
    found = _avc(data) or _aac(data)
    if found is None:
        raise CodecStringError("no avcC or esds box in the init segment")
    return found


@dataclass(frozen=True)
class AvcConfig:
    """An AVCDecoderConfigurationRecord: NAL length size (bytes) and the parameter sets."""

    length_size: int
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]

    @classmethod
    def parse(cls, record: bytes) -> AvcConfig:
        """Parse the record (the body of an AVC sequence header after its 5-byte FLV prefix)."""
        if len(record) < 7 or record[0] != 1:
            raise ValueError("not an AVCDecoderConfigurationRecord")
        length_size = (record[4] & 0x03) + 1
        pos = 6
        sps = []
        for _ in range(record[5] & 0x1F):
            n = struct.unpack_from(">H", record, pos)[0]
            sps.append(bytes(record[pos + 2 : pos + 2 + n]))
            pos += 2 + n
        pps = []
        if pos < len(record):
            count = record[pos]
            pos += 1
            for _ in range(count):
                n = struct.unpack_from(">H", record, pos)[0]
                pps.append(bytes(record[pos + 2 : pos + 2 + n]))
                pos += 2 + n
        if pos > len(record):
            raise ValueError("truncated AVCDecoderConfigurationRecord")
        return cls(length_size, tuple(sps), tuple(pps))

    @property
    def codec_string(self) -> str | None:
        """``avc1.PPCCLL`` from the first SPS (``None`` without one)."""
        sps = self.sps[0] if self.sps else b""
        return avc_codec_string(sps[1], sps[2], sps[3]) if len(sps) >= 4 else None

    @property
    def parameter_sets(self) -> bytes:
        """SPS and PPS in Annex B form (start codes)."""
        return b"".join(START_CODE + p for p in (*self.sps, *self.pps))


# ----------------------------------------------------------------------------------- H.264


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u(self, n: int) -> int:
        v = 0
        for _ in range(n):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise ValueError("SPS truncated")
            v = (v << 1) | ((self.data[byte] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def unescape_rbsp(nal: bytes) -> bytes:
    """Remove emulation-prevention bytes (``00 00 03`` -> ``00 00``)."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00") if b"\x00\x00\x03" in nal else nal


@dataclass(frozen=True)
class H264Sps:
    """What an H.264 SPS says: size in pixels, frame rate (frames per second, from VUI timing)."""

    profile_idc: int
    constraint_flags: int
    level_idc: int
    width: int
    height: int
    fps: float | None

    @property
    def codec_string(self) -> str:
        """RFC 6381 codec string, e.g. ``avc1.64001f``."""
        return avc_codec_string(self.profile_idc, self.constraint_flags, self.level_idc)


_HIGH_PROFILES: Final = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


def _skip_scaling_list(r: _Bits, size: int) -> None:
    last, nxt = 8, 8
    for _ in range(size):
        if nxt != 0:
            nxt = (last + r.se() + 256) % 256
        last = nxt if nxt != 0 else last


def parse_h264_sps(nal: bytes) -> H264Sps:
    """Parse an H.264 SPS NAL unit (with its 1-byte header); raises ``ValueError`` if malformed."""
    if len(nal) < 4 or nal[0] & 0x1F != 7:
        raise ValueError("not an SPS")
    r = _Bits(unescape_rbsp(nal[1:]))
    profile, constraints, level = r.u(8), r.u(8), r.u(8)
    r.ue()  # seq_parameter_set_id
    chroma_format_idc, separate_planes = 1, 0
    if profile in _HIGH_PROFILES:
        chroma_format_idc = r.ue()
        if chroma_format_idc == 3:
            separate_planes = r.u(1)
        r.ue()  # bit_depth_luma_minus8
        r.ue()  # bit_depth_chroma_minus8
        r.u(1)  # qpprime_y_zero_transform_bypass_flag
        if r.u(1):  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format_idc != 3 else 12):
                if r.u(1):
                    _skip_scaling_list(r, 16 if i < 6 else 64)
    r.ue()  # log2_max_frame_num_minus4
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()
    elif poc_type == 1:
        r.u(1)
        r.se()
        r.se()
        for _ in range(min(r.ue(), 255)):
            r.se()
    r.ue()  # max_num_ref_frames
    r.u(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = r.ue() + 1
    height_units = r.ue() + 1
    frame_mbs_only = r.u(1)
    if not frame_mbs_only:
        r.u(1)  # mb_adaptive_frame_field_flag
    r.u(1)  # direct_8x8_inference_flag
    width = width_mbs * 16
    height = (2 - frame_mbs_only) * height_units * 16
    if r.u(1):  # frame_cropping_flag
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        chroma_array_type = 0 if separate_planes else chroma_format_idc
        sub_w = 2 if chroma_array_type in (1, 2) else 1
        sub_h = 2 if chroma_array_type == 1 else 1
        crop_x = 1 if chroma_array_type == 0 else sub_w
        crop_y = (2 - frame_mbs_only) * (1 if chroma_array_type == 0 else sub_h)
        width -= (left + right) * crop_x
        height -= (top + bottom) * crop_y
    try:
        fps = _vui_fps(r)
    except ValueError:  # a VUI cut short: size is known, frame rate is not
        fps = None
    if width <= 0 or height <= 0:
        raise ValueError("bad SPS picture size")
    return H264Sps(profile, constraints, level, width, height, fps)


def _vui_fps(r: _Bits) -> float | None:
    if not r.u(1):  # vui_parameters_present_flag
        return None
    if r.u(1) and r.u(8) == 255:  # aspect_ratio_info_present_flag, aspect_ratio_idc == Extended_SAR
        r.u(32)
    if r.u(1):  # overscan_info_present_flag
        r.u(1)
    if r.u(1):  # video_signal_type_present_flag
        r.u(4)
        if r.u(1):  # colour_description_present_flag
            r.u(24)
    if r.u(1):  # chroma_loc_info_present_flag
        r.ue()
        r.ue()
    if not r.u(1):  # timing_info_present_flag
        return None
    units, scale = r.u(32), r.u(32)
    return scale / (2.0 * units) if units and scale else None


def iter_nals(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (start codes removed; the last one may be cut off)."""
    out = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        start = i + 3
        j = data.find(b"\x00\x00\x01", start)
        end = len(data) if j < 0 else j
        nal = data[start:end]
        if j >= 0 and nal.endswith(b"\x00"):
            nal = nal.rstrip(b"\x00")
        if nal:
            out.append(nal)
        i = j
    return out


# ----------------------------------------------------------------------------------- AAC


@dataclass(frozen=True)
class AacConfig:
    """What an ADTS header needs from an AudioSpecificConfig: ADTS ``profile`` (object type - 1),
    sampling frequency index and channel configuration."""

    profile: int
    sampling_index: int
    channel_config: int

    @classmethod
    def parse(cls, asc: bytes) -> AacConfig:
        """Parse an AudioSpecificConfig (the body of an AAC sequence header after its 2-byte prefix).
        HE-AAC (object types 5 and 29) is written as AAC LC at the core rate, as ADTS requires."""
        if len(asc) < 2:
            raise ValueError("AudioSpecificConfig shorter than 2 bytes")
        bits = int.from_bytes(asc[:4].ljust(4, b"\x00"), "big")
        obj = bits >> 27
        pos = 5
        if obj == 31:
            obj = 32 + ((bits >> 21) & 0x3F)
            pos = 11
        index = (bits >> (28 - pos)) & 0x0F
        pos += 4
        if index == 15:
            raise ValueError("explicit AAC sampling rates are not supported")
        channels = (bits >> (28 - pos)) & 0x0F
        if obj in (5, 29):
            obj = 2
        if not 1 <= obj <= 4:
            obj = 2
        return cls(profile=obj - 1, sampling_index=index, channel_config=channels)

    @property
    def sample_rate(self) -> int | None:
        """The (core) sampling rate in Hz (``None`` for a reserved index)."""
        return AAC_SAMPLE_RATES[self.sampling_index] if self.sampling_index < len(AAC_SAMPLE_RATES) else None

    @property
    def channels(self) -> int | None:
        """Channels of the channel configuration (``None``: given in the stream, configuration 0)."""
        return self.channel_config or None

    def adts_header(self, frame_len: int) -> bytes:
        """The 7-byte ADTS header (no CRC) of a raw frame of ``frame_len`` bytes."""
        total = frame_len + 7
        if total > 0x1FFF:
            raise ValueError("AAC frame too long for ADTS")
        ch = self.channel_config
        return bytes((0xFF, 0xF1, (self.profile << 6) | (self.sampling_index << 2) | (ch >> 2),
                      ((ch & 3) << 6) | (total >> 11), (total >> 3) & 0xFF, ((total & 7) << 5) | 0x1F, 0xFC))


def iter_adts(data: bytes) -> list[tuple[int | None, int | None, int, int]]:
    """ADTS frames in ``data``: (sample rate in Hz, channels, frame bytes, samples per frame)."""
    out: list[tuple[int | None, int | None, int, int]] = []
    i = 0
    while i + 7 <= len(data):
        if data[i] != 0xFF or data[i + 1] & 0xF6 != 0xF0:
            break
        idx = (data[i + 2] >> 2) & 0x0F
        channels = ((data[i + 2] & 0x01) << 2) | (data[i + 3] >> 6)
        length = ((data[i + 3] & 0x03) << 11) | (data[i + 4] << 3) | (data[i + 5] >> 5)
        blocks = (data[i + 6] & 0x03) + 1
        if length < 7:
            break
        rate = AAC_SAMPLE_RATES[idx] if idx < len(AAC_SAMPLE_RATES) else None
        out.append((rate, channels or None, length, 1024 * blocks))
        i += length
    return out
