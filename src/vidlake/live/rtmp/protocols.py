"""The asyncio protocols under an RTMP connection: the StreamReader one of the handshake and commands, and
the buffered sink that takes over the transport on the publishing fast path (:mod:`.fastpath`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


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
