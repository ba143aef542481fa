"""Chunk stream decoder/encoder: headers, splitting, extended timestamps, control, limits."""

from __future__ import annotations

import os
import struct

import pytest

from vidlake.live.rtmp import chunk
from vidlake.live.rtmp.chunk import AckCounter, ChunkDecoder, ChunkEncoder, RtmpMessage
from vidlake.live.rtmp.errors import RtmpProtocolError


def _type0(csid: int, ts: int, length: int, type_id: int, stream_id: int) -> bytes:
    """A one-byte basic header + type-0 message header, built by hand."""
    return (
        bytes((csid,))
        + ts.to_bytes(3, "big")
        + length.to_bytes(3, "big")
        + bytes((type_id,))
        + struct.pack("<I", stream_id)
    )


def test_hand_built_type0_type3_message() -> None:
    payload = os.urandom(200)
    raw = _type0(4, 1000, 200, 9, 1) + payload[:128] + bytes((0xC4,)) + payload[128:]
    msgs = ChunkDecoder().feed(raw)
    assert msgs == [RtmpMessage(9, payload, 1000, 1, 4)]


def test_spec_example_deltas_type2_and_type3() -> None:
    """Spec 5.3.2.1 style: audio on one chunk stream, same length, constant delta."""
    raw = _type0(3, 1000, 32, 8, 1) + b"a" * 32
    raw += bytes((0x80 | 3,)) + (33).to_bytes(3, "big") + b"b" * 32  # type 2: delta 33
    raw += bytes((0xC0 | 3,)) + b"c" * 32  # type 3: same delta
    raw += bytes((0xC0 | 3,)) + b"d" * 32
    msgs = ChunkDecoder().feed(raw)
    assert [m.timestamp for m in msgs] == [1000, 1033, 1066, 1099]
    assert [m.payload[:1] for m in msgs] == [b"a", b"b", b"c", b"d"]
    assert all(m.type_id == 8 and m.stream_id == 1 for m in msgs)


def test_type1_changes_length_and_type() -> None:
    raw = _type0(6, 10, 3, 9, 1) + b"abc"
    raw += bytes((0x40 | 6,)) + (20).to_bytes(3, "big") + (2).to_bytes(3, "big") + bytes((8,)) + b"xy"
    msgs = ChunkDecoder().feed(raw)
    assert msgs[1] == RtmpMessage(8, b"xy", 30, 1, 6)


@pytest.mark.parametrize("csid", [2, 3, 63, 64, 65, 319, 320, 1000, 65599])
def test_csid_header_forms_round_trip(csid: int) -> None:
    enc = ChunkEncoder()
    msg = RtmpMessage(20, b"hello", 5, 0, csid)
    data = enc.encode(msg)
    expected_basic = 1 if csid < 64 else (2 if csid < 320 else 3)
    assert len(data) == expected_basic + 11 + 5
    assert ChunkDecoder().feed(data) == [msg]


@pytest.mark.parametrize("chunk_size", [128, 129, 4096, 65536])
@pytest.mark.parametrize("length", [0, 1, 127, 128, 129, 4096, 100_000])
def test_split_and_reassemble(chunk_size: int, length: int) -> None:
    payload = os.urandom(length)
    enc = ChunkEncoder(chunk_size=chunk_size)
    dec = ChunkDecoder()
    control = enc.encode(chunk.set_chunk_size(chunk_size))
    assert len(control) == 12 + 4  # sent with the old (default) chunk size
    enc.chunk_size = chunk_size
    media = enc.encode(RtmpMessage(9, payload, 40, 1, 6))
    msgs = dec.feed(control + media)
    assert dec.chunk_size == chunk_size
    assert msgs[-1] == RtmpMessage(9, payload, 40, 1, 6)
    chunks = max(1, -(-length // chunk_size))
    assert len(media) == 12 + length + (chunks - 1)  # one type-3 byte per continuation chunk


def test_interleaved_chunk_streams_and_byte_by_byte_feed() -> None:
    enc = ChunkEncoder(chunk_size=128)
    video = RtmpMessage(9, os.urandom(1000), 0, 1, 6)
    audio = RtmpMessage(8, os.urandom(300), 0, 1, 4)
    v = enc.encode(video)
    a = enc.encode(audio)
    # interleave: first chunk of video, whole audio, rest of video
    first = 12 + 128
    stream = v[:first] + a + v[first:]
    dec = ChunkDecoder()
    got: list[RtmpMessage] = []
    for b in stream:
        got += dec.feed(bytes((b,)))
    assert got == [audio, video]
    assert dec.bytes_received == len(stream)


def test_encoder_compression_uses_all_header_types() -> None:
    enc = ChunkEncoder(chunk_size=4096)
    msgs = [
        RtmpMessage(8, b"A" * 10, 0, 1, 4),
        RtmpMessage(8, b"B" * 10, 23, 1, 4),  # type 2 (delta 23)
        RtmpMessage(8, b"C" * 10, 46, 1, 4),  # type 3 (same delta)
        RtmpMessage(8, b"D" * 11, 69, 1, 4),  # type 1 (length changed)
        RtmpMessage(8, b"E" * 11, 50, 1, 4),  # timestamp went back: type 0
    ]
    encoded = [enc.encode(m) for m in msgs]
    assert [e[0] >> 6 for e in encoded] == [0, 2, 3, 1, 0]
    assert ChunkDecoder().feed(b"".join(encoded)) == msgs


def test_type3_after_type0_repeats_the_absolute_field_as_delta() -> None:
    """ffmpeg's rule: a new message on type 3 adds the previous header's timestamp field."""
    raw = _type0(4, 23, 2, 8, 1) + b"ab" + bytes((0xC4,)) + b"cd"
    msgs = ChunkDecoder().feed(raw)
    assert [m.timestamp for m in msgs] == [23, 46]


@pytest.mark.parametrize("ts", [0xFFFFFF, 0x1000000, 0xFFFFFFFF])
def test_extended_timestamp_including_type3_continuations(ts: int) -> None:
    payload = os.urandom(300)
    enc = ChunkEncoder(chunk_size=128)
    data = enc.encode(RtmpMessage(9, payload, ts, 1, 6))
    # type 0 header with 0xFFFFFF then 4-byte extended timestamp; each type-3 chunk repeats it
    assert data[1:4] == b"\xff\xff\xff"
    assert data[12:16] == struct.pack(">I", ts)
    assert data[16 + 128] == 0xC6 and data[17 + 128 : 21 + 128] == struct.pack(">I", ts)
    assert len(data) == 16 + 300 + 2 * 5
    assert ChunkDecoder().feed(data) == [RtmpMessage(9, payload, ts, 1, 6)]


def test_extended_delta_then_type3_new_message() -> None:
    enc = ChunkEncoder(chunk_size=128)
    msgs = [
        RtmpMessage(9, b"x" * 10, 0, 1, 6),
        RtmpMessage(9, b"y" * 10, 0x1000000, 1, 6),  # type 2 with extended delta
        RtmpMessage(9, b"z" * 10, 0x2000000, 1, 6),  # type 3, extended delta repeated
    ]
    data = b"".join(enc.encode(m) for m in msgs)
    assert ChunkDecoder().feed(data) == msgs


def test_timestamp_wraps_at_32_bits() -> None:
    raw = _type0(4, 0xFFFFFF, 1, 8, 1) + struct.pack(">I", 0xFFFFFFF0) + b"a"
    raw += bytes((0x80 | 4,)) + (0x20).to_bytes(3, "big") + b"b"
    msgs = ChunkDecoder().feed(raw)
    assert [m.timestamp for m in msgs] == [0xFFFFFFF0, 0x10]


def test_abort_drops_partial_message() -> None:
    enc = ChunkEncoder(chunk_size=128)
    big = enc.encode(RtmpMessage(9, os.urandom(500), 0, 1, 6))
    partial = big[: 12 + 128]
    data = partial + enc.encode(chunk.abort(6)) + _type0(6, 0, 3, 9, 1) + b"new"
    dec = ChunkDecoder()
    msgs = dec.feed(data)
    assert msgs[-1].payload == b"new"
    assert [m.type_id for m in msgs] == [chunk.ABORT, 9]
    assert dec.buffered_bytes == 0


def test_set_chunk_size_applies_to_following_bytes_in_same_feed() -> None:
    enc = ChunkEncoder(chunk_size=128)
    data = enc.encode(chunk.set_chunk_size(1000))
    enc.chunk_size = 1000
    payload = os.urandom(900)
    data += enc.encode(RtmpMessage(9, payload, 0, 1, 6))
    assert len(data) == 16 + 12 + 900  # one chunk for the 900-byte message
    assert ChunkDecoder().feed(data)[-1].payload == payload


@pytest.mark.parametrize("size", [1, 127])
def test_chunk_size_below_128_is_refused(size: int) -> None:
    data = ChunkEncoder().encode(chunk.set_chunk_size(size))
    with pytest.raises(RtmpProtocolError, match="below"):
        ChunkDecoder().feed(data)


def test_chunk_size_above_cap_and_top_bit_refused() -> None:
    with pytest.raises(RtmpProtocolError, match="above"):
        ChunkDecoder().feed(ChunkEncoder().encode(chunk.set_chunk_size(65537)))
    top_bit = _type0(2, 0, 4, 1, 0) + struct.pack(">I", 0x80000100)
    with pytest.raises(RtmpProtocolError, match="top bit"):
        ChunkDecoder().feed(top_bit)
    assert ChunkDecoder(max_chunk_size=1 << 20).feed(ChunkEncoder().encode(chunk.set_chunk_size(65537)))


def test_oversized_message_length_refused_at_the_header() -> None:
    dec = ChunkDecoder(max_message_size=8 * 1024 * 1024)
    with pytest.raises(RtmpProtocolError, match="exceeds"):
        dec.feed(_type0(6, 0, 8 * 1024 * 1024 + 1, 9, 1))  # no payload needed to be refused


def test_length_change_mid_message_refused() -> None:
    raw = _type0(6, 0, 300, 9, 1) + os.urandom(128)
    raw += bytes((0x40 | 6,)) + (0).to_bytes(3, "big") + (400).to_bytes(3, "big") + bytes((9,))
    with pytest.raises(RtmpProtocolError, match="length changed"):
        ChunkDecoder().feed(raw)


def test_new_type0_header_inside_unfinished_message_refused() -> None:
    raw = _type0(6, 0, 300, 9, 1) + os.urandom(128) + _type0(6, 0, 300, 9, 1)
    with pytest.raises(RtmpProtocolError, match="unfinished"):
        ChunkDecoder().feed(raw)


@pytest.mark.parametrize("first", [0x40 | 5, 0x80 | 5, 0xC0 | 5])
def test_unknown_chunk_stream_without_type0_refused(first: int) -> None:
    with pytest.raises(RtmpProtocolError, match="type 0"):
        ChunkDecoder().feed(bytes((first,)) + bytes(16))


def test_buffer_and_chunk_stream_count_limits() -> None:
    dec = ChunkDecoder(max_buffered=1000)
    with pytest.raises(RtmpProtocolError, match="unfinished"):
        dec.feed(_type0(4, 0, 600, 9, 1) + bytes(128) + _type0(5, 0, 600, 9, 1) + bytes(128))
    dec = ChunkDecoder(max_chunk_streams=3)
    data = b"".join(_type0(c, 0, 1, 8, 1) + b"x" for c in (3, 4, 5))
    assert len(dec.feed(data)) == 3
    with pytest.raises(RtmpProtocolError, match="chunk streams"):
        dec.feed(_type0(6, 0, 1, 8, 1) + b"x")


def test_random_garbage_raises_only_protocol_errors() -> None:
    rng = __import__("random").Random(1234)
    raised = 0
    for _ in range(300):
        garbage = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 600)))
        dec = ChunkDecoder(max_message_size=64 * 1024)
        try:
            dec.feed(garbage)
        except RtmpProtocolError:
            raised += 1
    assert raised > 100  # most random inputs are caught; none raise anything else


def test_ack_counter() -> None:
    ack = AckCounter()
    assert ack.received(10**9) is None  # no window announced yet
    ack.window = 1000
    assert ack.received(999) is None
    assert ack.received(1000) == 1000
    assert ack.received(1999) is None
    assert ack.received(2500) == 2500
    assert ack.received(2**32 + 5000) == 5000  # sequence numbers wrap


def test_control_message_payloads() -> None:
    assert chunk.window_ack_size(2_500_000).payload == struct.pack(">I", 2_500_000)
    assert chunk.set_peer_bandwidth(5000, 2).payload == struct.pack(">IB", 5000, 2)
    assert chunk.acknowledgement(7).type_id == chunk.ACKNOWLEDGEMENT
    assert chunk.set_chunk_size(4096).csid == 2
    with pytest.raises(ValueError):
        chunk.set_chunk_size(0)
    with pytest.raises(RtmpProtocolError):
        chunk.parse_u32(RtmpMessage(5, b"\x00"))
