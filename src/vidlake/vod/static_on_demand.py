"""Static renditions asked for after an asset exists (Mux's ``POST/DELETE /assets/{id}/static-renditions``
and the legacy ``PUT /assets/{id}/mp4-support``), made by the ``vod.static_renditions`` job.

Each file is an entry of ``Asset.static_renditions`` (``id``, ``name``, ``ext``, ``resolution``,
``status`` preparing → ready | skipped | errored); the job remuxes the committed HLS output (no
re-encode, ``vod.renditions``). ``highest`` is the largest rung, ``audio-only`` the audio, a named
resolution (``720p``...) the rung whose short side is that many pixels, ``skipped`` when the ladder has
none (as Mux skips resolutions above the input's).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import Conflict, InvalidParameters, NotFound
from vidlake.core.ids import new_id
from vidlake.db.models import Asset
from vidlake.deliver.media import local_hls_dir
from vidlake.ffmpeg import FFmpegError
from vidlake.jobs.context import JobContext
from vidlake.jobs.queue import enqueue
from vidlake.jobs.registry import job_kind
from vidlake.storage import Storage, keys
from vidlake.vod.pipeline import emit_static_ready

log = logging.getLogger(__name__)

STATIC_KIND = "vod.static_renditions"
NAMED = ("2160p", "1440p", "1080p", "720p", "540p", "480p", "360p", "270p")
RESOLUTIONS = ("highest", "audio-only", *NAMED)
#: Legacy ``mp4_support`` values and the files each asks for.
MP4_SUPPORT = {"none": (), "standard": ("highest.mp4",), "capped-1080p": ("capped-1080p.mp4",),
               "audio-only": ("audio.m4a",), "audio-only,capped-1080p": ("audio.m4a", "capped-1080p.mp4")}
#: An uncapped short side for ``highest`` (pixels).
_NO_CAP = 100_000


def file_name(resolution: str) -> str:
    """``highest.mp4``, ``audio.m4a`` or ``<resolution>.mp4``."""
    return {"highest": "highest.mp4", "audio-only": "audio.m4a"}.get(resolution, f"{resolution}.mp4")


def _resolution_of(name: str) -> str:
    return {"highest.mp4": "highest", "audio.m4a": "audio-only", "capped-1080p.mp4": "capped-1080p"}.get(
        name, name.rsplit(".", 1)[0])


def _ready_asset(asset: Asset) -> None:
    if asset.status != "ready" or not asset.hls_complete:
        raise Conflict(f"asset {asset.id!r} is not ready: static renditions can be added once it is")


def _entry(name: str, passthrough: str | None = None) -> dict[str, Any]:
    entry = {"id": new_id(), "name": name, "ext": name.rsplit(".", 1)[1], "status": "preparing",
             "type": "standard"}
    if _resolution_of(name) in RESOLUTIONS:  # the legacy capped-1080p.mp4 has no resolution in Mux's model
        entry["resolution"] = _resolution_of(name)
    if passthrough is not None:
        entry["passthrough"] = passthrough
    return entry


def _queue(session: Session, asset: Asset) -> None:
    enqueue(session, STATIC_KIND, {"asset_id": asset.id}, environment_id=asset.environment_id)


def add_static(session: Session, asset: Asset, resolution: str, passthrough: str | None = None) -> dict[str, Any]:
    """Ask for one static rendition; returns its entry (``preparing``) and queues the job."""
    if resolution not in RESOLUTIONS:
        raise InvalidParameters(f"resolution: must be one of {', '.join(RESOLUTIONS)}")
    _ready_asset(asset)
    name = file_name(resolution)
    if any(f.get("name") == name for f in asset.static_renditions or []):
        raise Conflict(f"resolution: asset {asset.id!r} already has a {resolution} static rendition")
    entry = _entry(name, passthrough)
    asset.static_renditions = [*(asset.static_renditions or []), entry]
    asset.updated_at = now()
    _queue(session, asset)
    return entry


def delete_static(session: Session, storage: Storage, asset: Asset, rendition_id: str) -> None:
    """Remove one static rendition and its file."""
    files = list(asset.static_renditions or [])
    entry = next((f for f in files if f.get("id") == rendition_id), None)
    if entry is None:
        raise NotFound(f"static rendition {rendition_id!r} not found on asset {asset.id!r}")
    storage.delete(keys.asset_static(asset.environment_id, asset.id, entry["name"]))
    asset.static_renditions = [f for f in files if f is not entry]
    asset.updated_at = now()


def set_mp4_support(session: Session, storage: Storage, asset: Asset, value: str) -> None:
    """Legacy ``mp4_support``: add the files the value asks for, remove the legacy ones it no longer does."""
    if value not in MP4_SUPPORT:
        raise InvalidParameters(f"mp4_support: must be one of {', '.join(MP4_SUPPORT)}")
    _ready_asset(asset)
    wanted = set(MP4_SUPPORT[value])
    legacy = {n for names in MP4_SUPPORT.values() for n in names}
    kept = []
    for entry in asset.static_renditions or []:
        if entry.get("name") in legacy and entry["name"] not in wanted:
            storage.delete(keys.asset_static(asset.environment_id, asset.id, entry["name"]))
        else:
            kept.append(entry)
    have = {f.get("name") for f in kept}
    added = [_entry(name) for name in sorted(wanted - have)]
    asset.static_renditions = kept + added
    asset.settings = {**(asset.settings or {}), "mp4_support": value}
    asset.updated_at = now()
    if added:
        _queue(session, asset)


@job_kind(STATIC_KIND, max_attempts=3, timeout_s=3600)
def make_statics(ctx: JobContext) -> dict[str, Any]:
    """Make every ``preparing`` static rendition of the asset from its committed HLS output."""
    from vidlake.vod.renditions import audio_m4a, static_mp4

    services = ctx.services
    with services.db.session() as session:
        asset = session.get(Asset, ctx.payload["asset_id"])
        if asset is None or asset.deleted_at is not None or not asset.hls_prefix:
            return {"skipped": True}
        env_id, asset_id, prefix = asset.environment_id, asset.id, asset.hls_prefix
        pending = [dict(f) for f in asset.static_renditions or [] if f.get("status") == "preparing"]
    hls_dir = local_hls_dir(services, prefix)
    done: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for entry in pending:
            ctx.check()
            name = entry["name"]
            resolution = _resolution_of(name)
            dest = Path(tmp) / name
            try:
                if resolution == "audio-only":
                    made = audio_m4a(hls_dir / "master.m3u8", dest)
                else:
                    cap = {"highest": _NO_CAP, "capped-1080p": 1080}.get(resolution) or int(resolution[:-1])
                    made = static_mp4(hls_dir / "master.m3u8", dest, max_short_side=cap)
                    if resolution in NAMED and min(made.width, made.height) != cap:
                        raise ValueError(f"the ladder has no {resolution} rung")
            except (ValueError, FFmpegError) as exc:
                log.info("static rendition %s of %s skipped: %s", name, asset_id, exc)
                done[entry["id"]] = {**entry, "status": "skipped"}
                continue
            services.storage.put_file(keys.asset_static(env_id, asset_id, name), made.path,
                                      "audio/mp4" if name.endswith(".m4a") else "video/mp4")
            done[entry["id"]] = {**entry, "status": "ready", "filesize": str(made.size_bytes),
                                 **({"width": made.width, "height": made.height} if made.width else {})}
    with services.db.session() as session:
        asset = session.get(Asset, asset_id)
        if asset is None or asset.deleted_at is not None:
            return {"skipped": True}
        # Entries deleted while the job ran stay deleted; entries added since wait for their own job.
        asset.static_renditions = [done.get(f.get("id", ""), f) for f in asset.static_renditions or []]
        if any(e["status"] == "ready" for e in done.values()):
            emit_static_ready(session, asset)
    return {"made": sorted(e["name"] for e in done.values() if e["status"] == "ready")}
