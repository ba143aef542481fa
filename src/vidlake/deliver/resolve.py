"""From a playback id to what it plays: an asset's committed HLS version, or a live stream's current
HLS output. Delivery routes only deal with ``PlaybackTarget``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from vidlake.core.errors import NotFound, VidlakeError
from vidlake.db.models import Asset, LiveStream, PlaybackId


class NotReady(VidlakeError):
    """The media is not playable yet."""

    status_code = 412
    error_type = "not_ready"


@dataclass(frozen=True)
class PlaybackTarget:
    """What a playback id resolves to.

    ``hls_prefix``: storage prefix holding ``master.m3u8``; ``complete``: playlists are final (VOD) and
    may be cached long; ``duration_s`` in seconds when known.
    """

    playback_id: str
    policy: str
    environment_id: str
    hls_prefix: str
    complete: bool
    duration_s: float | None
    asset_id: str | None = None
    live_stream_id: str | None = None
    static_files: list[dict[str, Any]] = field(default_factory=list)
    images_prefix: str | None = None
    cover_time_s: float | None = None
    text_tracks: list[dict[str, Any]] = field(default_factory=list)
    audio_tracks: list[dict[str, Any]] = field(default_factory=list)  #: ready alternate audio tracks


def resolve(session: Session, playback_id: str) -> PlaybackTarget:
    """Resolve ``playback_id``. Raises ``NotFound`` or ``NotReady``."""
    if len(playback_id) > 64 or not playback_id.isalnum():
        raise NotFound("playback id not found")
    pid = session.get(PlaybackId, playback_id)
    if pid is None:
        raise NotFound("playback id not found")
    if pid.asset_id:
        asset = session.get(Asset, pid.asset_id)
        if asset is None or asset.deleted_at is not None:
            raise NotFound("playback id not found")
        if asset.status != "ready" or not asset.hls_prefix:
            raise NotReady(f"asset is {asset.status}, not ready for playback")
        return PlaybackTarget(playback_id=pid.id, policy=pid.policy, environment_id=pid.environment_id,
                              hls_prefix=asset.hls_prefix, complete=asset.hls_complete, duration_s=asset.duration,
                              asset_id=asset.id, static_files=list(asset.static_renditions or []),
                              images_prefix=asset.images_prefix, cover_time_s=asset.settings.get("cover_time"),
                              text_tracks=[t for t in asset.tracks or []
                                           if t.get("type") == "text" and t.get("status") == "ready"],
                              audio_tracks=[t for t in asset.tracks or [] if t.get("type") == "audio"
                                            and not t.get("primary") and t.get("status") == "ready"])
    if pid.live_stream_id:
        target = resolve_live(session, pid)
        if target is None:
            raise NotReady("live stream is not active")
        return target
    raise NotFound("playback id not found")


def resolve_live(session: Session, pid: PlaybackId) -> PlaybackTarget | None:
    """A live playback id's stream's current HLS output, or ``None`` (deleted, or no active session)."""
    stream = session.get(LiveStream, pid.live_stream_id)
    if stream is None or stream.deleted_at is not None or not stream.hls_prefix:
        return None
    return PlaybackTarget(playback_id=pid.id, policy=pid.policy, environment_id=pid.environment_id,
                          hls_prefix=stream.hls_prefix, complete=False, duration_s=None,
                          live_stream_id=stream.id)
