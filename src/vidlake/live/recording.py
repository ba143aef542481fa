"""Recording a live stream into a VOD asset.

The live session writes its segments straight into the asset's HLS prefix
(``keys.asset_hls(env, asset, "live")``), so when the session ends the recording is playable at once:
the playlists are rewritten as VOD playlists listing every segment (with ``EXT-X-DISCONTINUITY`` at each
reconnect) and the asset is marked ready, with no re-encoding. Then the passthrough rung is remuxed
(``-c copy``) into one MP4 that becomes the asset's source, and ``vod.process`` runs on it like on any
asset (probe, ladder, static renditions, storyboard); it replaces the live segments when it is done.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.db.models import Asset, LiveStream
from vidlake.deliver.playback_ids import add_playback_id
from vidlake.events import emit
from vidlake.ffmpeg import ffmpeg_exe
from vidlake.jobs.queue import enqueue
from vidlake.services import Services
from vidlake.storage import keys
from vidlake.vod import assets as asset_svc

if TYPE_CHECKING:
    from vidlake.live.ingest import LiveSession

log = logging.getLogger(__name__)


def create_live_asset(session: Session, stream: LiveStream) -> Asset:
    """The asset a recorded live session fills (status ``preparing`` while live)."""
    request = dict(stream.new_asset_settings or {})
    asset = Asset(
        id=_new_id(), environment_id=stream.environment_id, status="preparing",
        passthrough=request.get("passthrough"),
        settings={k: request[k] for k in asset_svc.PIPELINE_SETTINGS if request.get(k) is not None},
        live_stream_id=stream.id, tracks=[], static_renditions=[], created_at=now(), updated_at=now(),
    )
    session.add(asset)
    for policy in request.get("playback_policy") or []:
        add_playback_id(session, stream.environment_id, policy, asset_id=asset.id)
    session.flush()
    emit(session, stream.environment_id, "video.asset.created", "asset", asset.id,
         asset_svc.asset_public(session, asset))
    return asset


def _new_id() -> str:
    from vidlake.core.ids import new_id

    return new_id()


def finish_recording(services: Services, live: LiveSession) -> None:
    """Make the recording of ``live`` a ready VOD asset, then queue its VOD processing."""
    from vidlake.live.ingest import write_media_playlists

    if live.asset_id is None:
        return
    has_media = any(live.segments)
    if has_media:
        write_media_playlists(live, final=True)
        live.publisher.publish()
    duration = sum(e.duration for e in live.segments[0]) if live.segments else 0.0
    with services.db.session() as session:
        asset = session.get(Asset, live.asset_id)
        if asset is None or asset.deleted_at is not None:
            return
        if not has_media:
            asset_svc.mark_errored(session, asset, "invalid_input", "the live stream sent no media")
            return
        # Playable now; ``hls_complete`` turns True when vod.process commits its ladder (progress "completed").
        asset.hls_prefix, asset.hls_complete = live.prefix, False
        asset.duration = round(duration, 6)
        asset_svc.mark_ready(session, asset)
        emit(session, asset.environment_id, "video.asset.live_stream_completed", "asset", asset.id,
             asset_svc.asset_public(session, asset))
    try:
        _queue_processing(services, live)
    except Exception:
        log.exception("live recording %s: could not queue VOD processing", live.asset_id)
        with services.db.session() as session:
            asset = session.get(Asset, live.asset_id)
            if asset is not None:
                asset.hls_complete = True


def _queue_processing(services: Services, live: LiveSession) -> None:
    """Remux the passthrough rung into ``source.mp4`` in storage and queue ``vod.process``."""
    import subprocess

    assert live.asset_id is not None
    source_key = keys.asset_source(live.environment_id, live.asset_id)
    with tempfile.TemporaryDirectory(prefix="vidlake-rec-") as tmp:
        out = Path(tmp) / "source.mp4"
        argv = [services.settings.ffmpeg or ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
                "-allowed_extensions", "ALL", "-i", str(live.root / "v0.m3u8"), "-map", "0:v:0?", "-map", "0:a:0?",
                "-c", "copy", "-bsf:a", "aac_adtstoasc", "-movflags", "+faststart", "-y", str(out)]
        subprocess.run(argv, check=True, capture_output=True, timeout=3600)
        services.storage.put_file(source_key, out, "video/mp4")
        size = out.stat().st_size
    with services.db.session() as session:
        asset = session.get(Asset, live.asset_id)
        if asset is None or asset.deleted_at is not None:
            return
        asset.source_key, asset.source_size = source_key, size
        asset.job_id = enqueue(session, asset_svc.PROCESS_KIND, {"asset_id": asset.id},
                               environment_id=asset.environment_id,
                               idempotency_key=f"{asset_svc.PROCESS_KIND}:{asset.id}")
