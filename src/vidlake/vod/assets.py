"""Asset lifecycle: create, describe (Mux shape), mark ready or errored, delete.

Every state change is an explicit function here that also records its event in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.ids import new_id
from vidlake.db.models import Asset, PlaybackId
from vidlake.db.tenancy import get_owned
from vidlake.deliver.playback_ids import add_playback_id
from vidlake.events import emit
from vidlake.jobs.queue import enqueue
from vidlake.storage import Storage

if TYPE_CHECKING:
    from vidlake.runtime import Services

log = logging.getLogger(__name__)

INGEST_KIND = "vod.ingest"
PROCESS_KIND = "vod.process"

#: Settings accepted in asset creation (and ``new_asset_settings``), stored on the asset.
PIPELINE_SETTINGS = ("mp4_support", "static_renditions", "max_resolution_tier", "normalize_audio",
                     "video_quality", "encoding_tier", "master_access", "test", "analyses",
                     "generated_subtitles")


def create_asset(
    session: Session,
    environment_id: str,
    request: dict[str, Any],
    *,
    input_url: str | None = None,
    upload_id: str | None = None,
    source_key: str | None = None,
    source_size: int | None = None,
    live_stream_id: str | None = None,
) -> Asset:
    """Create an asset and queue its processing.

    ``request`` holds the validated creation fields (``playback_policy``, ``passthrough`` and the
    ``PIPELINE_SETTINGS``). With ``input_url`` the asset is pulled first (``vod.ingest``); with
    ``source_key`` (an object already in storage, e.g. a finished upload) it is processed directly.
    """
    asset = Asset(
        id=new_id(),
        environment_id=environment_id,
        status="preparing",
        passthrough=request.get("passthrough"),
        settings={k: request[k] for k in PIPELINE_SETTINGS if request.get(k) is not None},
        input_url=input_url,
        upload_id=upload_id,
        live_stream_id=live_stream_id,
        source_key=source_key,
        source_size=source_size,
        tracks=[],
        static_renditions=[],
        created_at=now(),
        updated_at=now(),
    )
    session.add(asset)
    for policy in request.get("playback_policy") or []:
        add_playback_id(session, environment_id, policy, asset_id=asset.id)
    session.flush()
    kind = PROCESS_KIND if source_key else INGEST_KIND
    asset.job_id = enqueue(session, kind, {"asset_id": asset.id}, environment_id=environment_id,
                           idempotency_key=f"{kind}:{asset.id}")
    emit(session, environment_id, "video.asset.created", "asset", asset.id, asset_public(session, asset))
    return asset


def get_asset(session: Session, environment_id: str, asset_id: str) -> Asset:
    """The asset, if it belongs to ``environment_id``. Raises ``NotFound``."""
    return get_owned(session, Asset, asset_id, environment_id, "asset")


def playback_ids_of(session: Session, asset_id: str) -> list[PlaybackId]:
    """Playback ids of an asset, oldest first."""
    return list(session.scalars(select(PlaybackId).where(PlaybackId.asset_id == asset_id)
                                .order_by(PlaybackId.created_at)))


def _static_public(asset: Asset) -> dict[str, Any]:
    files = asset.static_renditions or []
    wanted = (asset.settings.get("mp4_support") not in (None, "none") or bool(asset.settings.get("static_renditions"))
              or bool(files))
    if not wanted:
        return {"status": "disabled", "files": []}
    if any(f.get("status") == "errored" for f in files):
        status = "errored"
    elif files and all(f.get("status") in ("ready", "skipped") for f in files):
        status = "ready"
    else:
        status = "preparing"
    return {"status": status, "files": files}


def asset_public(session: Session, asset: Asset) -> dict[str, Any]:
    """The asset as the API shows it (Mux's field names and value sets)."""
    out: dict[str, Any] = {
        "id": asset.id,
        "created_at": str(int(asset.created_at)),
        "status": asset.status,
        "playback_ids": [{"id": p.id, "policy": p.policy} for p in playback_ids_of(session, asset.id)],
        "tracks": asset.tracks or [],
        "mp4_support": asset.settings.get("mp4_support", "none"),
        "master_access": asset.master_access or "none",
        "max_resolution_tier": asset.settings.get("max_resolution_tier", "1080p"),
        "encoding_tier": "baseline",
        "video_quality": asset.settings.get("video_quality", "basic"),
        "static_renditions": _static_public(asset),
        "test": bool(asset.settings.get("test", False)),
        "is_live": False,
        "ingest_type": ("live_rtmp" if asset.live_stream_id else
                        "on_demand_direct_upload" if asset.upload_id else "on_demand_url"),
    }
    optional = {
        "duration": asset.duration,
        "aspect_ratio": asset.aspect_ratio,
        "resolution_tier": asset.resolution_tier,
        "max_stored_resolution": _stored_resolution(asset),
        "max_stored_frame_rate": asset.max_stored_frame_rate,
        "passthrough": asset.passthrough,
        "upload_id": asset.upload_id,
        "live_stream_id": asset.live_stream_id,
        "errors": asset.errors,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    if asset.settings.get("warnings"):
        out["warnings"] = list(asset.settings["warnings"])  # Vidlake: quality problems found by analyses
    if asset.settings.get("analyses"):
        out["analyses"] = list(asset.settings["analyses"])
    out["progress"] = _progress(session, asset)
    return out


def _progress(session: Session, asset: Asset) -> dict[str, Any]:
    from vidlake.db.models import Job

    if asset.status == "errored":
        return {"state": "errored", "progress": -1}
    job = session.get(Job, asset.job_id) if asset.job_id else None
    if asset.status == "ready" and asset.hls_complete and (job is None or job.state in ("succeeded", "dead",
                                                                                        "failed", "cancelled")):
        return {"state": "completed", "progress": 100}
    if job is None or job.state == "queued":
        return {"state": "ingesting", "progress": 0}
    return {"state": "transcoding", "progress": round(job.progress, 1)}


def _stored_resolution(asset: Asset) -> str | None:
    tier = asset.resolution_tier
    if tier is None:
        return None
    return {"audio-only": "Audio only", "720p": "HD", "1080p": "FHD", "1440p": "UHD", "2160p": "UHD"}.get(tier)


def mark_ready(session: Session, asset: Asset) -> None:
    """preparing → ready (playable), with ``video.asset.ready``. Idempotent."""
    if asset.status == "ready":
        return
    asset.status = "ready"
    asset.ready_at = now()
    asset.updated_at = now()
    emit(session, asset.environment_id, "video.asset.ready", "asset", asset.id, asset_public(session, asset))


def mark_errored(session: Session, asset: Asset, error_type: str, message: str) -> None:
    """→ errored with Mux's error shape, with ``video.asset.errored``."""
    asset.status = "errored"
    asset.errors = {"type": error_type, "messages": [message]}
    asset.updated_at = now()
    emit(session, asset.environment_id, "video.asset.errored", "asset", asset.id, asset_public(session, asset))


def delete_asset(session: Session, storage: Storage, asset: Asset) -> None:
    """Delete the asset, its playback ids and its stored media, with ``video.asset.deleted``."""
    from vidlake.db.models import Job
    from vidlake.storage import keys

    data = asset_public(session, asset)
    asset.deleted_at = now()
    asset.status = "errored" if asset.status == "preparing" else asset.status
    for pid in playback_ids_of(session, asset.id):
        session.delete(pid)
    emit(session, asset.environment_id, "video.asset.deleted", "asset", asset.id, data)
    session.flush()
    if asset.job_id:
        job = session.get(Job, asset.job_id)
        if job is not None and job.state in ("queued", "running"):
            job.cancel_requested = True
            if job.state == "queued":
                job.state = "cancelled"
                job.finished_at = now()
    storage.delete_prefix(keys.asset_prefix(asset.environment_id, asset.id) + "/")


def create_asset_from_file(services: Services, environment_id: str, request: dict[str, Any], path: Path,
                           key_for: Callable[[str], str], settings: dict[str, Any]) -> str:
    """A NEW asset whose source is the local MP4 ``path`` (a render of another asset), in one transaction:
    the asset row (``request`` as for :func:`create_asset`, plus ``settings``) and the file stored under
    ``key_for(asset_id)``. If storing or committing fails the stored object is deleted and nothing stays.
    Returns the asset id; the VOD pipeline then processes it like any upload."""
    key: str | None = None
    try:
        with services.db.session() as session:
            asset = create_asset(session, environment_id, dict(request), source_key="pending",
                                 source_size=path.stat().st_size)
            key = key_for(asset.id)
            asset.source_key = key
            asset.settings = {**asset.settings, **settings}
            services.storage.put_file(key, path, "video/mp4")
            return asset.id
    except BaseException:
        if key is not None:
            try:
                services.storage.delete(key)
            except Exception:  # the original error matters more
                log.exception("could not delete %s", key)
        raise


def input_info(asset: Asset) -> list[dict[str, Any]]:
    """Mux's ``input-info``: the input's settings and what probing found in the file (container, and per
    track its codec, pixel size, frame rate in frames per second, sample rate in Hz, channels, duration in
    seconds); empty until the input has been probed."""
    probe = asset.probe
    if not probe:
        return []
    duration = probe.get("duration")
    tracks: list[dict[str, Any]] = []
    if probe.get("video"):
        tracks.append({"type": "video", "encoding": probe["video"], "duration": duration,
                       "width": probe.get("width"), "height": probe.get("height"),
                       "frame_rate": probe.get("frame_rate")})
    if probe.get("audio"):
        tracks.append({"type": "audio", "encoding": probe["audio"], "duration": duration,
                       "sample_rate": probe.get("sample_rate"), "channels": probe.get("channels")})
    settings = {"url": asset.input_url} if asset.input_url else {}
    return [{"settings": settings, "file": {"container_format": probe.get("format"), "tracks": tracks}}]
