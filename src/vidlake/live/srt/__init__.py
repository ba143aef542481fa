"""SRT ingest: a listener over the system libsrt (ctypes), MPEG-TS publishers, TS health statistics.

Pure modules (no sockets): :mod:`.streamid` (which key a caller publishes to), :mod:`.tsinfo`
(MPEG-TS inspector giving :class:`~vidlake.live.stats.SessionStats`), :mod:`.failures`.
Library: :mod:`.lib` (ctypes bindings; libsrt is loaded on first use). I/O: :mod:`.server` (the
listener), :mod:`.conn` (one connection's life), :mod:`.target` (where accepted publishes go).
"""

from vidlake.live.srt.config import SrtServerConfig
from vidlake.live.srt.conn import SrtAuthorize
from vidlake.live.srt.lib import APT_PACKAGE, SrtError, SrtLibraryMissing
from vidlake.live.srt.server import SrtLinkStats, SrtServer
from vidlake.live.srt.streamid import BadStreamId, StreamId, parse_stream_id
from vidlake.live.srt.target import SrtPublishTarget, TsFileTarget
from vidlake.live.srt.tsinfo import TsInspector

__all__ = [
    "APT_PACKAGE",
    "BadStreamId",
    "SrtAuthorize",
    "SrtError",
    "SrtLibraryMissing",
    "SrtLinkStats",
    "SrtPublishTarget",
    "SrtServer",
    "SrtServerConfig",
    "StreamId",
    "TsFileTarget",
    "TsInspector",
    "parse_stream_id",
]
