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
timeout is then kept by one timer instead of a timeout per read (:mod:`.fastpath`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from vidlake.live.registry import end_task
from vidlake.live.rtmp import chunk, flv, messages
from vidlake.live.rtmp.chunk import AckCounter, ChunkDecoder, ChunkEncoder, RtmpMessage
from vidlake.live.rtmp.config import RtmpServerConfig
from vidlake.live.rtmp.errors import PublishRefused, RtmpProtocolError
from vidlake.live.rtmp.fastpath import FastPath, TargetFailed
from vidlake.live.rtmp.handshake import HandshakeMode, ServerHandshake
from vidlake.live.rtmp.media import FlvWriter
from vidlake.live.rtmp.messages import Command
from vidlake.live.rtmp.protocols import RtmpStreamProtocol
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


class _Refused(Exception):
    """A publish was refused; the connection ends without a session."""


class RtmpConnection(FastPath):
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
        self._flv = FlvWriter(self.stats)
        self._pending_counted = False
        self._task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self._transport = cast(asyncio.Transport, writer.transport)
        protocol = writer.transport.get_protocol()
        self._proto = protocol if isinstance(protocol, RtmpStreamProtocol) else None
        self._consumed = 0  # bytes taken from the StreamReader
        self._write_flv: Callable[[bytes], Awaitable[None] | None] | None = None
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
        except TargetFailed as exc:
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
            self._flv.media(t, msg.timestamp, msg.payload, flv_out)
        elif t in (chunk.DATA_AMF0, chunk.DATA_AMF3):
            self._flv.data(msg, flv_out)
        elif t == chunk.AGGREGATE:
            for sub in flv.split_aggregate(msg.payload, msg.timestamp):
                if sub.tag_type in (flv.TAG_AUDIO, flv.TAG_VIDEO):
                    self._flv.media(sub.tag_type, sub.timestamp_ms, sub.data, flv_out)

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
            raise TargetFailed() from exc
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
