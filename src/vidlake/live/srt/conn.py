"""One accepted SRT connection's life: claim the key, authorize, receive MPEG-TS, end.

States: ``authorizing`` -> ``publishing`` -> ``ended`` (while the target stops) -> ``closed``.

* the key is live on another connection (a race the listen callback could not see): closed at once;
* ``authorize`` returns ``None``, raises or times out: the address gets a failure mark and the
  socket is closed after ``refuse_delay_s`` (the caller sees the connection break);
* accepted: the target gets ``on_start``, then ``on_ts`` batches, then ``on_stop(reason)`` exactly once.

Receiving runs in a thread per connection (non-blocking ``srt_recvmsg`` driven by an SRT epoll set,
woken every ``poll_s`` to check idle time and kicks). Each batch is handed to the target on the
asyncio loop and the thread waits for it (back-pressure). Statistics (:mod:`.tsinfo`) are updated
on the loop, so :meth:`SrtConnection.snapshot` needs no lock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from vidlake.live.registry import end_task
from vidlake.live.srt import abi, lib
from vidlake.live.srt.config import SrtServerConfig
from vidlake.live.srt.failures import FailureLog
from vidlake.live.srt.streamid import StreamId
from vidlake.live.srt.target import SrtPublishTarget
from vidlake.live.srt.tsinfo import TsInspector
from vidlake.live.stats import SessionStats
from vidlake.live.target import PublishEnd, PublishInfo, SessionEnded, StopReason

if TYPE_CHECKING:
    from vidlake.live.registry import SessionRegistry

log = logging.getLogger(__name__)

Peer = tuple[str, int]
#: ``authorize("srt", stream_key, peer)`` -> a target for an accepted publish, or ``None`` to refuse.
SrtAuthorize = Callable[[str, str, Peer], Awaitable[SrtPublishTarget | None]]

_BROKEN_STATES = frozenset({abi.SRTS_BROKEN, abi.SRTS_CLOSING, abi.SRTS_CLOSED, abi.SRTS_NONEXIST})


class _TargetFailed(Exception):
    """The publish target raised."""


class SrtConnection:
    """Serves one accepted SRT socket. Create it on the loop and await :meth:`run`."""

    def __init__(
        self,
        sock: int,
        peer: Peer,
        stream_id: StreamId,
        *,
        config: SrtServerConfig,
        authorize: SrtAuthorize,
        registry: SessionRegistry[Any],
        failures: FailureLog,
        url: str,
        on_session_end: SessionEnded | None = None,
    ) -> None:
        self.sock = sock
        self.peer = peer
        self.stream_id = stream_id
        self.key = stream_id.key
        self.config = config
        self.url = url
        self._authorize = authorize
        self._registry = registry
        self._failures = failures
        self._on_session_end = on_session_end
        self.state = "authorizing"
        self.info: PublishInfo | None = None
        self.stop_reason: str | None = None
        self.inspector = TsInspector(config.stats_window_s)
        self._target: SrtPublishTarget | None = None
        self._end: PublishEnd | None = None  # set with the target
        self._claimed = False
        self._pending_counted = False
        self._stopping = threading.Event()
        self._sock_lock = threading.Lock()
        self._sock_closed = False
        self._thread: threading.Thread | None = None
        self._thread_done: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    # ------------------------------------------------------------------------------- public

    @property
    def publishing(self) -> bool:
        """True while a publish session is running."""
        return self.state == "publishing"

    def snapshot(self) -> SessionStats:
        """Statistics of this connection's session (call on the loop)."""
        return self.inspector.snapshot()

    def link_stats(self) -> abi.CBytePerfMon | None:
        """libsrt's link statistics of the socket (``None`` once it is closed)."""
        with self._sock_lock:
            if self._sock_closed:
                return None
            try:
                return lib.bstats(self.sock)
            except lib.SrtError:
                return None

    async def kick(self, reason: str = StopReason.KICKED) -> None:
        """End the connection (and its session) with ``reason``; returns when it is closed."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stopping.set()
        self._close_socket()
        await end_task(self._task, self.config.kick_grace_s)

    async def run(self) -> None:
        """Serve the connection until it ends; never raises (except a second cancellation)."""
        self._task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        self._registry.add_pending(self.peer[0])
        self._pending_counted = True
        reason = StopReason.CLOSED
        try:
            if await self._admit():
                reason = await self._receive()
        except _TargetFailed as exc:
            reason = StopReason.TARGET_ERROR
            log.warning("srt %s: target failed: %r", self.peer, exc.__cause__)
        except asyncio.CancelledError:
            reason = self.stop_reason or StopReason.SHUTDOWN
        except Exception:  # a bug: log it, never take the server down
            log.exception("srt %s: unexpected error", self.peer)
            reason = self.stop_reason or StopReason.CLOSED
        finally:
            await self._finish(reason)

    # ------------------------------------------------------------------------------- phases

    async def _admit(self) -> bool:
        if not self._registry.claim(self.key, self):
            log.info("srt %s: key already live; refusing", self.peer)
            return False
        self._claimed = True
        target: SrtPublishTarget | None = None
        try:
            target = await asyncio.wait_for(self._authorize("srt", self.key, self.peer),
                                            self.config.authorize_timeout_s)
        except Exception:
            log.exception("srt %s: authorize failed", self.peer)
        if target is None:
            self._release()
            self._failures.record(self.peer[0])
            log.info("srt %s: publish refused (unknown stream key)", self.peer)
            if self.config.refuse_delay_s > 0:
                await asyncio.sleep(self.config.refuse_delay_s)
            return False
        self.info = PublishInfo("srt", self.key, self.peer, self.stream_id.query(), "live", self.url)
        self._target = target
        self._end = PublishEnd(target, self.info, self.inspector.snapshot, self._on_session_end, f"srt {self.peer}")
        self._uncount_pending()
        try:
            await target.on_start(self.info)
        except Exception as exc:
            raise _TargetFailed() from exc
        if self._stopping.is_set():  # kicked or shut down during on_start
            return True
        self.state = "publishing"
        log.info("srt %s: publishing", self.peer)
        return True

    async def _receive(self) -> str:
        if self._stopping.is_set():
            return self.stop_reason or StopReason.CLOSED
        self._thread = threading.Thread(target=self._thread_main, name=f"srt-recv-{self.sock}", daemon=True)
        self._thread.start()
        return await asyncio.wrap_future(self._thread_done)

    # ------------------------------------------------------------------------------- receiving thread

    def _thread_main(self) -> None:
        reason = StopReason.CLOSED
        try:
            reason = self._recv_loop()
        except Exception:
            log.exception("srt %s: receive loop failed", self.peer)
        finally:
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                self._thread_done.set_result(reason)

    def _recv_loop(self) -> str:
        cfg = self.config
        assert self._loop is not None
        epoll = lib.Epoll.create()
        buf = ctypes.create_string_buffer(abi.SRT_LIVE_MAX_PLSIZE + 44)
        last_data = time.monotonic()
        try:
            epoll.add(self.sock)
            while not self._stopping.is_set():
                try:
                    events = epoll.wait(cfg.poll_s)
                except lib.SrtError:
                    events = []
                batch = bytearray()
                broken = False
                while len(batch) < cfg.batch_bytes:
                    try:
                        n = lib.recv(self.sock, buf)
                    except lib.SrtError:
                        broken = True
                        break
                    if n is None:
                        break
                    if n > 0:
                        batch += ctypes.string_at(buf, n)
                if batch and not self._stopping.is_set():
                    last_data = time.monotonic()
                    if not self._deliver_from_thread(bytes(batch)):
                        return StopReason.TARGET_ERROR
                if broken or any(ev & abi.SRT_EPOLL_ERR for _fd, ev in events):
                    if not self._drain_tail(buf):
                        return StopReason.TARGET_ERROR
                    return self.stop_reason or StopReason.CLOSED
                if not batch:
                    if lib.sockstate(self.sock) in _BROKEN_STATES:
                        return self.stop_reason or StopReason.CLOSED
                    if time.monotonic() - last_data >= cfg.idle_timeout_s:
                        log.info("srt %s: no data for %.1f s", self.peer, cfg.idle_timeout_s)
                        return self.stop_reason or StopReason.IDLE_TIMEOUT
            return self.stop_reason or StopReason.CLOSED
        finally:
            epoll.close()

    def _drain_tail(self, buf: ctypes.Array[ctypes.c_char]) -> bool:
        """After the caller closed: SRT still holds up to ``latency`` of received packets that are
        released at their play time (TSBPD); read them for that long so the stream's end is kept.
        ``False`` if the target failed."""
        deadline = time.monotonic() + self.config.latency_ms / 1000.0 + 0.25
        while time.monotonic() < deadline and not self._stopping.is_set():
            if lib.sockstate(self.sock) in (abi.SRTS_CLOSED, abi.SRTS_NONEXIST):
                break
            batch = bytearray()
            while len(batch) < self.config.batch_bytes:
                try:
                    n = lib.recv(self.sock, buf)
                except lib.SrtError:
                    n = None
                if not n:
                    break
                batch += ctypes.string_at(buf, n)
            if batch:
                if not self._deliver_from_thread(bytes(batch)):
                    return False
            else:
                time.sleep(0.01)
        return True

    def _deliver_from_thread(self, data: bytes) -> bool:
        assert self._loop is not None
        try:
            fut = asyncio.run_coroutine_threadsafe(self._deliver(data), self._loop)
        except RuntimeError:  # loop closed
            return False
        try:
            fut.result(timeout=self.config.target_timeout_s)
        except concurrent.futures.CancelledError:
            return False
        except TimeoutError:
            fut.cancel()
            log.warning("srt %s: target blocked for %.1f s", self.peer, self.config.target_timeout_s)
            return False
        except Exception as exc:
            log.warning("srt %s: target failed: %r", self.peer, exc)
            return False
        return True

    async def _deliver(self, data: bytes) -> None:
        self.inspector.feed(data)
        if self._target is not None and self.publishing:
            await self._target.on_ts(data)

    # ------------------------------------------------------------------------------- the end

    def _close_socket(self) -> None:
        with self._sock_lock:
            if not self._sock_closed:
                self._sock_closed = True
                lib.close(self.sock)

    def _release(self) -> None:
        if self._claimed:
            self._claimed = False
            self._registry.release(self.key, self)

    def _uncount_pending(self) -> None:
        if self._pending_counted:
            self._pending_counted = False
            self._registry.drop_pending(self.peer[0])

    async def _finish(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or reason
        self._stopping.set()
        self._close_socket()
        try:
            if self._thread is not None and not self._thread_done.done():
                # the thread exits within poll_s once stopping is set; wait so no on_ts follows on_stop
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._thread_done)),
                                           self.config.kick_grace_s + self.config.poll_s)
            self.inspector.flush()
            if self.publishing or self._target is not None:
                self.state = "ended"
            if self._end is not None:
                await self._end(self.stop_reason)
        except asyncio.CancelledError:
            pass
        finally:
            self._release()
            self._uncount_pending()
            self.state = "closed"
            self.closed.set()
