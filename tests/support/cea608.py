"""A CEA-608 caption writer for tests: pop-on captions on CC1 turned into the cc_data an H.264 encoder
carries in SEI (ATSC A/53 ``GA94`` user data, ITU-T T.35), inserted into a real libx264 Annex-B stream.

This is what a broadcast encoder (or OBS with a caption plugin) sends: one SEI per access unit, two
cc_data triplets each (a CC1 byte pair on field 1, a null pair on field 2). The stream must have no
B-frames (access units in display order), so each frame's pair is shown in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

#: Control codes of data channel 1 (CC1), before parity.
RCL = (0x14, 0x20)  #: resume caption loading (pop-on)
ENM = (0x14, 0x2E)  #: erase non-displayed memory
EOC = (0x14, 0x2F)  #: end of caption: the loaded caption is shown
EDM = (0x14, 0x2C)  #: erase displayed memory
PAC_ROW15 = (0x14, 0x60)  #: preamble address: row 15, column 0, white
NULL = (0x00, 0x00)


@dataclass(frozen=True)
class Caption:
    """One pop-on caption: ``text`` (printable ASCII, at most 32 characters) shown from ``start`` to
    ``end`` seconds."""

    start: float
    end: float
    text: str


def odd_parity(byte: int) -> int:
    """``byte`` (7 bits) with bit 7 set so that the byte has an odd number of ones."""
    return byte | (0x80 if bin(byte).count("1") % 2 == 0 else 0)


def _chars(text: str) -> list[tuple[int, int]]:
    codes = [ord(ch) for ch in text]
    if any(c < 0x20 or c > 0x7A or chr(c) in "*\\^_`" for c in codes) or len(codes) > 32:
        raise ValueError(f"not a plain 608 line: {text!r}")
    if len(codes) % 2:
        codes.append(0)
    return [(codes[i], codes[i + 1]) for i in range(0, len(codes), 2)]


def frame_pairs(captions: Sequence[Caption], fps: int, frames: int) -> list[tuple[int, int]]:
    """The CC1 byte pair (before parity) of each of ``frames`` frames at ``fps``: each caption is loaded
    off screen in the frames before its start, shown (EOC) at its start and erased (EDM) at its end.
    Control codes are sent twice, as the standard asks."""
    pairs = [NULL] * frames
    for cap in captions:
        load = [RCL, RCL, ENM, ENM, PAC_ROW15, PAC_ROW15, *_chars(cap.text)]
        show = round(cap.start * fps)
        first = show - len(load)
        if first < 0 or any(p != NULL for p in pairs[first:show + 2]):
            raise ValueError(f"caption {cap.text!r} overlaps the one before or starts too early")
        pairs[first:show] = load
        pairs[show:show + 2] = [EOC, EOC]
        hide = round(cap.end * fps)
        if hide + 2 > frames:
            raise ValueError(f"caption {cap.text!r} ends after the video")
        pairs[hide:hide + 2] = [EDM, EDM]
    return pairs


def sei_nal(pair: tuple[int, int]) -> bytes:
    """An H.264 SEI NAL unit (with start code) carrying ``pair`` on CC1 and a null field-2 pair."""
    cc = bytes([0xFC, odd_parity(pair[0]), odd_parity(pair[1]), 0xFD, 0x80, 0x80])
    user_data = bytes([0xB5, 0x00, 0x31]) + b"GA94" + bytes([0x03, 0xC0 | 2, 0xFF]) + cc + bytes([0xFF])
    payload = bytes([4, len(user_data)]) + user_data + bytes([0x80])
    return b"\x00\x00\x00\x01\x06" + _emulation_prevent(payload)


def _emulation_prevent(rbsp: bytes) -> bytes:
    out = bytearray()
    zeros = 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def nal_units(annexb: bytes) -> Iterator[bytes]:
    """The NAL units of an Annex-B stream, each with a 4-byte start code."""
    starts: list[tuple[int, int]] = []
    i = 0
    while True:
        j = annexb.find(b"\x00\x00\x01", i)
        if j < 0:
            break
        begin = j - 1 if j > 0 and annexb[j - 1] == 0 else j
        starts.append((begin, j + 3))
        i = j + 3
    for n, (_, body) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(annexb)
        yield b"\x00\x00\x00\x01" + annexb[body:end]


def insert_captions(annexb: bytes, pairs: Sequence[tuple[int, int]]) -> bytes:
    """``annexb`` (H.264, no B-frames) with one caption SEI before the first slice of each access unit,
    carrying ``pairs[n]`` in frame ``n``. Raises when the frame count differs from ``len(pairs)``."""
    out = bytearray()
    frame = 0
    for nal in nal_units(annexb):
        kind = nal[4] & 0x1F
        first_slice = kind in (1, 5) and nal[5] & 0x80  # first_mb_in_slice == 0 (ue(v) "1")
        if first_slice:
            if frame >= len(pairs):
                raise ValueError("more frames than caption pairs")
            out += sei_nal(pairs[frame])
            frame += 1
        out += nal
    if frame != len(pairs):
        raise ValueError(f"{frame} frames for {len(pairs)} caption pairs")
    return bytes(out)
