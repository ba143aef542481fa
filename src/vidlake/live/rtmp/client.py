"""A minimal asyncio RTMP publisher, for tests and tools (not a full client).

It does the handshake (simple or digest), ``connect``, ``createStream`` and ``publish`` like ffmpeg,
then sends raw messages. Tests use it to drive the server with well-formed and malformed input::

    client = await RtmpPublisher.open("127.0.0.1", port)
    await client.connect("live")
    status = await client.publish("KEY")   # "NetStream.Publish.Start" or an error code
    await client.send(RtmpMessage(9, video_body, timestamp, client.stream_id, 6))
    await client.close()
"""

from __future__ import annotations

import asyncio
import contextlib

from vidlake.live.rtmp import chunk, messages
from vidlake.live.rtmp.amf0 import AmfValue
from vidlake.live.rtmp.chunk import ChunkDecoder, ChunkEncoder, RtmpMessage
from vidlake.live.rtmp.errors import RtmpProtocolError
from vidlake.live.rtmp.handshake import ClientHandshake, DigestScheme
from vidlake.live.rtmp.messages import Command


class RtmpPublisher:
    """One publishing connection. Create with :meth:`open`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.encoder = ChunkEncoder(chunk_size=chunk.DEFAULT_CHUNK_SIZE)
        self.decoder = ChunkDecoder()
        self.stream_id = 0
        self.received: list[RtmpMessage] = []
        self._pending: list[RtmpMessage] = []
        self._tx = 0
        self.server_digest_valid: bool | None = None

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        scheme: DigestScheme | None = DigestScheme.SCHEME_0,
        timeout_s: float = 5.0,
    ) -> RtmpPublisher:
        """Connect and complete the handshake (``scheme=None``: simple handshake)."""
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
        client = cls(reader, writer)
        hs = ClientHandshake(scheme)
        writer.write(hs.start())
        await writer.drain()
        while not hs.done:
            data = await asyncio.wait_for(reader.read(65536), timeout_s)
            if not data:
                raise ConnectionResetError("server closed during handshake")
            c2 = hs.feed(data)
            if c2:
                writer.write(c2)
                await writer.drain()
        client.server_digest_valid = hs.server_digest_valid
        if hs.leftover:
            client._pending.extend(client.decoder.feed(hs.leftover))
        return client

    async def send(self, *msgs: RtmpMessage) -> None:
        """Encode and send messages (Set Chunk Size also changes our outgoing chunk size)."""
        for msg in msgs:
            self.writer.write(self.encoder.encode(msg))
            if msg.type_id == chunk.SET_CHUNK_SIZE:
                self.encoder.chunk_size = chunk.parse_u32(msg)
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        """Send bytes as they are."""
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, timeout_s: float = 5.0) -> RtmpMessage | None:
        """The next message from the server, ``None`` at end of stream."""
        while not self._pending:
            data = await asyncio.wait_for(self.reader.read(65536), timeout_s)
            if not data:
                return None
            self._pending.extend(self.decoder.feed(data))
        msg = self._pending.pop(0)
        self.received.append(msg)
        return msg

    async def wait_command(self, *names: str, timeout_s: float = 5.0) -> Command | None:
        """Read until a command named one of ``names`` arrives; ``None`` if the server closed."""
        while True:
            msg = await self.recv(timeout_s)
            if msg is None:
                return None
            if msg.type_id == chunk.COMMAND_AMF0:
                cmd = messages.parse_command(msg)
                if cmd.name in names:
                    return cmd

    def _next_tx(self) -> float:
        self._tx += 1
        return float(self._tx)

    async def command(self, name: str, obj: AmfValue, *args: AmfValue, stream_id: int = 0) -> float:
        """Send a command; return its transaction id."""
        tx = self._next_tx()
        await self.send(messages.command_message(name, tx, obj, *args, stream_id=stream_id))
        return tx

    async def connect(self, app: str, tc_url: str = "") -> Command | None:
        """Send Set Chunk Size 4096 and ``connect``; return the server's ``_result``/``_error``."""
        await self.send(chunk.set_chunk_size(4096))
        await self.command("connect", {"app": app, "type": "nonprivate", "flashVer": "FMLE/3.0", "tcUrl": tc_url})
        return await self.wait_command("_result", "_error")

    async def publish(self, key: str, app_stream_type: str = "live") -> str | None:
        """releaseStream, FCPublish, createStream, publish; return the onStatus code (``None``: closed)."""
        await self.command("releaseStream", None, key)
        await self.command("FCPublish", None, key)
        await self.command("createStream", None)
        while True:
            cmd = await self.wait_command("_result", "_error")
            if cmd is None:
                return None
            if cmd.args and isinstance(cmd.args[0], float):
                self.stream_id = int(cmd.args[0])
                break
        await self.command("publish", None, key, app_stream_type, stream_id=self.stream_id)
        status = await self.wait_command("onStatus")
        if status is None or not status.args or not isinstance(status.args[0], dict):
            return None
        code = status.args[0].get("code")
        return code if isinstance(code, str) else None

    async def closed_by_server(self, timeout_s: float = 5.0) -> bool:
        """Read until end of stream; ``True`` if the server closed within ``timeout_s``."""
        try:
            while True:
                data = await asyncio.wait_for(self.reader.read(65536), timeout_s)
                if not data:
                    return True
        except (ConnectionError, OSError):
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        """Close the socket."""
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError, RtmpProtocolError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 2.0)
