"""The SRT ingest listener (libsrt through ctypes): accepts callers and runs one :class:`SrtConnection` each.

Usage::

    async def authorize(app: str, key: str, peer: tuple[str, int]) -> SrtPublishTarget | None:
        return TsFileTarget(f"/tmp/{key}.ts") if key == "secret" else None   # app is "srt"

    async with SrtServer(authorize, host="127.0.0.1", port=0) as server:
        print(server.port)            # the bound UDP port (random when 0)
        ...
        await server.kick("secret")   # e.g. after a stream key reset

Publishers use ``srt://host:port?streamid=KEY`` (or ``streamid=#!::r=KEY,m=publish``), live mode,
MPEG-TS payload. Decisions that need no I/O are taken in libsrt's listen callback, before the
connection exists, and the caller gets an SRT reject reason:

=====  =====================================================================
1400   malformed or empty stream id
1402   too many connections (in total, or pending from one address)
1403   the address had ``max_failures_per_ip`` failures within ``failure_window_s``
1405   not a publish (``m=request``...)
1409   the stream key is already publishing on this server (the running publisher is untouched)
=====  =====================================================================

Unknown keys need the ``authorize`` callback (async, e.g. a database look-up), so they are accepted
by SRT first and closed after ``refuse_delay_s``, like RTMP's refusal.

Threads: libsrt's own threads (the callback runs on one), one accept thread per server, one
receiving thread per connection. Everything else, including the targets, runs on the asyncio loop
that called :meth:`SrtServer.start`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from vidlake.live.registry import RegistryViews, SessionRegistry
from vidlake.live.srt import abi, lib
from vidlake.live.srt.config import SrtServerConfig
from vidlake.live.srt.conn import Peer, SessionEnded, SrtAuthorize, SrtConnection
from vidlake.live.srt.failures import FailureLog
from vidlake.live.srt.streamid import BadStreamId, StreamId, parse_stream_id
from vidlake.live.target import StopReason

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SrtLinkStats:
    """libsrt's view of a publisher's link. Units: milliseconds, bits per second, packets, bytes."""

    rtt_ms: float
    receive_rate_bps: float
    latency_ms: int
    receive_buffer_ms: int
    packets_received: int
    packets_lost: int
    packets_dropped: int
    packets_retransmitted: int
    bytes_received: int

    @classmethod
    def from_perf(cls, perf: abi.CBytePerfMon) -> SrtLinkStats:
        """Build from ``srt_bstats`` output."""
        return cls(
            rtt_ms=float(perf.msRTT),
            receive_rate_bps=float(perf.mbpsRecvRate) * 1_000_000,
            latency_ms=int(perf.msRcvTsbPdDelay),
            receive_buffer_ms=int(perf.msRcvBuf),
            packets_received=int(perf.pktRecvTotal),
            packets_lost=int(perf.pktRcvLossTotal),
            packets_dropped=int(perf.pktRcvDropTotal),
            packets_retransmitted=int(perf.pktRcvRetrans),
            bytes_received=int(perf.byteRecvTotal),
        )


class SrtServer(RegistryViews):
    """An SRT publish listener with the shape of :class:`~vidlake.live.rtmp.server.RtmpServer`.

    ``authorize("srt", key, peer)`` decides each publish: it returns a
    :class:`~vidlake.live.srt.target.SrtPublishTarget` to accept, ``None`` to refuse.
    ``port=0`` binds a random free UDP port; read :attr:`port` after :meth:`start`.
    ``on_session_end(info, final_stats, reason)`` (optional) is awaited once per accepted publish
    after the target's ``on_stop``.

    ``registry``: pass the RTMP server's (``RtmpServer.registry``) to keep one publisher per stream
    key across both protocols; both servers must then run on the same event loop. A key held over
    RTMP is then rejected here with 1409, an SRT-held key is refused by RTMP with BadName, and
    :meth:`live_keys`, :meth:`stats` and :meth:`kick` of either server see the publishers of both
    (the connection classes share ``publishing``, ``info``, ``snapshot()`` and ``kick(reason)``).
    """

    def __init__(
        self,
        authorize: SrtAuthorize,
        *,
        host: str = "0.0.0.0",
        port: int = 8890,
        config: SrtServerConfig | None = None,
        on_session_end: SessionEnded | None = None,
        registry: SessionRegistry[Any] | None = None,
    ) -> None:
        self._authorize = authorize
        self._on_session_end = on_session_end
        self.host = host
        self._port = port
        self.config = config or SrtServerConfig()
        self.registry: SessionRegistry[Any] = registry if registry is not None else SessionRegistry()
        self.failures = FailureLog(self.config.failure_window_s, self.config.max_failures_per_ip)
        self.refused_connections = 0
        self._conns: set[SrtConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: int | None = None
        self._callback: Any = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._started = False
        # accepted by libsrt but not yet a connection on the loop = handed - spawned (one writer each)
        self._handed = 0  # written by the accept thread only
        self._spawned = 0  # written by the loop only

    # ------------------------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        """The bound UDP port (valid after :meth:`start`)."""
        return self._port

    @property
    def url(self) -> str:
        """``srt://host:port`` of the listener."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"srt://{host}:{self.port}"

    async def start(self) -> None:
        """Load libsrt, bind, listen and start accepting (raises ``SrtLibraryMissing`` without libsrt)."""
        if self._started:
            raise RuntimeError("server already started")
        self._loop = asyncio.get_running_loop()
        cfg = self.config
        lib.startup(cfg.log_level)
        self._started = True
        sock = lib.create_socket()
        try:
            lib.set_int(sock, abi.SRTO_TRANSTYPE, abi.SRTT_LIVE)
            lib.set_bool(sock, abi.SRTO_RCVSYN, False)  # accept (and accepted sockets) never block
            lib.set_int(sock, abi.SRTO_LATENCY, cfg.latency_ms)
            lib.set_int(sock, abi.SRTO_PAYLOADSIZE, cfg.payload_size)
            lib.set_int(sock, abi.SRTO_PEERIDLETIMEO, int(cfg.peer_idle_timeout_s * 1000))
            if cfg.passphrase:
                lib.set_str(sock, abi.SRTO_PASSPHRASE, cfg.passphrase)
            if ":" in self.host:  # libsrt needs IPV6ONLY set explicitly for IPv6 binds; 0 = dual stack
                lib.set_int(sock, abi.SRTO_IPV6ONLY, 0)
            lib.bind(sock, self.host, self._port)
            self._port = lib.sockname(sock)[1]
            self._callback = abi.LISTEN_CALLBACK(self._on_listen)
            lib.listen_callback(sock, self._callback)
            lib.listen(sock, cfg.backlog)
        except BaseException:
            lib.close(sock)
            lib.cleanup()
            self._started = False
            raise
        self._listener = sock
        self._stopping.clear()
        self._accept_thread = threading.Thread(target=self._accept_main, name=f"srt-accept-{self._port}", daemon=True)
        self._accept_thread.start()
        log.info("srt: listening on %s", self.url)

    async def close(self) -> None:
        """Stop accepting, end every connection (reason ``server_shutdown``), wait for them."""
        if not self._started:
            return
        self._stopping.set()
        if self._listener is not None:
            lib.close(self._listener)
        if self._accept_thread is not None:
            await asyncio.to_thread(self._accept_thread.join, 5.0)
            self._accept_thread = None
        conns = list(self._conns)
        if conns:
            await asyncio.gather(*(c.kick(StopReason.SHUTDOWN) for c in conns), return_exceptions=True)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.config.kick_grace_s * 2)
        self._listener = None
        self._started = False
        lib.cleanup()

    async def serve_forever(self) -> None:
        """Start (if needed) and serve until cancelled."""
        if not self._started:
            await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    async def __aenter__(self) -> SrtServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------------------- sessions

    def link_stats(self, key: str) -> SrtLinkStats | None:
        """SRT link statistics (RTT, loss, retransmissions) of the publisher of ``key``."""
        conn = self.registry.get(key)
        perf = conn.link_stats() if isinstance(conn, SrtConnection) and conn.info is not None else None
        return SrtLinkStats.from_perf(perf) if perf is not None else None

    @property
    def connection_count(self) -> int:
        """Open connections."""
        return len(self._conns)

    # ------------------------------------------------------------------------------- libsrt threads

    def _on_listen(self, _opaque: int | None, ns: int, hs_version: int, peeraddr: int | None,
                   streamid: bytes | None) -> int:
        """libsrt's listen callback (a libsrt thread): 0 accepts the handshake, -1 rejects it."""
        try:
            peer = lib.sockaddr_at(peeraddr)
            raw = (streamid or b"").decode("utf-8", "replace")
            reject = self._admission(peer, raw)
        except Exception:
            log.exception("srt: listen callback failed")
            reject = abi.SRT_REJX_BAD_REQUEST
        if reject is None:
            return 0
        self.refused_connections += 1
        lib.set_reject_reason(ns, reject)
        return -1

    def _admission(self, peer: Peer, raw: str) -> int | None:
        """The reject reason for a caller, or ``None`` to let it in (reads loop state without locks:
        single dict/set/Counter reads are atomic in CPython; the loop re-checks the key claim)."""
        ip = peer[0]
        if self._stopping.is_set():
            return abi.SRT_REJX_OVERLOAD
        if self.failures.blocked(ip):
            return abi.SRT_REJX_FORBIDDEN
        if len(self._conns) + self._handed - self._spawned >= self.config.max_connections:
            return abi.SRT_REJX_OVERLOAD
        if self.registry.pending_by_ip.get(ip, 0) >= self.config.max_pending_per_ip:
            return abi.SRT_REJX_OVERLOAD
        try:
            sid = parse_stream_id(raw)
        except BadStreamId as exc:
            self.failures.record(ip)
            log.info("srt %s: bad stream id: %s", peer, exc)
            return exc.reject_code
        if self.registry.get(sid.key) is not None:
            log.info("srt %s: stream key already publishing; rejecting", peer)
            return abi.SRT_REJX_CONFLICT
        return None

    def _accept_main(self) -> None:
        assert self._listener is not None and self._loop is not None
        listener = self._listener
        epoll = lib.Epoll.create()
        try:
            epoll.add(listener, abi.SRT_EPOLL_IN | abi.SRT_EPOLL_ERR)
            while not self._stopping.is_set():
                try:
                    epoll.wait(0.25)
                except lib.SrtError:
                    if self._stopping.is_set():
                        break
                    continue
                while not self._stopping.is_set():
                    try:
                        got = lib.accept(listener)
                    except lib.SrtError as exc:
                        if not self._stopping.is_set():
                            log.warning("srt: accept failed: %s", exc)
                        break
                    if got is None:
                        break
                    self._hand_over(*got)
        finally:
            epoll.close()

    def _hand_over(self, sock: int, peer: Peer) -> None:
        """Pass an accepted socket to the loop (accept thread)."""
        assert self._loop is not None
        try:
            sid = parse_stream_id(lib.get_str(sock, abi.SRTO_STREAMID))
        except (BadStreamId, lib.SrtError):
            lib.close(sock)
            return
        try:
            self._loop.call_soon_threadsafe(self._spawn, sock, peer, sid)
        except RuntimeError:  # the loop is closed
            lib.close(sock)
            return
        self._handed += 1

    # ------------------------------------------------------------------------------- on the loop

    def _spawn(self, sock: int, peer: Peer, sid: StreamId) -> None:
        self._spawned += 1
        if self._stopping.is_set():
            lib.close(sock)
            return
        conn = SrtConnection(sock, peer, sid, config=self.config, authorize=self._authorize, registry=self.registry,
                             failures=self.failures, url=self.url, on_session_end=self._on_session_end)
        self._conns.add(conn)
        task = asyncio.get_running_loop().create_task(conn.run(), name=f"srt-{peer[0]}:{peer[1]}")
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            self._conns.discard(conn)
            with contextlib.suppress(asyncio.CancelledError):
                if t.exception() is not None:
                    log.error("srt: connection task failed: %r", t.exception())

        task.add_done_callback(done)
