"""The publishing hot path of an RTMP connection, and how bytes reach its target (see :mod:`.conn`'s module
doc): once a publish is accepted,
received bytes are taken synchronously in the protocol (:class:`~.protocols.SinkProtocol`), media goes
to the target's ``write_flv`` at once, and what must wait is queued for the connection's task in order
while socket reads are paused; the idle timeout is one timer; reads are paced by the target's slack.

:class:`FastPath` is a part of :class:`~.conn.RtmpConnection` (its base class): the attributes and
methods it declares below are the connection's.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Final

from vidlake.live.rtmp import chunk
from vidlake.live.rtmp.chunk import AckCounter, ChunkDecoder, ChunkEncoder, RtmpMessage
from vidlake.live.rtmp.config import RtmpServerConfig
from vidlake.live.rtmp.media import FlvWriter
from vidlake.live.rtmp.protocols import RtmpStreamProtocol, SinkProtocol
from vidlake.live.rtmp.target import PublishTarget
from vidlake.live.stats import StatsTracker

#: Read pauses shorter than this are not worth their timer (seconds).
PACE_MIN_S: Final = 0.01
_NOTHING_TO_DO: Final = frozenset((chunk.SET_CHUNK_SIZE, chunk.ABORT, chunk.ACKNOWLEDGEMENT, chunk.SET_PEER_BANDWIDTH))
_MEDIA: Final = frozenset((chunk.AUDIO, chunk.VIDEO))
_DATA: Final = frozenset((chunk.DATA_AMF0, chunk.DATA_AMF3))


class TargetFailed(Exception):
    """The publish target raised."""


class FastPath:
    """The fast path of :class:`~.conn.RtmpConnection`."""

    # the connection's state this part reads and writes
    config: RtmpServerConfig
    state: str
    stats: StatsTracker
    _reader: asyncio.StreamReader
    _writer: asyncio.StreamWriter
    _transport: asyncio.Transport
    _consumed: int
    _decoder: ChunkDecoder
    _encoder: ChunkEncoder
    _ack: AckCounter
    _flv: FlvWriter
    _publish_stream_id: int | None
    _write_flv: Callable[[bytes], Awaitable[None] | None] | None
    _deferred: deque[tuple[str, Any]]
    _wake: asyncio.Future[None] | None
    _last_rx: float
    _clock: Callable[[], float]
    _watchdog: asyncio.TimerHandle | None
    _slack: Callable[[], float] | None
    _pace_timer: asyncio.TimerHandle | None
    _target: PublishTarget | None

    @property
    def publishing(self) -> bool:
        raise NotImplementedError

    # the connection's methods this part calls
    def _read_timeout(self) -> float:
        raise NotImplementedError

    async def _handle_messages(self, msgs: list[RtmpMessage]) -> None:
        raise NotImplementedError

    async def _fast_path(self, proto: RtmpStreamProtocol) -> None:
        """Serve the rest of the connection with bytes taken in ``data_received`` (see the module doc)."""
        loop = asyncio.get_running_loop()
        pending = proto.fed - self._consumed
        buffered = await self._reader.readexactly(pending) if pending > 0 else b""  # no wait: already here
        self._consumed += len(buffered)
        self._clock = loop.time
        self._transport.set_protocol(SinkProtocol(proto, self._on_data, self._on_close, self.config.read_size))
        self._last_rx = loop.time()
        if buffered:
            self._on_data(buffered)
        if self._reader.at_eof() or self._writer.transport.is_closing():
            self._on_close()
        self._arm_watchdog()
        try:
            while True:
                while not self._deferred:
                    self._wake = loop.create_future()
                    await self._wake
                while self._deferred:
                    kind, value = self._deferred[0]
                    if kind == "eof":
                        return
                    if kind == "error":
                        raise value
                    if kind == "timeout":
                        raise TimeoutError("nothing received for idle_timeout_s")
                    if kind == "flv":
                        await self._to_target(value)
                    elif kind == "wait":
                        await self._wait_target(value)
                    else:  # "msgs"
                        await self._handle_messages(value)
                    self._deferred.popleft()
                    if self.state == "closed":
                        return
                self._last_rx = loop.time()
                if self._pace_timer is None:
                    self._transport.resume_reading()
        finally:
            if not self._transport.is_closing():  # give the connection back to the StreamReader
                self._transport.pause_reading()
                self._transport.set_protocol(proto)
            if self._watchdog is not None:
                self._watchdog.cancel()
            if self._pace_timer is not None:
                self._pace_timer.cancel()
                self._pace_timer = None
            for kind, value in self._deferred:
                if kind == "wait" and asyncio.iscoroutine(value):
                    value.close()
            self._deferred.clear()

    def _on_data(self, data: bytes | memoryview) -> None:
        """The sink: parse, turn media into FLV for the target at once, defer the rest to the task."""
        self._last_rx = self._clock()
        self.stats.add_bytes(len(data))
        try:
            msgs = self._decoder.feed(data)
            flv_out = bytearray()
            publishing = self.state == "publishing"
            sid = self._publish_stream_id
            n = len(msgs)
            i = 0
            while i < n:
                msg = msgs[i]
                t = msg.type_id
                if t in _MEDIA and publishing and msg.stream_id == sid:
                    self._flv.media(t, msg.timestamp, msg.payload, flv_out)
                elif t in _NOTHING_TO_DO:
                    pass
                elif t == chunk.WINDOW_ACK_SIZE:
                    self._ack.window = chunk.parse_u32(msg)
                elif t in _DATA and publishing and msg.stream_id == sid:
                    self._flv.data(msg, flv_out)
                else:
                    break  # commands, user control, aggregates, strays: the task handles them in order
                i += 1
        except Exception as exc:  # RtmpProtocolError, or a bug: the task raises it (never the transport)
            self._defer("error", exc)
            return
        seq = self._ack.received(self.stats.bytes_received)
        if seq is not None:
            self._writer.write(self._encoder.encode(chunk.acknowledgement(seq)))
        if flv_out:
            self._flv_now(bytes(flv_out))
        if i < n:
            self._defer("msgs", msgs[i:])
        elif self._slack is not None and not self._deferred and len(data) < self.config.read_size:
            self._pace(self._slack())  # (after a full read, more is probably waiting: read it at once)

    def _pace(self, slack_s: float) -> None:
        """Stop reading while the target can wait: ``slack_s`` (from its ``slack_s()``) less
        ``pace_margin_s``, at most ``pace_max_s``.

        A publisher writes each chunk's header and payload separately, and with Nagle's algorithm (ffmpeg
        and others leave it on) the payload leaves only once the header is acknowledged, which the kernel
        does when the header is read: reading every arrival costs about two wake-ups per RTMP message.
        While reading is paused the data queues in the kernel and arrives in one read; the target says
        how long nothing urgent can come (e.g. until the keyframe that closes the open segment, which is
        then read the moment it arrives), so pacing delays no segment or part.
        """
        pause = min(slack_s - self.config.pace_margin_s, self.config.pace_max_s)
        if pause < PACE_MIN_S:
            return
        self._transport.pause_reading()
        self._pace_timer = asyncio.get_running_loop().call_later(pause, self._unpace)

    def _unpace(self) -> None:
        self._pace_timer = None
        if not self._deferred and self.state != "closed":  # with work queued, the task resumes reading
            self._transport.resume_reading()

    def _flv_now(self, data: bytes) -> None:
        if self._deferred or self._write_flv is None:
            self._defer("flv", data)
            return
        try:
            wait = self._write_flv(data)
        except Exception as exc:
            failed = TargetFailed()
            failed.__cause__ = exc
            self._defer("error", failed)
            return
        if wait is not None:
            self._defer("wait", wait)

    def _defer(self, kind: str, value: Any = None) -> None:
        """Queue work for the task and stop reading until it is done."""
        self._deferred.append((kind, value))
        self._transport.pause_reading()
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def _on_close(self) -> None:
        if not self._deferred or self._deferred[-1][0] != "eof":
            self._defer("eof")

    def _arm_watchdog(self) -> None:
        loop = asyncio.get_running_loop()
        self._watchdog = loop.call_at(self._last_rx + self._read_timeout(), self._watch)

    def _watch(self) -> None:
        """The idle timeout of the fast path: nothing received for ``_read_timeout()`` while reading."""
        if self.state == "closed":
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._deferred:  # the task is busy (the target has its own timeout): not idle
            self._watchdog = loop.call_at(now + self._read_timeout(), self._watch)
            return
        deadline = self._last_rx + self._read_timeout()
        if now >= deadline:
            self._defer("timeout")
        else:
            self._watchdog = loop.call_at(deadline, self._watch)

    # ------------------------------------------------------------------------------- to the target (both paths)

    async def _wait_target(self, wait: Awaitable[None]) -> None:
        try:
            async with asyncio.timeout(self.config.target_timeout_s):
                await wait
        except Exception as exc:
            raise TargetFailed() from exc

    async def _to_target(self, data: bytes) -> None:
        if self._target is None or not self.publishing:
            return
        try:
            async with asyncio.timeout(self.config.target_timeout_s):
                if self._write_flv is not None:
                    wait = self._write_flv(data)
                    if wait is not None:
                        await wait
                else:
                    await self._target.on_flv(data)
        except Exception as exc:  # includes TimeoutError: a target stuck that long is broken
            raise TargetFailed() from exc
