"""AMF0 (Action Message Format 0) encoding and decoding, pure functions.

Python mapping:

========================  ======================================
AMF0 type (marker)        Python value
========================  ======================================
number (0x00)             ``float`` (``int`` is accepted when encoding)
boolean (0x01)            ``bool``
string (0x02)             ``str`` (≤ 65535 UTF-8 bytes)
object (0x03)             ``dict[str, AmfValue]``
null (0x05)               ``None``
undefined (0x06)          :data:`UNDEFINED`
ECMA array (0x08)         :class:`EcmaArray` (a ``dict`` subclass)
object end (0x09)         only inside objects / ECMA arrays
strict array (0x0A)       ``list``
date (0x0B)               :class:`AmfDate` (milliseconds since the Unix epoch)
long string (0x0C)        ``str`` (longer than 65535 bytes; chosen automatically)
XML document (0x0F)       :class:`XmlDocument` (decoded only)
typed object (0x10)       ``dict`` (the class name is dropped when decoding)
========================  ======================================

References (0x07), movie clips, record sets and the switch to AMF3 (0x11) are refused with
:class:`~vidlake.live.rtmp.errors.RtmpProtocolError`. Limits: nesting depth (default 32) and the total
number of decoded values (default 10 000), so a hostile peer cannot make us build huge structures.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Final, TypeAlias, Union

from vidlake.live.rtmp.errors import RtmpProtocolError

NUMBER: Final = 0x00
BOOLEAN: Final = 0x01
STRING: Final = 0x02
OBJECT: Final = 0x03
NULL: Final = 0x05
UNDEFINED_MARKER: Final = 0x06
REFERENCE: Final = 0x07
ECMA_ARRAY: Final = 0x08
OBJECT_END: Final = 0x09
STRICT_ARRAY: Final = 0x0A
DATE: Final = 0x0B
LONG_STRING: Final = 0x0C
UNSUPPORTED: Final = 0x0D
XML_DOCUMENT: Final = 0x0F
TYPED_OBJECT: Final = 0x10
AVMPLUS: Final = 0x11

DEFAULT_MAX_DEPTH: Final = 32
DEFAULT_MAX_VALUES: Final = 10_000


class _Undefined:
    """The AMF0 ``undefined`` value (distinct from ``null``/``None``)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()


class EcmaArray(dict[str, "AmfValue"]):
    """An AMF0 ECMA array (associative array); ``onMetaData`` is usually one."""


@dataclass(frozen=True)
class AmfDate:
    """An AMF0 date: ``ms`` since 1970-01-01 UTC and the (ignored, usually 0) time zone in minutes."""

    ms: float
    timezone_min: int = 0


@dataclass(frozen=True)
class XmlDocument:
    """An AMF0 XML document (its text)."""

    text: str


AmfValue: TypeAlias = Union[  # noqa: UP007 - recursive alias reads better this way
    float, int, bool, str, _Undefined, dict[str, "AmfValue"], list["AmfValue"], AmfDate, XmlDocument, None
]


# --------------------------------------------------------------------------------------------- encode


def _encode_utf8(text: str, out: bytearray, long: bool) -> None:
    raw = text.encode("utf-8")
    if long:
        out += struct.pack(">I", len(raw))
    else:
        if len(raw) > 0xFFFF:
            raise ValueError("AMF0 short string longer than 65535 bytes")
        out += struct.pack(">H", len(raw))
    out += raw


def _encode_props(props: dict[str, AmfValue], out: bytearray, depth: int) -> None:
    for key, value in props.items():
        _encode_utf8(str(key), out, long=False)
        _encode_value(value, out, depth + 1)
    out += b"\x00\x00\x09"


def _encode_value(value: AmfValue, out: bytearray, depth: int) -> None:
    if depth > DEFAULT_MAX_DEPTH:
        raise ValueError("AMF0 value nested too deeply")
    if value is None:
        out.append(NULL)
    elif isinstance(value, _Undefined):
        out.append(UNDEFINED_MARKER)
    elif isinstance(value, bool):
        out += bytes((BOOLEAN, 1 if value else 0))
    elif isinstance(value, int | float):
        out.append(NUMBER)
        out += struct.pack(">d", float(value))
    elif isinstance(value, str):
        raw_len = len(value.encode("utf-8"))
        if raw_len > 0xFFFF:
            out.append(LONG_STRING)
            _encode_utf8(value, out, long=True)
        else:
            out.append(STRING)
            _encode_utf8(value, out, long=False)
    elif isinstance(value, EcmaArray):
        out.append(ECMA_ARRAY)
        out += struct.pack(">I", len(value))
        _encode_props(value, out, depth)
    elif isinstance(value, dict):
        out.append(OBJECT)
        _encode_props(value, out, depth)
    elif isinstance(value, list | tuple):
        out.append(STRICT_ARRAY)
        out += struct.pack(">I", len(value))
        for item in value:
            _encode_value(item, out, depth + 1)
    elif isinstance(value, AmfDate):
        out.append(DATE)
        out += struct.pack(">dh", float(value.ms), value.timezone_min)
    elif isinstance(value, XmlDocument):
        out.append(XML_DOCUMENT)
        _encode_utf8(value.text, out, long=True)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as AMF0")


def encode(*values: AmfValue) -> bytes:
    """Encode ``values`` one after the other (an RTMP command is such a sequence)."""
    out = bytearray()
    for value in values:
        _encode_value(value, out, 0)
    return bytes(out)


# --------------------------------------------------------------------------------------------- decode


class Decoder:
    """Reads AMF0 values from a byte string, with depth and count limits.

    >>> Decoder(encode("connect", 1.0)).read_all()
    ['connect', 1.0]
    """

    def __init__(
        self, data: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH, max_values: int = DEFAULT_MAX_VALUES
    ) -> None:
        self._data = memoryview(data)
        self.pos = 0
        self._max_depth = max_depth
        self._max_values = max_values
        self._count = 0

    @property
    def remaining(self) -> int:
        """Bytes not yet consumed."""
        return len(self._data) - self.pos

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self._data):
            raise RtmpProtocolError(f"AMF0: truncated data (need {n} bytes at offset {self.pos})")
        chunk = bytes(self._data[self.pos : self.pos + n])
        self.pos += n
        return chunk

    def _utf8(self, n: int) -> str:
        try:
            return self._take(n).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RtmpProtocolError("AMF0: string is not valid UTF-8") from exc

    def _short_string(self) -> str:
        (n,) = struct.unpack(">H", self._take(2))
        return self._utf8(n)

    def _long_string(self) -> str:
        (n,) = struct.unpack(">I", self._take(4))
        return self._utf8(n)

    def _props(self, target: dict[str, AmfValue], depth: int) -> None:
        while True:
            key = self._short_string()
            if key == "":
                if self._take(1)[0] != OBJECT_END:
                    raise RtmpProtocolError("AMF0: empty property name without object end marker")
                return
            target[key] = self._value(depth + 1)

    def _value(self, depth: int) -> AmfValue:
        if depth > self._max_depth:
            raise RtmpProtocolError(f"AMF0: nesting deeper than {self._max_depth}")
        self._count += 1
        if self._count > self._max_values:
            raise RtmpProtocolError(f"AMF0: more than {self._max_values} values")
        marker = self._take(1)[0]
        if marker == NUMBER:
            return float(struct.unpack(">d", self._take(8))[0])
        if marker == BOOLEAN:
            return self._take(1)[0] != 0
        if marker == STRING:
            return self._short_string()
        if marker == LONG_STRING:
            return self._long_string()
        if marker == XML_DOCUMENT:
            return XmlDocument(self._long_string())
        if marker == NULL:
            return None
        if marker in (UNDEFINED_MARKER, UNSUPPORTED):
            return UNDEFINED
        if marker == OBJECT:
            obj: dict[str, AmfValue] = {}
            self._props(obj, depth)
            return obj
        if marker == TYPED_OBJECT:
            self._short_string()  # class name, dropped
            typed: dict[str, AmfValue] = {}
            self._props(typed, depth)
            return typed
        if marker == ECMA_ARRAY:
            self._take(4)  # the count is a hint only; many encoders write 0
            arr = EcmaArray()
            self._props(arr, depth)
            return arr
        if marker == STRICT_ARRAY:
            (count,) = struct.unpack(">I", self._take(4))
            if count > self.remaining:  # every value takes at least one byte
                raise RtmpProtocolError(f"AMF0: strict array of {count} items in {self.remaining} bytes")
            return [self._value(depth + 1) for _ in range(count)]
        if marker == DATE:
            ms, tz = struct.unpack(">dh", self._take(10))
            if not math.isfinite(ms):
                raise RtmpProtocolError("AMF0: date is not a finite number")
            return AmfDate(ms, tz)
        if marker == OBJECT_END:
            raise RtmpProtocolError("AMF0: object end marker outside an object")
        if marker == REFERENCE:
            raise RtmpProtocolError("AMF0: references are not supported")
        if marker == AVMPLUS:
            raise RtmpProtocolError("AMF0: switch to AMF3 is not supported")
        raise RtmpProtocolError(f"AMF0: unknown type marker 0x{marker:02x}")

    def read(self) -> AmfValue:
        """Read the next value."""
        return self._value(0)

    def read_all(self) -> list[AmfValue]:
        """Read values until the data is exhausted."""
        values: list[AmfValue] = []
        while self.remaining > 0:
            values.append(self.read())
        return values


def decode(data: bytes) -> AmfValue:
    """Decode exactly one value; trailing bytes are an error."""
    dec = Decoder(data)
    value = dec.read()
    if dec.remaining:
        raise RtmpProtocolError(f"AMF0: {dec.remaining} trailing bytes")
    return value


def decode_all(data: bytes) -> list[AmfValue]:
    """Decode a sequence of values (the body of an RTMP command or data message)."""
    return Decoder(data).read_all()
