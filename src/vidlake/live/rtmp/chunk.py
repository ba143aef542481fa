"""RTMP chunk streams: a sans-IO decoder and encoder, plus the protocol control messages.

Chunk layout: basic header (1, 2 or 3 bytes: ``fmt`` in the top two bits, chunk stream id ``csid``)
+ message header (``fmt`` 0: 11 bytes, 1: 7 bytes, 2: 3 bytes, 3: none) + optional 4-byte extended
timestamp (when the 24-bit field is 0xFFFFFF) + up to ``chunk_size`` payload bytes.

Decoder rules (every violation raises :class:`RtmpProtocolError`):

* a chunk stream must start with a type-0 header (no state without a prior type 0);
* a message longer than ``max_message_size`` (default 8 MiB) is refused at its header;
* a message is continued only by type-3 chunks: a type 0/1/2 header on a chunk stream whose message
  is incomplete is an error (a changed length is reported as such);
* Set Chunk Size below 128 or above ``max_chunk_size`` (default 65536), or with the top bit set, is
  refused (the spec allows 1..2^31-1; no real encoder goes below 128, and the cap bounds memory);
* at most ``max_chunk_streams`` (default 64) chunk streams and ``max_buffered`` bytes (default 16 MiB)
  of incomplete messages at once;
* a type-3 chunk after an extended-timestamp header carries the 4-byte extended timestamp too (as
  ffmpeg and librtmp send it);
* a type-3 chunk that *starts* a message reuses the previous header's timestamp field as delta (as
  ffmpeg: after a type-0 header the field is the absolute timestamp).

Set Chunk Size and Abort are applied by the decoder itself (they change how the next bytes parse) and
are also returned to the caller. :class:`AckCounter` tells when to send an Acknowledgement.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final

from vidlake.live.rtmp.errors import RtmpProtocolError

# Message type ids.
SET_CHUNK_SIZE: Final = 1
ABORT: Final = 2
ACKNOWLEDGEMENT: Final = 3
USER_CONTROL: Final = 4
WINDOW_ACK_SIZE: Final = 5
SET_PEER_BANDWIDTH: Final = 6
AUDIO: Final = 8
VIDEO: Final = 9
DATA_AMF3: Final = 15
SHARED_OBJECT_AMF3: Final = 16
COMMAND_AMF3: Final = 17
DATA_AMF0: Final = 18
SHARED_OBJECT_AMF0: Final = 19
COMMAND_AMF0: Final = 20
AGGREGATE: Final = 22

DEFAULT_CHUNK_SIZE: Final = 128
MIN_CHUNK_SIZE: Final = 128
MAX_CHUNK_SIZE_SPEC: Final = 0x7FFFFFFF
DEFAULT_MAX_CHUNK_SIZE: Final = 65536
DEFAULT_MAX_MESSAGE_SIZE: Final = 8 * 1024 * 1024
DEFAULT_MAX_BUFFERED: Final = 16 * 1024 * 1024
DEFAULT_MAX_CHUNK_STREAMS: Final = 64
EXTENDED_TS: Final = 0xFFFFFF

PROTOCOL_CONTROL_CSID: Final = 2

_MSG_HEADER_SIZE: Final = (11, 7, 3, 0)


@dataclass(frozen=True, slots=True)
class RtmpMessage:
    """One RTMP message. ``timestamp`` is in milliseconds (32-bit, wraps)."""

    type_id: int
    payload: bytes
    timestamp: int = 0
    stream_id: int = 0
    csid: int = 0


@dataclass(slots=True)
class _InState:
    timestamp: int = 0
    ts_field: int = 0  # last timestamp field (delta or absolute), extended value when used
    extended: bool = False
    length: int = 0
    type_id: int = 0
    stream_id: int = 0
    partial: bytearray | None = None
    expected: int = 0


class ChunkDecoder:
    """Turns received bytes into :class:`RtmpMessage` objects. Feed bytes with :meth:`feed`."""

    def __init__(
        self,
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
        max_chunk_streams: int = DEFAULT_MAX_CHUNK_STREAMS,
    ) -> None:
        self.chunk_size = DEFAULT_CHUNK_SIZE
        self.max_message_size = max_message_size
        self.max_chunk_size = max_chunk_size
        self.max_buffered = max_buffered
        self.max_chunk_streams = max_chunk_streams
        self.bytes_received = 0
        self._buf = bytearray()
        self._pos = 0
        self._streams: dict[int, _InState] = {}
        self._buffered = 0

    @property
    def buffered_bytes(self) -> int:
        """Bytes held: unparsed input plus payload of incomplete messages."""
        return len(self._buf) - self._pos + sum(len(s.partial) for s in self._streams.values() if s.partial is not None)

    def feed(self, data: bytes | bytearray | memoryview) -> list[RtmpMessage]:
        """Consume ``data``; return the messages completed by it, in order."""
        self.bytes_received += len(data)
        self._buf += data
        out: list[RtmpMessage] = []
        while self._parse_one(out):
            pass
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        return out

    def _parse_one(self, out: list[RtmpMessage]) -> bool:
        buf, pos = self._buf, self._pos
        avail = len(buf) - pos
        if avail < 1:
            return False
        b0 = buf[pos]
        fmt = b0 >> 6
        csid = b0 & 0x3F
        hdr = 1
        if csid == 0:
            if avail < 2:
                return False
            csid = 64 + buf[pos + 1]
            hdr = 2
        elif csid == 1:
            if avail < 3:
                return False
            csid = 64 + buf[pos + 1] + buf[pos + 2] * 256
            hdr = 3
        mh = _MSG_HEADER_SIZE[fmt]
        if avail < hdr + mh:
            return False
        state = self._streams.get(csid)
        if state is None:
            if fmt != 0:
                raise RtmpProtocolError(f"chunk stream {csid} starts with a type-{fmt} header (need type 0)")
            if len(self._streams) >= self.max_chunk_streams:
                raise RtmpProtocolError(f"more than {self.max_chunk_streams} chunk streams")
        p = pos + hdr
        ts_field = length = type_id = stream_id = 0
        if fmt <= 2:
            ts_field = (buf[p] << 16) | (buf[p + 1] << 8) | buf[p + 2]
        if fmt <= 1:
            length = (buf[p + 3] << 16) | (buf[p + 4] << 8) | buf[p + 5]
            type_id = buf[p + 6]
        if fmt == 0:
            stream_id = struct.unpack_from("<I", buf, p + 7)[0]
        p += mh
        if fmt <= 2:
            extended = ts_field == EXTENDED_TS
        else:
            assert state is not None
            extended = state.extended
        if extended:
            if len(buf) < p + 4:
                return False
            ext_value = struct.unpack_from(">I", buf, p)[0]
            p += 4
            if fmt <= 2:
                ts_field = ext_value
        # Work out the message this chunk belongs to, without mutating state yet.
        in_progress = state is not None and state.partial is not None
        if in_progress and fmt != 3:
            assert state is not None
            if fmt <= 1 and length != state.length:
                raise RtmpProtocolError(
                    f"chunk stream {csid}: message length changed from {state.length} to {length} mid-message"
                )
            raise RtmpProtocolError(f"chunk stream {csid}: type-{fmt} header inside an unfinished message")
        if fmt == 3 or fmt == 2:
            assert state is not None
            msg_len = state.length
        else:
            msg_len = length
        if not in_progress and msg_len > self.max_message_size:
            raise RtmpProtocolError(f"message length {msg_len} exceeds the limit {self.max_message_size}")
        have = len(state.partial) if (state is not None and state.partial is not None) else 0
        take = min(self.chunk_size, msg_len - have)
        if len(buf) < p + take:
            return False
        # The whole chunk is here: commit.
        if state is None:
            state = _InState()
            self._streams[csid] = state
        if not in_progress:
            if fmt == 0:
                state.timestamp = ts_field
                state.stream_id = stream_id
            elif fmt in (1, 2):
                state.timestamp = (state.timestamp + ts_field) & 0xFFFFFFFF
            else:  # type 3 starting a new message: same delta as before
                state.timestamp = (state.timestamp + state.ts_field) & 0xFFFFFFFF
            if fmt <= 2:
                state.ts_field = ts_field
                state.extended = extended
            if fmt <= 1:
                state.length = length
                state.type_id = type_id
            if self._buffered + msg_len > self.max_buffered:
                raise RtmpProtocolError(f"more than {self.max_buffered} bytes of unfinished messages")
            self._buffered += msg_len
            state.expected = msg_len
            state.partial = bytearray()
        assert state.partial is not None
        state.partial += buf[p : p + take]
        self._pos = p + take
        if len(state.partial) >= state.expected:
            payload = bytes(state.partial)
            state.partial = None
            self._buffered -= state.expected
            msg = RtmpMessage(state.type_id, payload, state.timestamp, state.stream_id, csid)
            self._apply_control(msg)
            out.append(msg)
        return True

    def _apply_control(self, msg: RtmpMessage) -> None:
        if msg.type_id == SET_CHUNK_SIZE:
            if len(msg.payload) < 4:
                raise RtmpProtocolError("Set Chunk Size: payload shorter than 4 bytes")
            size = struct.unpack_from(">I", msg.payload)[0]
            if size & 0x80000000:
                raise RtmpProtocolError("Set Chunk Size: top bit must be zero")
            if size < MIN_CHUNK_SIZE:
                raise RtmpProtocolError(f"Set Chunk Size: {size} is below {MIN_CHUNK_SIZE}")
            if size > self.max_chunk_size:
                raise RtmpProtocolError(f"Set Chunk Size: {size} is above the limit {self.max_chunk_size}")
            self.chunk_size = size
        elif msg.type_id == ABORT:
            if len(msg.payload) < 4:
                raise RtmpProtocolError("Abort: payload shorter than 4 bytes")
            target = self._streams.get(struct.unpack_from(">I", msg.payload)[0])
            if target is not None and target.partial is not None:
                self._buffered -= target.expected
                target.partial = None


@dataclass(slots=True)
class _OutState:
    timestamp: int = 0
    ts_field: int = 0
    length: int = -1
    type_id: int = -1
    stream_id: int = -1


@dataclass
class ChunkEncoder:
    """Splits messages into chunks. ``compress`` picks type 1/2/3 headers where allowed (as ffmpeg)."""

    chunk_size: int = DEFAULT_CHUNK_SIZE
    compress: bool = True
    _streams: dict[int, _OutState] = field(default_factory=dict)

    @staticmethod
    def _basic_header(fmt: int, csid: int) -> bytes:
        if 2 <= csid <= 63:
            return bytes(((fmt << 6) | csid,))
        if 64 <= csid <= 319:
            return bytes((fmt << 6, csid - 64))
        if 320 <= csid <= 65599:
            v = csid - 64
            return bytes(((fmt << 6) | 1, v & 0xFF, v >> 8))
        raise ValueError(f"chunk stream id {csid} out of range 2..65599")

    def encode(self, msg: RtmpMessage, csid: int | None = None) -> bytes:
        """Encode ``msg`` on ``csid`` (default: ``msg.csid``, or 3 when that is 0)."""
        cs = csid if csid is not None else (msg.csid or 3)
        length = len(msg.payload)
        if length > 0xFFFFFF:
            raise ValueError("message longer than 16 MiB - 1")
        ts = msg.timestamp & 0xFFFFFFFF
        prev = self._streams.get(cs)
        fmt = 0
        ts_field = ts
        if self.compress and prev is not None and prev.stream_id == msg.stream_id and ts >= prev.timestamp:
            ts_field = ts - prev.timestamp
            fmt = 1
            if prev.type_id == msg.type_id and prev.length == length:
                fmt = 3 if ts_field == prev.ts_field else 2
        out = bytearray(self._basic_header(fmt, cs))
        field24 = min(ts_field, EXTENDED_TS)
        if fmt <= 2:
            out += field24.to_bytes(3, "big")
        if fmt <= 1:
            out += length.to_bytes(3, "big") + bytes((msg.type_id,))
        if fmt == 0:
            out += struct.pack("<I", msg.stream_id)
        extended = ts_field >= EXTENDED_TS
        if fmt == 3 and prev is not None:
            extended = prev.ts_field >= EXTENDED_TS
        ext = struct.pack(">I", ts_field) if extended else b""
        out += ext
        payload = msg.payload
        out += payload[: self.chunk_size]
        cont = self._basic_header(3, cs) + ext
        for off in range(self.chunk_size, length, self.chunk_size):
            out += cont
            out += payload[off : off + self.chunk_size]
        self._streams[cs] = _OutState(ts, ts_field, length, msg.type_id, msg.stream_id)
        return bytes(out)


class AckCounter:
    """Decides when to send Acknowledgement messages for the peer's Window Acknowledgement Size.

    Call :meth:`received` with the running total of bytes received; it returns the sequence number
    to acknowledge (total bytes mod 2^32) when at least ``window`` bytes arrived since the last ack.
    """

    def __init__(self, window: int = 0) -> None:
        self.window = window
        self._last_acked = 0

    def received(self, total_bytes: int) -> int | None:
        """Return the sequence number to send in an Acknowledgement, or ``None``."""
        if self.window <= 0 or total_bytes - self._last_acked < self.window:
            return None
        self._last_acked = total_bytes
        return total_bytes & 0xFFFFFFFF


# ------------------------------------------------------------------------ protocol control messages


def _control(type_id: int, payload: bytes) -> RtmpMessage:
    return RtmpMessage(type_id, payload, 0, 0, PROTOCOL_CONTROL_CSID)


def set_chunk_size(size: int) -> RtmpMessage:
    """Set Chunk Size (type 1): ``size`` in bytes, 1..2^31-1."""
    if not 1 <= size <= MAX_CHUNK_SIZE_SPEC:
        raise ValueError(f"chunk size {size} out of range")
    return _control(SET_CHUNK_SIZE, struct.pack(">I", size))


def abort(csid: int) -> RtmpMessage:
    """Abort (type 2): drop the unfinished message on chunk stream ``csid``."""
    return _control(ABORT, struct.pack(">I", csid))


def acknowledgement(sequence: int) -> RtmpMessage:
    """Acknowledgement (type 3): ``sequence`` = bytes received so far (mod 2^32)."""
    return _control(ACKNOWLEDGEMENT, struct.pack(">I", sequence & 0xFFFFFFFF))


def window_ack_size(size: int) -> RtmpMessage:
    """Window Acknowledgement Size (type 5), in bytes."""
    return _control(WINDOW_ACK_SIZE, struct.pack(">I", size))


def set_peer_bandwidth(size: int, limit_type: int = 2) -> RtmpMessage:
    """Set Peer Bandwidth (type 6): window ``size`` in bytes; ``limit_type`` 0 hard, 1 soft, 2 dynamic."""
    return _control(SET_PEER_BANDWIDTH, struct.pack(">IB", size, limit_type))


def parse_u32(msg: RtmpMessage) -> int:
    """The 4-byte big-endian value carried by types 1, 2, 3, 5 and 6."""
    if len(msg.payload) < 4:
        raise RtmpProtocolError(f"message type {msg.type_id}: payload shorter than 4 bytes")
    return int(struct.unpack_from(">I", msg.payload)[0])
