"""RFC 6381 ``CODECS`` strings read from fMP4 init segments (``avc1.PPCCLL``, ``mp4a.40.A``)."""

from __future__ import annotations

from pathlib import Path


class CodecStringError(ValueError):
    """No supported sample entry (avcC / esds) was found."""


def _avc(data: bytes) -> str | None:
    i = data.find(b"avcC")
    if i < 0 or i + 8 > len(data):
        return None
    # avcC body: configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
    profile, compat, level = data[i + 5], data[i + 6], data[i + 7]
    return f"avc1.{profile:02x}{compat:02x}{level:02x}"


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
