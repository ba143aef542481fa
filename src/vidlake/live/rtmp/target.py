"""Where an accepted publish goes: the :class:`PublishTarget` protocol and two implementations.

The connection calls, in order: ``on_start(info)`` once, ``on_flv(data)`` for each batch of the FLV
byte stream (the first batch starts with the FLV header), ``on_stop(reason)`` once. ``on_flv`` is
awaited before more bytes are read from the socket: a slow target slows the publisher down through
TCP flow control, so memory stays flat. An exception from ``on_start``/``on_flv`` ends the session
with reason ``"target_error"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishInfo:
    """An accepted publish. ``peer`` is (host, port); ``started_at`` is Unix time in seconds."""

    app: str
    key: str
    peer: tuple[str, int]
    query: str = ""
    publish_type: str = "live"
    tc_url: str = ""
    started_at: float = field(default_factory=time.time)


class StopReason:
    """The ``reason`` strings passed to :meth:`PublishTarget.on_stop`."""

    UNPUBLISHED = "unpublished"  #: the client sent FCUnpublish/deleteStream
    CLOSED = "closed"  #: the client closed the connection
    IDLE_TIMEOUT = "idle_timeout"  #: nothing received for idle_timeout_s
    KICKED = "kicked"  #: RtmpServer.kick()
    PROTOCOL_ERROR = "protocol_error"  #: the client broke the protocol
    TARGET_ERROR = "target_error"  #: the target raised
    SHUTDOWN = "server_shutdown"  #: RtmpServer.close()


@runtime_checkable
class PublishTarget(Protocol):
    """Receives one publish session as an FLV byte stream."""

    async def on_start(self, info: PublishInfo) -> None:
        """The publish was accepted; media follows."""

    async def on_flv(self, data: bytes) -> None:
        """The next bytes of the FLV stream (header first, then whole tags)."""

    async def on_stop(self, reason: str) -> None:
        """The session ended (see :class:`StopReason`). Called exactly once, also after errors."""


@runtime_checkable
class SyncPublishTarget(PublishTarget, Protocol):
    """A target that can also take FLV bytes without a task switch (the publishing hot path).

    When a target has ``write_flv``, the connection calls it instead of ``on_flv``, right where the bytes
    are received; it returns ``None`` when the bytes are dealt with, or an awaitable that the connection
    awaits (reads paused, ``target_timeout_s`` applies) before it reads more. An exception from it ends
    the session like one from ``on_flv``.

    A target may also have ``slack_s() -> float``: how long (seconds) it can go without new bytes before
    an output it makes would be late (e.g. until the frame that may close its open segment). The
    connection then stops reading for up to that long after each read (read pacing, see
    :class:`~vidlake.live.rtmp.config.RtmpServerConfig` ``pace_max_s``).
    """

    def write_flv(self, data: bytes) -> Awaitable[None] | None:
        """Take the next bytes of the FLV stream now."""


class FlvFileTarget:
    """Writes the session to an FLV file at ``path`` (parents created)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.info: PublishInfo | None = None
        self.stop_reason: str | None = None
        self.bytes_written = 0
        self._file: IO[bytes] | None = None
        self.stopped = asyncio.Event()

    async def on_start(self, info: PublishInfo) -> None:
        """Open the file."""
        self.info = info
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("wb")

    async def on_flv(self, data: bytes) -> None:
        """Append ``data``."""
        if self._file is None:
            raise RuntimeError("on_flv before on_start")
        self._file.write(data)
        self.bytes_written += len(data)

    async def on_stop(self, reason: str) -> None:
        """Close the file."""
        self.stop_reason = reason
        if self._file is not None:
            self._file.close()
            self._file = None
        self.stopped.set()


class SubprocessTarget:
    """Pipes the FLV stream into a subprocess's stdin, e.g. ``[ffmpeg, "-f", "flv", "-i", "pipe:0", ...]``.

    ``argv`` is run as given (no shell); build it with :mod:`vidlake.ffmpeg`. On stop, stdin is
    closed and the process gets ``stop_timeout_s`` seconds to exit before it is killed.
    ``stderr_path`` (optional) receives the process's stderr; otherwise it is discarded.
    :attr:`returncode` is set after stop.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        stop_timeout_s: float = 10.0,
        stderr_path: str | Path | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        if not argv:
            raise ValueError("argv must not be empty")
        self.argv = list(argv)
        self.stop_timeout_s = stop_timeout_s
        self.stderr_path = Path(stderr_path) if stderr_path is not None else None
        self.cwd = cwd
        self.info: PublishInfo | None = None
        self.stop_reason: str | None = None
        self.returncode: int | None = None
        self.bytes_written = 0
        self.stopped = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: IO[bytes] | None = None

    async def on_start(self, info: PublishInfo) -> None:
        """Start the process."""
        self.info = info
        stderr: int | IO[bytes] = asyncio.subprocess.DEVNULL
        if self.stderr_path is not None:
            self.stderr_path.parent.mkdir(parents=True, exist_ok=True)
            self._stderr = self.stderr_path.open("wb")
            stderr = self._stderr
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
            cwd=self.cwd,
        )

    async def on_flv(self, data: bytes) -> None:
        """Write ``data`` to stdin and wait until the pipe has room (back-pressure)."""
        if self._proc is None or self._proc.stdin is None:
            raise RuntimeError("on_flv before on_start")
        self._proc.stdin.write(data)
        await self._proc.stdin.drain()
        self.bytes_written += len(data)

    async def on_stop(self, reason: str) -> None:
        """Close stdin, wait for the process (kill it after ``stop_timeout_s``)."""
        self.stop_reason = reason
        proc = self._proc
        try:
            if proc is not None:
                if proc.stdin is not None:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        proc.stdin.close()
                        await proc.stdin.wait_closed()
                try:
                    self.returncode = await asyncio.wait_for(proc.wait(), self.stop_timeout_s)
                except TimeoutError:
                    log.warning("subprocess %s did not exit in %.1f s; killing", self.argv[0], self.stop_timeout_s)
                    proc.kill()
                    self.returncode = await proc.wait()
        finally:
            if self._stderr is not None:
                self._stderr.close()
                self._stderr = None
            self.stopped.set()
