"""The RTMP ingest listener: accepts TCP connections and runs one :class:`RtmpConnection` each.

Usage::

    async def authorize(app: str, key: str, peer: tuple[str, int]) -> PublishTarget | None:
        return FlvFileTarget(f"/tmp/{key}.flv") if key == "secret" else None

    async with RtmpServer(authorize, host="127.0.0.1", port=0) as server:
        print(server.port)            # the bound port (random when 0)
        ...
        await server.kick("secret")   # e.g. after a stream key reset

Publishers use ``rtmp://host:port/{app}/{stream_key}``. One key has at most one publisher: a second
publisher on a live key is refused with ``NetStream.Publish.BadName`` (see :mod:`.conn`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from vidlake.live.registry import RegistryViews, SessionRegistry
from vidlake.live.rtmp.config import RtmpServerConfig
from vidlake.live.rtmp.conn import Authorize, RtmpConnection, SessionEnded
from vidlake.live.rtmp.protocols import RtmpStreamProtocol
from vidlake.live.target import StopReason

log = logging.getLogger(__name__)


class RtmpServer(RegistryViews):
    """An asyncio RTMP publish server.

    ``authorize(app, key, peer)`` decides each publish: it returns a
    :class:`~vidlake.live.rtmp.target.PublishTarget` to accept, ``None`` to refuse.
    ``port=0`` binds a random free port; read :attr:`port` after :meth:`start`.
    ``on_session_end(info, final_stats, reason)`` (optional) is awaited once per accepted publish
    after the target's ``on_stop`` (e.g. to record the session's final numbers).
    """

    def __init__(
        self,
        authorize: Authorize,
        *,
        host: str = "0.0.0.0",
        port: int = 1935,
        config: RtmpServerConfig | None = None,
        on_session_end: SessionEnded | None = None,
    ) -> None:
        self._authorize = authorize
        self._on_session_end = on_session_end
        self.host = host
        self._port = port
        self.config = config or RtmpServerConfig()
        self.registry: SessionRegistry[RtmpConnection] = SessionRegistry()
        self._server: asyncio.Server | None = None
        self._conns: set[RtmpConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.refused_connections = 0

    @property
    def port(self) -> int:
        """The bound TCP port (valid after :meth:`start`)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        """Bind and start accepting."""
        if self._server is not None:
            raise RuntimeError("server already started")
        loop = asyncio.get_running_loop()

        def protocol() -> RtmpStreamProtocol:
            return RtmpStreamProtocol(asyncio.StreamReader(limit=2**16, loop=loop), self._accept, loop)

        self._server = await loop.create_server(protocol, self.host, self._port)
        log.info("rtmp: listening on %s:%d", self.host, self.port)

    async def serve_forever(self) -> None:
        """Start (if needed) and serve until cancelled."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop accepting, end every connection (reason ``server_shutdown``), wait for them."""
        if self._server is not None:
            self._server.close()
        conns = list(self._conns)
        if conns:
            await asyncio.gather(*(c.kick(StopReason.SHUTDOWN) for c in conns), return_exceptions=True)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.config.kick_grace_s * 2)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    async def __aenter__(self) -> RtmpServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------------------- sessions

    @property
    def connection_count(self) -> int:
        """Open connections."""
        return len(self._conns)

    # ------------------------------------------------------------------------------- accept

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        ip = str(peer[0]) if isinstance(peer, tuple) else "?"
        if (
            len(self._conns) >= self.config.max_connections
            or self.registry.pending_by_ip[ip] >= self.config.max_pending_per_ip
        ):
            self.refused_connections += 1
            log.warning("rtmp: refusing connection from %s (limits)", ip)
            writer.transport.abort()
            return
        conn = RtmpConnection(
            reader,
            writer,
            config=self.config,
            authorize=self._authorize,
            registry=self.registry,
            on_session_end=self._on_session_end,
        )
        self._conns.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await conn.run()
        finally:
            self._conns.discard(conn)
            if task is not None:
                self._tasks.discard(task)
