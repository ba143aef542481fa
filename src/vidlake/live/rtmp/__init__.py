"""RTMP ingest: the protocol (pure, sans-IO) and an asyncio publish server.

Pure protocol modules (no sockets): :mod:`.handshake`, :mod:`.chunk`, :mod:`.amf0`, :mod:`.messages`,
:mod:`.flv`. I/O: :mod:`.server` (the listener), :mod:`.conn` (one connection's life),
:mod:`.target` (where accepted publishes go), :mod:`.client` (a minimal publisher for tests/tools).
"""

from vidlake.live.rtmp.config import RtmpServerConfig
from vidlake.live.rtmp.conn import Authorize
from vidlake.live.rtmp.errors import HandshakeError, PublishRefused, RtmpError, RtmpProtocolError
from vidlake.live.rtmp.server import RtmpServer
from vidlake.live.rtmp.target import FlvFileTarget, PublishTarget, SyncPublishTarget
from vidlake.live.stats import SessionStats
from vidlake.live.target import PublishInfo, SessionEnded, StopReason, SubprocessTarget

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
