"""What every ingest protocol shares about an accepted publish: :class:`PublishInfo`, the
:class:`StopReason` strings, :class:`SubprocessTarget` and the end of a publish (:class:`PublishEnd`).

RTMP (:mod:`vidlake.live.rtmp.target`) hands a target FLV bytes (``on_flv``), SRT
(:mod:`vidlake.live.srt.target`) MPEG-TS (``on_ts``); both call ``on_start(info)`` once first and
``on_stop(reason)`` exactly once last, then their ``on_session_end(info, final stats, reason)``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vidlake.ffmpeg.process import StreamingProcess
from vidlake.live.stats import SessionStats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishInfo:
    """An accepted publish (SRT: ``app="srt"``, ``tc_url`` the listener's ``srt://host:port``). ``peer`` is
    (host, port); ``started_at`` is Unix time in seconds."""

    app: str
    key: str
    peer: tuple[str, int]
    query: str = ""
    publish_type: str = "live"
    tc_url: str = ""
    started_at: float = field(default_factory=time.time)


class StopReason:
    """The ``reason`` strings passed to a target's ``on_stop``."""

    UNPUBLISHED = "unpublished"  #: the client sent FCUnpublish/deleteStream
    CLOSED = "closed"  #: the client closed the connection
    IDLE_TIMEOUT = "idle_timeout"  #: nothing received for idle_timeout_s
    KICKED = "kicked"  #: the server's kick()
    PROTOCOL_ERROR = "protocol_error"  #: the client broke the protocol
    TARGET_ERROR = "target_error"  #: the target raised
    SHUTDOWN = "server_shutdown"  #: the server's close()


class Stoppable(Protocol):
    """The part of a publish target that :class:`PublishEnd` calls."""

    async def on_stop(self, reason: str) -> None:
        """The session ended."""


#: ``on_session_end(info, final_stats, reason)``: called once per accepted publish, after ``on_stop``.
SessionEnded = Callable[[PublishInfo, SessionStats, str], Awaitable[None]]


class PublishEnd:
    """The end of one accepted publish, the same for RTMP and SRT: the target's ``on_stop(reason)``
    exactly once, then ``on_session_end(info, stats(), reason)``; errors of either are logged, never
    raised. ``label`` names the connection in the log (e.g. ``"rtmp ('1.2.3.4', 5)"``)."""

    def __init__(self, target: Stoppable, info: PublishInfo, stats: Callable[[], SessionStats],
                 on_session_end: SessionEnded | None, label: str) -> None:
        self.target = target
        self.info = info
        self.stats = stats
        self.on_session_end = on_session_end
        self.label = label
        self.done = False

    async def __call__(self, reason: str) -> None:
        """End the publish with ``reason`` (nothing happens the second time)."""
        if self.done:
            return
        self.done = True
        try:
            await self.target.on_stop(reason)
        except Exception:
            log.exception("%s: target on_stop failed", self.label)
        if self.on_session_end is not None:
            try:
                await self.on_session_end(self.info, self.stats(), reason)
            except Exception:
                log.exception("%s: on_session_end failed", self.label)


class SubprocessTarget:
    """Pipes the published stream (FLV from RTMP, MPEG-TS from SRT) into a subprocess's stdin, e.g.
    ``[ffmpeg, "-f", "flv", "-i", "pipe:0", ...]``; it is an RTMP target (``on_flv``) and an SRT one
    (``on_ts``), both :meth:`on_data`.

    ``argv`` is run as given (no shell) by :class:`~vidlake.ffmpeg.process.StreamingProcess` (own process
    group, memory limit, killed with its parent); build it with :mod:`vidlake.ffmpeg`. On stop, stdin is
    closed and the process gets ``stop_timeout_s`` seconds to exit before its group is killed.
    ``stderr_path`` (optional) receives the process's stderr; otherwise it is discarded. ``time_limit_s``
    (seconds, optional): the process group is killed when it runs longer. ``memory_limit_bytes``: its
    address-space limit (default: the ffmpeg one).
    :attr:`returncode` is set after stop.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        stop_timeout_s: float = 10.0,
        stderr_path: str | Path | None = None,
        cwd: str | Path | None = None,
        time_limit_s: float | None = None,
        memory_limit_bytes: int | None = None,
    ) -> None:
        if not argv:
            raise ValueError("argv must not be empty")
        self.argv = list(argv)
        self.stop_timeout_s = stop_timeout_s
        self.stderr_path = Path(stderr_path) if stderr_path is not None else None
        self.cwd = cwd
        self.time_limit_s = time_limit_s
        self.memory_limit_bytes = memory_limit_bytes
        self.info: PublishInfo | None = None
        self.stop_reason: str | None = None
        self.returncode: int | None = None
        self.bytes_written = 0
        self.stopped = asyncio.Event()
        self._proc: StreamingProcess | None = None

    async def on_start(self, info: PublishInfo) -> None:
        """Start the process."""
        self.info = info
        self._proc = await StreamingProcess.start(self.argv, stderr_path=self.stderr_path, cwd=self.cwd,
                                                  time_limit_s=self.time_limit_s,
                                                  memory_limit_bytes=self.memory_limit_bytes)

    async def on_data(self, data: bytes) -> None:
        """Write ``data`` to stdin and wait until the pipe has room (back-pressure)."""
        if self._proc is None:
            raise RuntimeError("data before on_start")
        await self._proc.write(data)
        self.bytes_written += len(data)

    on_flv = on_data  #: the RTMP connection's name for it
    on_ts = on_data  #: the SRT connection's name for it

    async def on_stop(self, reason: str) -> None:
        """Close stdin, wait for the process (kill its group after ``stop_timeout_s``)."""
        self.stop_reason = reason
        try:
            if self._proc is not None:
                self.returncode = await self._proc.stop(self.stop_timeout_s)
        finally:
            self.stopped.set()
