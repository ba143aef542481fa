"""Settings of the SRT ingest listener (plain frozen data; the lead maps Vidlake settings onto it)."""

from __future__ import annotations

from dataclasses import dataclass

from vidlake.live.srt.abi import LOG_CRIT, SRT_LIVE_DEF_PLSIZE


@dataclass(frozen=True)
class SrtServerConfig:
    """Limits and timeouts of :class:`~vidlake.live.srt.server.SrtServer`.

    Times are in seconds unless the name says ``_ms`` (milliseconds); sizes in bytes.

    * ``latency_ms``: SRT receive latency (``SRTO_LATENCY``; the caller may ask for more); the time
      SRT has to recover lost packets before it drops them.
    * ``payload_size``: ``SRTO_PAYLOADSIZE`` (1316 = 7 TS packets, the SRT live default).
    * ``idle_timeout_s``: a publisher that sends no data for this long is dropped (``idle_timeout``).
    * ``peer_idle_timeout_s``: ``SRTO_PEERIDLETIMEO``: SRT breaks a connection whose peer sent no
      packet at all (not even keep-alives) for this long.
    * ``refuse_delay_s``: an unknown stream key is closed after this delay (slows key guessing).
    * ``authorize_timeout_s``: the ``authorize`` callback must answer within this time (else refused).
    * ``max_connections``: connections in total; more are rejected in the handshake (``1402``).
    * ``max_pending_per_ip``: connections from one address that are not (yet) publishing.
    * ``max_failures_per_ip`` / ``failure_window_s``: an address with this many failed attempts
      (unknown key, malformed stream id) within the window is rejected in the handshake (``1403``).
    * ``backlog``: ``srt_listen`` backlog.
    * ``batch_bytes``: at most this many bytes go to the target in one ``on_ts`` call.
    * ``poll_s``: how often the receiving thread wakes up to check timeouts and kicks.
    * ``target_timeout_s``: one ``on_ts`` call may block (back-pressure) at most this long; past it the
      session ends with ``target_error``.
    * ``kick_grace_s``: after a kick, how long the session may take to end before it is cancelled.
    * ``stats_window_s``: the bitrate window, in seconds of media time.
    * ``passphrase``: when set (10 to 79 characters), callers must encrypt with it (AES).
    * ``log_level``: libsrt's own stderr logging (syslog level; 2 = critical only).
    """

    latency_ms: int = 120
    payload_size: int = SRT_LIVE_DEF_PLSIZE
    idle_timeout_s: float = 10.0
    peer_idle_timeout_s: float = 5.0
    refuse_delay_s: float = 1.0
    authorize_timeout_s: float = 5.0
    max_connections: int = 256
    max_pending_per_ip: int = 16
    max_failures_per_ip: int = 20
    failure_window_s: float = 60.0
    backlog: int = 64
    batch_bytes: int = 64 * 1024
    poll_s: float = 0.25
    target_timeout_s: float = 30.0
    kick_grace_s: float = 2.0
    stats_window_s: float = 5.0
    passphrase: str | None = None
    log_level: int = LOG_CRIT

    def __post_init__(self) -> None:
        if self.passphrase is not None and not 10 <= len(self.passphrase) <= 79:
            raise ValueError("SRT passphrase must be 10 to 79 characters")
        if not 188 <= self.payload_size <= 1456:
            raise ValueError("payload_size must be 188..1456 bytes")
