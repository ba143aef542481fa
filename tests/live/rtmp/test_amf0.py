"""AMF0 encode/decode: known bytes, round trips, limits, malformed input."""

from __future__ import annotations

import struct

import pytest

from vidlake.live.rtmp import amf0
from vidlake.live.rtmp.amf0 import UNDEFINED, AmfDate, EcmaArray, XmlDocument
from vidlake.live.rtmp.errors import RtmpProtocolError


def test_known_bytes_from_the_spec_layout() -> None:
    assert amf0.encode(1.5) == b"\x00" + struct.pack(">d", 1.5)
    assert amf0.encode(True, False) == b"\x01\x01\x01\x00"
    assert amf0.encode("ab") == b"\x02\x00\x02ab"
    assert amf0.encode(None) == b"\x05"
    assert amf0.encode(UNDEFINED) == b"\x06"
    assert amf0.encode({"a": 1}) == b"\x03\x00\x01a\x00" + struct.pack(">d", 1.0) + b"\x00\x00\x09"
    assert amf0.encode(EcmaArray(x=None)) == b"\x08\x00\x00\x00\x01\x00\x01x\x05\x00\x00\x09"
    assert amf0.encode(["s"]) == b"\x0a\x00\x00\x00\x01\x02\x00\x01s"
    assert amf0.encode(AmfDate(1000.0)) == b"\x0b" + struct.pack(">dh", 1000.0, 0)


@pytest.mark.parametrize(
    "value",
    [
        0.0,
        -1.25e300,
        True,
        "",
        "héllo wörld ✓",
        None,
        {"app": "live", "tcUrl": "rtmp://x/live", "n": 3.0, "nested": {"deep": [1.0, "x", None]}},
        EcmaArray(width=320.0, height=180.0, encoder="Lavf"),
        [],
        [1.0, [2.0, [3.0]], {"k": False}],
        AmfDate(1.7e12, 60),
        "x" * 70_000,  # long string
        XmlDocument("<a/>"),
    ],
)
def test_round_trip(value: amf0.AmfValue) -> None:
    decoded = amf0.decode(amf0.encode(value))
    assert decoded == value
    assert type(decoded) is type(value)


def test_long_string_marker_is_chosen_automatically() -> None:
    data = amf0.encode("y" * 65_536)
    assert data[0] == amf0.LONG_STRING
    assert struct.unpack(">I", data[1:5])[0] == 65_536
    assert amf0.encode("y" * 65_535)[0] == amf0.STRING


def test_undefined_round_trip_and_sequence() -> None:
    values = amf0.decode_all(amf0.encode("connect", 1, None, UNDEFINED))
    assert values[0] == "connect"
    assert values[1] == 1.0
    assert values[2] is None
    assert values[3] is UNDEFINED


def test_typed_object_decodes_as_dict() -> None:
    data = b"\x10\x00\x03Foo" + b"\x00\x01a\x01\x01" + b"\x00\x00\x09"
    assert amf0.decode(data) == {"a": True}


def test_ecma_array_count_is_only_a_hint() -> None:
    data = b"\x08\x00\x00\x00\x00" + b"\x00\x01a\x05\x00\x01b\x05" + b"\x00\x00\x09"
    assert amf0.decode(data) == {"a": None, "b": None}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x00\x00",  # truncated number
        b"\x02\x00\x05ab",  # string shorter than its length
        b"\x03\x00\x01a\x05",  # object without end
        b"\x03\x00\x00\x05",  # empty key without object end marker
        b"\x09",  # object end alone
        b"\x07\x00\x01",  # reference
        b"\x11\x01",  # AMF3 switch
        b"\x0e",  # unknown marker
        b"\x0a\xff\xff\xff\xff",  # strict array claiming 4G items
        b"\x02\x00\x02\xff\xfe",  # invalid UTF-8
        b"\x0b" + struct.pack(">d", float("nan")) + b"\x00\x00",
    ],
)
def test_malformed_raises_protocol_error(data: bytes) -> None:
    with pytest.raises(RtmpProtocolError):
        amf0.decode(data)


def test_trailing_bytes_refused_by_decode() -> None:
    with pytest.raises(RtmpProtocolError):
        amf0.decode(amf0.encode(1.0) + b"\x05")


def test_depth_limit() -> None:
    nested: amf0.AmfValue = 1.0
    for _ in range(40):
        nested = [nested]
    raw = b"\x0a\x00\x00\x00\x01" * 40 + amf0.encode(1.0)
    with pytest.raises(RtmpProtocolError, match="nesting"):
        amf0.decode(raw)
    assert amf0.Decoder(raw, max_depth=64).read() == nested


def test_value_count_limit() -> None:
    raw = amf0.encode([None] * 500)
    with pytest.raises(RtmpProtocolError, match="values"):
        amf0.Decoder(raw, max_values=100).read()
    assert amf0.decode(raw) == [None] * 500


def test_encode_refuses_unknown_types() -> None:
    with pytest.raises(TypeError):
        amf0.encode(object())  # type: ignore[arg-type,unused-ignore]
