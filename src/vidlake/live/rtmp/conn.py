"""One RTMP connection's life: handshake, connect, createStream, publish, media, end.

States: ``handshake`` -> ``connected`` (after connect) -> ``publishing`` -> ``closed``.

Outcomes of ``publish(name)``:

* the key is live on another connection: the newcomer is refused at once with
  ``onStatus NetStream.Publish.BadName`` and closed; the running publisher is untouched (kick it
  with :meth:`RtmpServer.kick` first to take over a key);
* ``authorize`` returns ``None``, raises, or times out: after ``refuse_delay_s`` the client gets
  ``NetStream.Publish.BadName`` and the connection is closed (one attempt per connection);
  ``authorize`` may raise :class:`~vidlake.live.rtmp.errors.PublishRefused` to choose the status code
  and description sent (e.g. ``NetStream.Publish.Unauthorized``);
* accepted: ``StreamBegin`` + ``NetStream.Publish.Start``; the target gets ``on_start``, then the FLV
  stream, then ``on_stop(reason)`` exactly once.

Socket reads pause while the target consumes a batch (``await target.on_flv``), so a slow target
slows the publisher through TCP flow control and memory stays bounded.

The publishing phase is the hot path (every TCP read of every stream), so once a publish is accepted the
connection takes the received bytes synchronously in the protocol's ``data_received``
(:class:`RtmpStreamProtocol` ``sink``) instead of waking its task for each read: audio, video and data
messages are turned into FLV there and handed to the target's optional synchronous ``write_flv`` (see
:class:`~vidlake.live.rtmp.target.PublishTarget`). Whatever needs to wait (commands and their replies, a
target without ``write_flv`` or one asking for back-pressure, errors, the end of the stream) is queued for
the connection's task in order, and socket reads are paused until the task has dealt with it. The idle
timeout is then kept by one timer instead of a timeout per read.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, cast

from vidlake.live.registry import end_task
from vidlake.live.rtmp import amf0, chunk, flv, messages
from vidlake.live.rtmp.amf0 import EcmaArray
from vidlake.live.rtmp.chunk import AckCounter, ChunkDecoder, ChunkEncoder, RtmpMessage
from vidlake.live.rtmp.config import RtmpServerConfig
from vidlake.live.rtmp.errors import PublishRefused, RtmpProtocolError
from vidlake.live.rtmp.handshake import HandshakeMode, ServerHandshake
from vidlake.live.rtmp.messages import Command
from vidlake.live.rtmp.target import PublishTarget
from vidlake.live.stats import SessionStats, StatsTracker
from vidlake.live.target import PublishEnd, PublishInfo, SessionEnded, StopReason

if TYPE_CHECKING:
    from vidlake.live.registry import SessionRegistry

log = logging.getLogger(__name__)

Peer = tuple[str, int]
#: ``authorize(app, stream_key, peer)`` -> a target for an accepted publish, or ``None`` to refuse.
Authorize = Callable[[str, str, Peer], Awaitable[PublishTarget | None]]

MAX_MESSAGE_STREAMS = 8


class _TargetFailed(Exception):
    """The publish target raised."""


class _Refused(Exception):
    """A publish was refused; the connection ends without a session."""


class RtmpStreamProtocol(asyncio.StreamReaderProtocol):
    """The :class:`asyncio.StreamReaderProtocol` of RTMP connections; ``fed`` counts the bytes given to
    the StreamReader (so that the connection knows what is still buffered when it switches to
    :class:`SinkProtocol`)."""

    def __init__(self, reader: asyncio.StreamReader, connected: Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                 Awaitable[None]], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(reader, connected, loop=loop)
        self.fed = 0

    def data_received(self, data: bytes) -> None:
        self.fed += len(data)
        super().data_received(data)


class SinkProtocol(asyncio.BufferedProtocol):
    """Takes over a connection's transport from ``inner`` (a StreamReaderProtocol, which keeps serving the
    StreamWriter's flow control and close): received bytes land in one reused buffer of ``size`` bytes and
    are handed to ``sink`` as a memoryview (valid during the call only); ``on_close`` is called at EOF and
    when the connection is lost."""

    def __init__(self, inner: asyncio.StreamReaderProtocol, sink: Callable[[memoryview], None],
                 on_close: Callable[[], None], size: int) -> None:
        self.inner = inner
        self.sink = sink
        self.on_close = on_close
        self._buf = bytearray(size)
        self._view = memoryview(self._buf)

    def get_buffer(self, sizehint: int) -> bytearray:
        return self._buf

    def buffer_updated(self, nbytes: int) -> None:
        self.sink(self._view[:nbytes])

    def eof_received(self) -> bool | None:
        keep_open = self.inner.eof_received()
        self.on_close()
        return keep_open

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)
        self.on_close()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


#: Read pauses shorter than this are not worth their timer (seconds).
PACE_MIN_S: Final = 0.01
_NOTHING_TO_DO: Final = frozenset((chunk.SET_CHUNK_SIZE, chunk.ABORT, chunk.ACKNOWLEDGEMENT, chunk.SET_PEER_BANDWIDTH))
_MEDIA: Final = frozenset((chunk.AUDIO, chunk.VIDEO))
_DATA: Final = frozenset((chunk.DATA_AMF0, chunk.DATA_AMF3))


class RtmpConnection:
    """Serves one TCP connection. Create it and await :meth:`run`; it closes the socket at the end."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        config: RtmpServerConfig,
        authorize: Authorize,
        registry: SessionRegistry[RtmpConnection],
        on_session_end: SessionEnded | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.config = config
        self._authorize = authorize
        self._registry = registry
        self._on_session_end = on_session_end
        peer = writer.get_extra_info("peername")
        self.peer: Peer = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else ("?", 0)
        self.accepted_at = time.monotonic()
        self.state = "handshake"
        self.handshake_mode: HandshakeMode | None = None
        self.app: str | None = None
        self.tc_url = ""
        self.key: str | None = None
        self.info: PublishInfo | None = None
        self.stop_reason: str | None = None
        self.stats = StatsTracker(config.stats_window_s)
        self._decoder = ChunkDecoder(
            max_message_size=config.max_message_size,
            max_chunk_size=config.max_chunk_size,
            max_buffered=config.max_buffered,
            max_chunk_streams=config.max_chunk_streams,
        )
        self._encoder = ChunkEncoder(chunk_size=chunk.DEFAULT_CHUNK_SIZE, compress=False)
        self._ack = AckCounter()
        self._streams: set[int] = set()
        self._next_stream_id = 1
        self._publish_stream_id: int | None = None
        self._target: PublishTarget | None = None
        self._end: PublishEnd | None = None  # set when the target is started
        self._flv_header_sent = False
        self._pending_counted = False
        self._task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self._transport = cast(asyncio.Transport, writer.transport)
        protocol = writer.transport.get_protocol()
        self._proto = protocol if isinstance(protocol, RtmpStreamProtocol) else None
        self._consumed = 0  # bytes taken from the StreamReader
        self._write_flv: Callable[[bytes], Awaitable[None] | None] | None = None
        self._video_infos: dict[int, flv.VideoInfo] = {}
        self._audio_infos: dict[int, flv.AudioInfo] = {}
        self._deferred: deque[tuple[str, Any]] = deque()  # work for the task, in order (fast path)
        self._wake: asyncio.Future[None] | None = None
        self._last_rx = 0.0  # loop time of the last received bytes (fast path)
        self._clock: Callable[[], float] = time.monotonic  # the loop's clock once on the fast path
        self._watchdog: asyncio.TimerHandle | None = None
        self._slack: Callable[[], float] | None = None  # the target's slack_s (read pacing)
        self._pace_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------------------- public

    @property
    def publishing(self) -> bool:
        """True while a publish session is running."""
        return self.state == "publishing"

    def snapshot(self) -> SessionStats:
        """Statistics of this connection's session."""
        return self.stats.snapshot()

    async def kick(self, reason: str = StopReason.KICKED) -> None:
        """End the connection (and its session) with ``reason``; returns when it is closed."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._writer.transport.abort()
        await end_task(self._task, self.config.kick_grace_s)

    async def run(self) -> None:
        """Serve the connection until it ends; never raises (except a second cancellation)."""
        self._task = asyncio.current_task()
        self._registry.add_pending(self.peer[0])
        self._pending_counted = True
        reason = StopReason.CLOSED
        try:
            await self._handshake()
            await self._message_loop()
            reason = self.stop_reason or StopReason.CLOSED
        except TimeoutError:
            reason = self.stop_reason or StopReason.IDLE_TIMEOUT
            log.info("rtmp %s: timeout in state %s", self.peer, self.state)
        except RtmpProtocolError as exc:
            reason = self.stop_reason or StopReason.PROTOCOL_ERROR
            log.info("rtmp %s: protocol error: %s", self.peer, exc)
        except _TargetFailed as exc:
            reason = StopReason.TARGET_ERROR
            log.warning("rtmp %s: target failed: %r", self.peer, exc.__cause__)
        except _Refused:
            reason = self.stop_reason or StopReason.CLOSED
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            reason = self.stop_reason or StopReason.CLOSED
        except asyncio.CancelledError:
            reason = self.stop_reason or StopReason.SHUTDOWN
        except Exception:  # a bug: log it, never take the server down
            log.exception("rtmp %s: unexpected error", self.peer)
            reason = self.stop_reason or StopReason.PROTOCOL_ERROR
        finally:
            await self._finish(reason)

    # ------------------------------------------------------------------------------- I/O helpers

    def _read_timeout(self) -> float:
        if self.state == "publishing":
            return self.config.idle_timeout_s
        if self.state == "unpublished":  # FCUnpublish seen; wait briefly for deleteStream or EOF
            return min(self.config.idle_timeout_s, 2.0)
        left = self.accepted_at + self.config.publish_timeout_s - time.monotonic()
        if left <= 0:
            raise TimeoutError("no publish within publish_timeout_s")
        return min(left, self.config.idle_timeout_s)

    async def _read(self, timeout: float) -> bytes:
        # asyncio.timeout, not wait_for: no task per read (this runs for every TCP read of every stream)
        async with asyncio.timeout(timeout):
            data = await self._reader.read(self.config.read_size)
        self._consumed += len(data)
        return data

    async def _send(self, *msgs: RtmpMessage) -> None:
        for msg in msgs:
            self._writer.write(self._encoder.encode(msg))
            if msg.type_id == chunk.SET_CHUNK_SIZE:
                self._encoder.chunk_size = chunk.parse_u32(msg)
        await asyncio.wait_for(self._writer.drain(), self.config.idle_timeout_s)

    # ------------------------------------------------------------------------------- phases

    async def _handshake(self) -> None:
        hs = ServerHandshake()
        deadline = self.accepted_at + self.config.handshake_timeout_s
        while not hs.done:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("handshake timeout")
            data = await self._read(left)
            if not data:
                raise ConnectionResetError("closed during handshake")
            self.stats.add_bytes(len(data))
            out = hs.feed(data)
            if out:
                self._writer.write(out)
                await asyncio.wait_for(self._writer.drain(), left)
        self.handshake_mode = hs.mode
        self.state = "handshaken"
        if hs.leftover:
            await self._handle_bytes(hs.leftover)

    async def _message_loop(self) -> None:
        while self.state != "closed":
            if self.state == "publishing" and self._proto is not None:
                await self._fast_path(self._proto)
                return
            data = await self._read(self._read_timeout())
            if not data:
                return
            self.stats.add_bytes(len(data))
            await self._handle_bytes(data)

    async def _handle_bytes(self, data: bytes) -> None:
        await self._handle_messages(self._decoder.feed(data))

    async def _handle_messages(self, msgs: list[RtmpMessage]) -> None:
        flv_out = bytearray()
        for msg in msgs:
            if flv_out and msg.type_id in (chunk.COMMAND_AMF0, chunk.COMMAND_AMF3):
                # a command may end the session: deliver the media that came before it first
                await self._to_target(bytes(flv_out))
                flv_out.clear()
            await self._handle_message(msg, flv_out)
            if self.state == "closed":
                break
        seq = self._ack.received(self.stats.bytes_received)
        if seq is not None and self.state != "closed":
            await self._send(chunk.acknowledgement(seq))
        if flv_out:
            await self._to_target(bytes(flv_out))

    # ------------------------------------------------------------------------------- fast path

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
                    self._media(t, msg.timestamp, msg.payload, flv_out)
                elif t in _NOTHING_TO_DO:
                    pass
                elif t == chunk.WINDOW_ACK_SIZE:
                    self._ack.window = chunk.parse_u32(msg)
                elif t in _DATA and publishing and msg.stream_id == sid:
                    self._data(msg, flv_out)
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
            failed = _TargetFailed()
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

    async def _wait_target(self, wait: Awaitable[None]) -> None:
        try:
            async with asyncio.timeout(self.config.target_timeout_s):
                await wait
        except Exception as exc:
            raise _TargetFailed() from exc

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
            raise _TargetFailed() from exc

    # ------------------------------------------------------------------------------- messages

    async def _handle_message(self, msg: RtmpMessage, flv_out: bytearray) -> None:
        t = msg.type_id
        if t in (chunk.SET_CHUNK_SIZE, chunk.ABORT, chunk.ACKNOWLEDGEMENT, chunk.SET_PEER_BANDWIDTH):
            return  # the decoder applied chunk size / abort; acks and bandwidth need nothing
        if t == chunk.WINDOW_ACK_SIZE:
            self._ack.window = chunk.parse_u32(msg)
            return
        if t == chunk.USER_CONTROL:
            event, data = messages.parse_user_control(msg)
            if event == messages.PING_REQUEST and len(data) >= 4:
                await self._send(messages.user_control(messages.PING_RESPONSE, int.from_bytes(data[:4], "big")))
            return
        if t in (chunk.COMMAND_AMF0, chunk.COMMAND_AMF3):
            await self._handle_command(messages.parse_command(msg))
            return
        if not self.publishing or msg.stream_id != self._publish_stream_id:
            return  # media/data outside a publish is dropped
        if t in (chunk.AUDIO, chunk.VIDEO):
            self._media(t, msg.timestamp, msg.payload, flv_out)
        elif t in (chunk.DATA_AMF0, chunk.DATA_AMF3):
            self._data(msg, flv_out)
        elif t == chunk.AGGREGATE:
            for sub in flv.split_aggregate(msg.payload, msg.timestamp):
                if sub.tag_type in (flv.TAG_AUDIO, flv.TAG_VIDEO):
                    self._media(sub.tag_type, sub.timestamp_ms, sub.data, flv_out)

    def _flv_header(self, flv_out: bytearray) -> None:
        if not self._flv_header_sent:
            flv_out += flv.header(audio=True, video=True)
            self._flv_header_sent = True

    def _media(self, type_id: int, timestamp_ms: int, body: bytes, flv_out: bytearray) -> None:
        if not body:
            return
        if type_id == chunk.VIDEO:
            self.stats.on_video(self._video_info(body), timestamp_ms, len(body))
        else:
            self.stats.on_audio(self._audio_info(body), timestamp_ms, len(body))
        if not self._flv_header_sent:
            self._flv_header(flv_out)
        flv.append_tag(flv_out, type_id, timestamp_ms, body)

    def _video_info(self, body: bytes) -> flv.VideoInfo:
        """:func:`flv.parse_video`, cached for coded frames of legacy AVC/HEVC/AV1 (what the statistics
        need depends on the first byte only; the composition time is not kept)."""
        b0 = body[0]
        if len(body) >= 5 and body[1] == 1 and not b0 & 0x80:
            info = self._video_infos.get(b0)
            if info is None:
                info = self._video_infos[b0] = dataclasses.replace(flv.parse_video(body), composition_time_ms=0)
            return info
        return flv.parse_video(body)

    def _audio_info(self, body: bytes) -> flv.AudioInfo:
        """:func:`flv.parse_audio`, cached for legacy frames other than AAC sequence headers."""
        b0 = body[0]
        fmt = b0 >> 4
        if fmt != 9 and (fmt != 10 or (len(body) >= 2 and body[1] != 0)):
            info = self._audio_infos.get(b0)
            if info is None:
                info = self._audio_infos[b0] = flv.parse_audio(body)
            return info
        return flv.parse_audio(body)

    def _data(self, msg: RtmpMessage, flv_out: bytearray) -> None:
        values = messages.parse_data(msg)
        meta = messages.metadata_from_data(values)
        if meta is not None:
            self.stats.on_metadata(meta)
            body = amf0.encode("onMetaData", EcmaArray(meta))
        elif values and values[0] == "@setDataFrame":
            body = amf0.encode(*values[1:])
        elif values:
            body = amf0.encode(*values)
        else:
            return
        self._flv_header(flv_out)
        flv_out += flv.tag(flv.TAG_SCRIPT, msg.timestamp, body)

    async def _handle_command(self, cmd: Command) -> None:
        name = cmd.name
        tx = cmd.transaction_id
        if self.app is None and name != "connect":
            raise RtmpProtocolError(f"command {name!r} before connect")
        if name == "connect":
            await self._on_connect(cmd)
        elif name in ("releaseStream", "FCPublish"):
            if name == "FCPublish":
                await self._send(messages.on_fc_publish(description=cmd.arg_str(0) or ""))
            if tx:
                await self._send(messages.simple_result(tx))
        elif name == "createStream":
            if len(self._streams) >= MAX_MESSAGE_STREAMS:
                raise RtmpProtocolError("too many createStream calls")
            sid = self._next_stream_id
            self._next_stream_id += 1
            self._streams.add(sid)
            await self._send(messages.create_stream_result(tx, sid))
        elif name == "publish":
            await self._on_publish(cmd)
        elif name in ("FCUnpublish", "closeStream"):
            if tx:
                await self._send(messages.simple_result(tx))
            if self.publishing:
                self.stop_reason = self.stop_reason or StopReason.UNPUBLISHED
            await self._end_session(StopReason.UNPUBLISHED)
        elif name == "deleteStream":
            await self._end_session(StopReason.UNPUBLISHED)
            self.state = "closed"
            self.stop_reason = self.stop_reason or StopReason.UNPUBLISHED
        elif name == "play":
            sid = cmd.stream_id
            await self._send(
                messages.on_status(sid, messages.PLAY_FAILED, "this server only accepts publishing", "error")
            )
            raise _Refused()
        elif tx:
            log.debug("rtmp %s: ignoring command %r", self.peer, name)

    async def _on_connect(self, cmd: Command) -> None:
        if self.app is not None:
            raise RtmpProtocolError("second connect on one connection")
        obj = cmd.command_object
        if not isinstance(obj, dict) or not isinstance(obj.get("app"), str):
            raise RtmpProtocolError("connect without an app")
        app = obj["app"]
        assert isinstance(app, str)
        self.app = messages.normalize_app(app)
        tc_url = obj.get("tcUrl")
        self.tc_url = tc_url if isinstance(tc_url, str) else ""
        self.state = "connected"
        await self._send(
            chunk.window_ack_size(self.config.window_ack_size),
            chunk.set_peer_bandwidth(self.config.window_ack_size, 2),
            chunk.set_chunk_size(self.config.out_chunk_size),
            messages.connect_result(cmd.transaction_id),
        )

    async def _refuse(
        self, stream_id: int, description: str, delay_s: float, code: str = messages.PUBLISH_BAD_NAME
    ) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            await self._send(messages.on_status(stream_id, code, description, "error"))
        self.state = "closed"
        raise _Refused()

    async def _on_publish(self, cmd: Command) -> None:
        sid = cmd.stream_id
        if self.state == "publishing" or self.key is not None:
            raise RtmpProtocolError("second publish on one connection")
        if sid not in self._streams:
            raise RtmpProtocolError(f"publish on message stream {sid} that was not created")
        raw_name = cmd.arg_str(0)
        if not raw_name:
            await self._refuse(sid, "missing stream key", self.config.refuse_delay_s)
            return
        name = messages.split_stream_name(raw_name)
        app = self.app or ""
        if not name.key or not self._registry.claim(name.key, self):
            # Documented outcome: the running publisher keeps the key; the newcomer is refused.
            log.info("rtmp %s: key already live or empty; refusing", self.peer)
            await self._refuse(sid, "stream key is already live", 0.0)
            return
        self.key = name.key
        target: PublishTarget | None = None
        code, description = messages.PUBLISH_BAD_NAME, "unknown stream key"
        try:
            target = await asyncio.wait_for(self._authorize(app, name.key, self.peer), self.config.authorize_timeout_s)
        except PublishRefused as exc:
            code, description = exc.code, str(exc)
        except Exception:
            log.exception("rtmp %s: authorize failed", self.peer)
        if target is None:
            self._registry.release(name.key, self)
            self.key = None
            log.info("rtmp %s: publish refused for app %r", self.peer, app)
            await self._refuse(sid, description, self.config.refuse_delay_s, code)
            return
        publish_type = cmd.arg_str(1) or "live"
        self.info = PublishInfo(app, name.key, self.peer, name.query, publish_type, self.tc_url)
        self._target = target
        write_flv = getattr(target, "write_flv", None)
        self._write_flv = write_flv if callable(write_flv) else None
        slack = getattr(target, "slack_s", None)
        self._slack = slack if callable(slack) and self.config.pace_max_s > 0 else None
        self._publish_stream_id = sid
        self._uncount_pending()
        self._end = PublishEnd(target, self.info, self.stats.snapshot, self._on_session_end, f"rtmp {self.peer}")
        try:
            await target.on_start(self.info)
        except Exception as exc:
            raise _TargetFailed() from exc
        self.state = "publishing"
        await self._send(
            messages.user_control(messages.STREAM_BEGIN, sid),
            messages.publish_start(sid, "stream"),
        )
        log.info("rtmp %s: publishing app=%r (%s handshake)", self.peer, app, self.handshake_mode)

    # ------------------------------------------------------------------------------- the end

    def _uncount_pending(self) -> None:
        if self._pending_counted:
            self._pending_counted = False
            self._registry.drop_pending(self.peer[0])

    async def _end_session(self, reason: str) -> None:
        if self.state == "publishing":
            self.state = "unpublished"
        if self._end is not None:
            await self._end(reason)
        if self.key is not None:
            self._registry.release(self.key, self)

    async def _finish(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or reason
        try:
            await self._end_session(self.stop_reason)
        except asyncio.CancelledError:
            pass
        finally:
            if self.key is not None:
                self._registry.release(self.key, self)
            self._uncount_pending()
            self.state = "closed"
            await self._close_socket()
            self.closed.set()

    async def _close_socket(self) -> None:
        """Flush what is queued (e.g. a BadName status) for up to a second, then drop the socket."""
        try:
            if not self._writer.transport.is_closing():
                self._writer.close()
                await asyncio.wait_for(self._writer.wait_closed(), 1.0)
        except (asyncio.CancelledError, Exception):
            pass
        finally:
            self._writer.transport.abort()
