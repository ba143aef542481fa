"""RTMP ingest: the protocol (pure, sans-IO) and an asyncio publish server.

Pure protocol modules (no sockets): :mod:`.handshake`, :mod:`.chunk`, :mod:`.amf0`, :mod:`.messages`,
:mod:`.flv`, :mod:`.stats`. I/O: :mod:`.server` (the listener), :mod:`.conn` (one connection's life),
:mod:`.target` (where accepted publishes go), :mod:`.client` (a minimal publisher for tests/tools).
"""

from vidlake.live.rtmp.config import RtmpServerConfig
from vidlake.live.rtmp.conn import Authorize, SessionEnded
from vidlake.live.rtmp.errors import HandshakeError, PublishRefused, RtmpError, RtmpProtocolError
from vidlake.live.rtmp.server import RtmpServer
from vidlake.live.rtmp.stats import SessionStats
from vidlake.live.rtmp.target import (
    FlvFileTarget,
    PublishInfo,
    PublishTarget,
    StopReason,
    SubprocessTarget,
    SyncPublishTarget,
)

__all__ = [
    "Authorize",
    "FlvFileTarget",
    "HandshakeError",
    "PublishInfo",
    "PublishRefused",
    "PublishTarget",
    "RtmpError",
    "RtmpProtocolError",
    "RtmpServer",
    "RtmpServerConfig",
    "SessionEnded",
    "SessionStats",
    "StopReason",
    "SubprocessTarget",
    "SyncPublishTarget",
]
