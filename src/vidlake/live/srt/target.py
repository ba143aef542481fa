"""Where an accepted SRT publish goes: the :class:`SrtPublishTarget` protocol and two implementations.

The server calls, in order: ``on_start(info)`` once, ``on_ts(data)`` for each batch of the MPEG-TS
byte stream (whole SRT messages, normally 7 TS packets each, as received), ``on_stop(reason)`` once
(reasons: :class:`~vidlake.live.target.StopReason`). ``on_ts`` is awaited before more data is
taken from SRT: a slow target makes the receiving thread wait, SRT's receive buffer fills and late
packets are dropped by SRT, so memory stays flat. An exception from ``on_start``/``on_ts`` ends the
session with reason ``"target_error"``. ``info`` is the shared :class:`PublishInfo` with
``app="srt"``, the stream key, the peer address, ``query`` = extra stream-id fields (``u=..&s=..``)
and ``tc_url`` = the listener's ``srt://host:port``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from vidlake.live.target import PublishInfo


@runtime_checkable
class SrtPublishTarget(Protocol):
    """Receives one publish session as an MPEG-TS byte stream."""

    async def on_start(self, info: PublishInfo) -> None:
        """The publish was accepted; media follows."""

    async def on_ts(self, data: bytes) -> None:
        """The next bytes of the transport stream."""

    async def on_stop(self, reason: str) -> None:
        """The session ended. Called exactly once, also after errors."""


class TsFileTarget:
    """Writes the session's transport stream to ``path`` (parents created)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.info: PublishInfo | None = None
        self.stop_reason: str | None = None
        self.stop_calls = 0
        self.bytes_written = 0
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        self._file: IO[bytes] | None = None

    async def on_start(self, info: PublishInfo) -> None:
        """Open the file."""
        self.info = info
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("wb")
        self.started.set()

    async def on_ts(self, data: bytes) -> None:
        """Append ``data``."""
        if self._file is None:
            raise RuntimeError("on_ts before on_start")
        self._file.write(data)
        self.bytes_written += len(data)

    async def on_stop(self, reason: str) -> None:
        """Close the file."""
        self.stop_calls += 1
        self.stop_reason = reason
        if self._file is not None:
            self._file.close()
            self._file = None
        self.stopped.set()
