"""Settings of the RTMP ingest server (plain frozen data; the lead maps Vidlake settings onto it)."""

from __future__ import annotations

from dataclasses import dataclass

from vidlake.live.rtmp import chunk


@dataclass(frozen=True)
class RtmpServerConfig:
    """Limits and timeouts of :class:`~vidlake.live.rtmp.server.RtmpServer`.

    Times are in seconds, sizes in bytes.

    * ``handshake_timeout_s``: C0+C1 and C2 must arrive within this time of the accept.
    * ``publish_timeout_s``: the connection must reach an accepted publish within this time of the
      accept, or it is closed (bounds connections that connect and linger).
    * ``idle_timeout_s``: a publishing client that sends nothing for this long is dropped.
    * ``refuse_delay_s``: an unknown stream key is answered (BadName, then close) after this delay,
      to slow down key guessing.
    * ``authorize_timeout_s``: the ``authorize`` callback must answer within this time (else refused).
    * ``max_connections``: open connections in total; more are closed at once after accept.
    * ``max_pending_per_ip``: connections from one IP address that are not (yet) publishing.
    * ``max_message_size`` / ``max_chunk_size`` / ``max_buffered`` / ``max_chunk_streams``: chunk
      decoder limits (see :mod:`vidlake.live.rtmp.chunk`).
    * ``read_size``: bytes read from the socket per call; with the limits above it bounds the memory
      of one connection to about ``read_size + max_buffered``.
    * ``out_chunk_size``: the chunk size the server announces and uses for what it sends.
    * ``window_ack_size``: the Window Acknowledgement Size / peer bandwidth announced to the client.
    * ``target_timeout_s``: one ``on_flv`` call may block (back-pressure) at most this long; past it
      the session ends with ``target_error`` (a stuck pipeline must not hold a key forever).
    * ``kick_grace_s``: after a kick, how long the connection may take to finish before it is cancelled.
    * ``pace_max_s`` / ``pace_margin_s``: read pacing of a publish whose target tells how long it can
      wait for more media (``slack_s()``, e.g. until the next segment cut): reading stops for up to
      ``pace_max_s``, ending ``pace_margin_s`` before that slack runs out, so the bytes of many TCP
      segments are taken in one read (see :meth:`RtmpConnection._pace`). ``pace_max_s=0`` reads every
      TCP segment as it arrives.
    """

    handshake_timeout_s: float = 5.0
    publish_timeout_s: float = 15.0
    idle_timeout_s: float = 10.0
    refuse_delay_s: float = 1.0
    authorize_timeout_s: float = 5.0
    max_connections: int = 256
    max_pending_per_ip: int = 16
    max_message_size: int = chunk.DEFAULT_MAX_MESSAGE_SIZE
    max_chunk_size: int = chunk.DEFAULT_MAX_CHUNK_SIZE
    max_buffered: int = chunk.DEFAULT_MAX_BUFFERED
    max_chunk_streams: int = chunk.DEFAULT_MAX_CHUNK_STREAMS
    read_size: int = 256 * 1024
    out_chunk_size: int = 4096
    window_ack_size: int = 2_500_000
    target_timeout_s: float = 30.0
    kick_grace_s: float = 2.0
    stats_window_s: float = 5.0
    pace_max_s: float = 0.5
    pace_margin_s: float = 0.03
