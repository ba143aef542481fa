"""Where an accepted RTMP publish goes: the :class:`PublishTarget` protocol and an FLV file target
(:class:`~vidlake.live.target.SubprocessTarget`, shared with SRT, pipes the stream into a process).

The connection calls, in order: ``on_start(info)`` once, ``on_flv(data)`` for each batch of the FLV
byte stream (the first batch starts with the FLV header), ``on_stop(reason)`` once. ``on_flv`` is
awaited before more bytes are read from the socket: a slow target slows the publisher down through
TCP flow control, so memory stays flat. An exception from ``on_start``/``on_flv`` ends the session
with reason ``"target_error"``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from vidlake.live.target import PublishInfo


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
