"""The VOD pipeline jobs: ``vod.ingest`` (URL pull) and ``vod.process`` (probe, encode, publish).

``vod.process`` makes the asset playable early: it is marked ``ready`` as soon as every rendition has
its first segment (EVENT playlists), and the playlists become complete VOD playlists when the encode
ends. Each attempt writes under its own HLS version prefix; the asset row points at the committed one.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from vidlake.core.clock import now
from vidlake.core.ids import new_id
from vidlake.db.models import Asset
from vidlake.ffmpeg import FFmpegError, MediaInput
from vidlake.jobs import maintenance
from vidlake.jobs.context import JobContext
from vidlake.jobs.queue import enqueue
from vidlake.jobs.registry import job_kind
from vidlake.package.publish import HlsPublisher
from vidlake.runtime import Services
from vidlake.storage import keys
from vidlake.vod import assets as svc
from vidlake.vod.ladder import Ladder, plan_ladder
from vidlake.vod.probe import MediaRejected, ProbeResult, limits_for, probe
from vidlake.vod.pull import PullError, pull

log = logging.getLogger(__name__)

STORYBOARD_TILES = 50
#: Segment and keyframe interval of the VOD ladder (seconds); ``plan_ladder``'s default.
SEGMENT_S = 2.0


def _asset_failed(services: Services, payload: dict[str, Any], error: str) -> None:
    """Final failure of a pipeline job: the asset ends in a final, truthful state. One still preparing, or
    one already playable from its first segments whose ladder never completed (an unfinished EVENT playlist
    that would otherwise read ``transcoding`` forever), ends errored with the reason; a complete asset
    stays ready."""
    reason = error.splitlines()[0] if error else "the job failed"
    with services.db.session() as session:
        asset = session.get(Asset, payload.get("asset_id", ""))
        if asset is None or asset.deleted_at is not None:
            return
        if asset.status == "preparing":
            svc.mark_errored(session, asset, "processing_failed", f"processing failed: {reason}")
        elif asset.status == "ready" and not asset.hls_complete:
            svc.mark_errored(session, asset, "processing_failed",
                             f"processing stopped before every rendition was complete: {reason}")


def _load(services: Services, asset_id: str) -> Asset | None:
    with services.db.session() as session:
        asset = session.get(Asset, asset_id)
        if asset is None or asset.deleted_at is not None:
            return None
        return asset


@job_kind(svc.INGEST_KIND, max_attempts=3, timeout_s=4 * 3600, on_final_failure=_asset_failed)
def ingest(ctx: JobContext) -> dict[str, Any]:
    """Pull the asset's input URL into storage, then queue ``vod.process``."""
    services = ctx.services
    asset = _load(services, ctx.payload["asset_id"])
    if asset is None or asset.status != "preparing":
        return {"skipped": True}
    settings = services.settings
    source_key = keys.asset_source(asset.environment_id, asset.id)
    with tempfile.TemporaryDirectory(prefix="vidlake-pull-", dir=services.work_dir()) as tmp:
        dest = Path(tmp) / "source"

        def progress(received: int, total: int | None) -> None:
            if total:
                ctx.progress(100.0 * received / total)

        try:
            size = pull(asset.input_url or "", dest, allow_private=settings.allow_private_networks,
                        max_bytes=settings.media_max_bytes, timeout_s=settings.pull_timeout_s,
                        on_progress=progress, should_stop=ctx.should_stop)
        except PullError as exc:
            ctx.check()
            with services.db.session() as session:
                row = session.get(Asset, asset.id)
                if row is not None:
                    svc.mark_errored(session, row, "invalid_input", str(exc))
            return {"errored": str(exc)}
        services.storage.put_file(source_key, dest)
    with services.db.session() as session:
        row = session.get(Asset, asset.id)
        if row is None or row.deleted_at is not None:
            services.storage.delete(source_key)
            return {"skipped": True}
        row.source_key, row.source_size, row.updated_at = source_key, size, now()
        row.job_id = enqueue(session, svc.PROCESS_KIND, {"asset_id": row.id}, environment_id=row.environment_id,
                             idempotency_key=f"{svc.PROCESS_KIND}:{row.id}")
    return {"bytes": size}


def _tier(ladder: Ladder) -> str:
    top = ladder.top
    if top is None:
        return "audio-only"
    short = min(top.width, top.height)
    return "720p" if short <= 720 else "1080p" if short <= 1080 else "1440p" if short <= 1440 else "2160p"


def _aspect(width: int, height: int) -> str:
    g = math.gcd(width, height) or 1
    ratio = Fraction(width, height)
    for w, h in ((16, 9), (9, 16), (4, 3), (3, 4), (1, 1), (21, 9), (2, 1)):
        if abs(float(ratio) - w / h) < 0.01:
            return f"{w}:{h}"
    return f"{width // g}:{height // g}"


def _describe(asset: Asset, result: ProbeResult, ladder: Ladder) -> None:
    """Fill the asset's Mux-visible fields from the probe and the ladder."""
    duration = result.duration_s or 0.0
    tracks: list[dict[str, Any]] = []
    top = ladder.top
    if result.video is not None and top is not None:
        fps = float(ladder.frame_rate) if ladder.frame_rate else result.video.frame_rate
        tracks.append({"id": f"{asset.id[:16]}v0", "type": "video", "duration": duration,
                       "max_width": top.width, "max_height": top.height, "max_frame_rate": round(fps, 3)})
        asset.aspect_ratio = _aspect(result.video.display_width, result.video.display_height)
        asset.max_stored_frame_rate = round(fps, 3)
    if result.audio is not None and ladder.audio is not None:
        tracks.append({"id": f"{asset.id[:16]}a0", "type": "audio", "duration": duration,
                       "max_channels": ladder.audio.channels,
                       "max_channel_layout": "mono" if ladder.audio.channels == 1 else "stereo",
                       "primary": True})
    asset.tracks = tracks + [t for t in asset.tracks or []  # tracks added meanwhile
                             if t.get("type") == "text" or (t.get("type") == "audio" and not t.get("primary"))]
    asset.duration = round(duration, 6)
    asset.resolution_tier = _tier(ladder)
    asset.probe = {"format": result.format_name, "size_bytes": result.size_bytes, "bit_rate": result.bit_rate,
                   "duration": result.duration_s,
                   "video": result.video.codec if result.video else None,
                   "audio": result.audio.codec if result.audio else None,
                   "width": result.video.width if result.video else None,
                   "height": result.video.height if result.video else None,
                   "frame_rate": result.video.frame_rate if result.video else None,
                   "sample_rate": result.audio.sample_rate if result.audio else None,
                   "channels": result.audio.channels if result.audio else None}
    asset.updated_at = now()


@job_kind(svc.PROCESS_KIND, max_attempts=3, timeout_s=12 * 3600, on_final_failure=_asset_failed)
def process(ctx: JobContext) -> dict[str, Any]:
    """Probe, validate, encode the ladder to HLS (ready early), then static renditions and storyboard."""
    services = ctx.services
    storage = services.storage
    settings = services.settings
    asset = _load(services, ctx.payload["asset_id"])
    if asset is None or asset.source_key is None:
        return {"skipped": True}
    env_id, asset_id = asset.environment_id, asset.id
    with tempfile.TemporaryDirectory(prefix="vidlake-asset-", dir=services.work_dir()) as tmp:
        work = Path(tmp)
        source = storage.local_path(asset.source_key)
        if source is None:
            source = work / "source"
            storage.download(asset.source_key, source)
        try:
            result = probe(source, limits_for(services.settings))
        except MediaRejected as exc:
            with services.db.session() as session:
                row = session.get(Asset, asset_id)
                if row is not None:
                    svc.mark_errored(session, row, "invalid_input", str(exc))
            return {"errored": exc.reason}
        ladder = plan_ladder(result, max_resolution_tier=asset.settings.get("max_resolution_tier", "1080p"))
        with services.db.session() as session:
            row = session.get(Asset, asset_id)
            if row is None or row.deleted_at is not None:
                return {"skipped": True}
            _describe(row, result, ladder)
        ctx.check()

        version = f"{ctx.job.id[:12]}-{ctx.job.attempt}"
        prefix = keys.asset_hls(env_id, asset_id, version)
        out_dir = storage.local_dir(prefix) or (work / "hls")
        publisher = HlsPublisher(out_dir, storage, prefix)
        last_publish = [0.0]

        def playable(_master: Path) -> None:
            publisher.publish()
            with services.db.session() as session:
                row = session.get(Asset, asset_id)
                if row is None or row.deleted_at is not None:
                    return
                row.hls_prefix, row.hls_complete = prefix, False
                svc.mark_ready(session, row)

        def progress(percent: float) -> None:
            ctx.progress(0.9 * percent)
            if time.monotonic() - last_publish[0] > 2.0:
                last_publish[0] = time.monotonic()
                publisher.publish()

        from vidlake.vod.transcode import transcode_hls

        with ctx.final_on_last_attempt("encoding failed", FFmpegError):
            hls_result = transcode_hls(result, ladder, out_dir, preset=settings.x264_preset,
                                       threads=settings.ffmpeg_threads or None, on_progress=progress,
                                       on_playable=playable, cancel_check=ctx.should_stop,
                                       ffmpeg=settings.ffmpeg or None)
        publisher.publish()
        with services.db.session() as session:
            row = session.get(Asset, asset_id)
            if row is None or row.deleted_at is not None:
                storage.delete_prefix(prefix + "/")
                return {"skipped": True}
            row.hls_prefix, row.hls_complete, row.updated_at = prefix, True, now()
            svc.mark_ready(session, row)
            wanted = _wanted_static(row)
        _remove_other_versions(services, env_id, asset_id, version)
        ctx.progress(90)
        statics = _static_renditions(ctx, out_dir / "master.m3u8", wanted, env_id, asset_id, work)
        ctx.progress(97)
        storyboard = _storyboard(services, out_dir, hls_result.duration_s, env_id, asset_id, work)
    with services.db.session() as session:
        row = session.get(Asset, asset_id)
        if row is not None and row.deleted_at is None:
            row.static_renditions = statics
            row.images_prefix = keys.asset_image(env_id, asset_id, "") if storyboard else None
            if statics:
                emit_static_ready(session, row)
    # The analyses (``settings.analyses``) and generated subtitles (``settings.generated_subtitles``)
    # of the asset are queued by ``analyze.jobs`` and ``speech.jobs`` when this job succeeds.
    return {"version": version, "wall_s": round(hls_result.wall_s, 3),
            "playable_after_s": hls_result.playable_after_s, "renditions": [v.name for v in hls_result.variants]}


def emit_static_ready(session: Any, asset: Asset) -> None:
    """``video.asset.static_renditions.ready`` once the static files exist."""
    from vidlake.events import emit

    emit(session, asset.environment_id, "video.asset.static_renditions.ready", "asset", asset.id,
         svc.asset_public(session, asset))


def _wanted_static(asset: Asset) -> list[str]:
    names: list[str] = []
    mp4 = asset.settings.get("mp4_support") or "none"
    if "capped-1080p" in mp4:
        names.append("capped-1080p.mp4")
    if mp4 == "standard":
        names.append("highest.mp4")
    if "audio-only" in mp4:
        names.append("audio.m4a")
    for resolution in asset.settings.get("static_renditions") or []:
        name = "highest.mp4" if resolution == "highest" else "audio.m4a"
        if name not in names:
            names.append(name)
    return names


def _static_renditions(ctx: JobContext, master: Path, wanted: list[str], env_id: str, asset_id: str,
                       work: Path) -> list[dict[str, Any]]:
    from vidlake.vod.renditions import audio_m4a, static_mp4

    files: list[dict[str, Any]] = []
    for name in wanted:
        ctx.check()
        dest = work / name
        try:
            made = audio_m4a(master, dest) if name.endswith(".m4a") else static_mp4(master, dest)
        except (ValueError, FFmpegError) as exc:
            log.warning("static rendition %s of %s skipped: %s", name, asset_id, exc)
            files.append({"id": new_id(), "name": name, "ext": name.rsplit(".", 1)[1], "status": "skipped"})
            continue
        ctx.services.storage.put_file(keys.asset_static(env_id, asset_id, name), dest,
                                      "audio/mp4" if name.endswith(".m4a") else "video/mp4")
        entry: dict[str, Any] = {"id": new_id(), "name": name, "ext": name.rsplit(".", 1)[1], "status": "ready",
                                 "filesize": str(dest.stat().st_size), "type": "standard"}
        for attr in ("width", "height", "bitrate"):
            value = getattr(made, attr, None)
            if value:
                entry[attr] = int(value)
        files.append(entry)
    return files


def _storyboard(services: Services, hls_dir: Path, duration_s: float, env_id: str, asset_id: str,
                work: Path) -> bool:
    """Storyboard sprite + VTT from the lowest video rung (keyframes only: cheap)."""
    from vidlake.vod.images import storyboard

    playlists = sorted(p for p in hls_dir.glob("*/index.m3u8") if p.parent.name != "audio")
    if not playlists or duration_s <= 0:
        return False
    lowest = min(playlists, key=lambda p: _rung_height(p.parent.name))
    sprite, vtt = work / "storyboard.jpg", work / "storyboard.vtt"
    # Long media: decode keyframes only (one every segment), so never ask for more tiles than keyframes.
    keyframes_only = duration_s > 120
    count = int(duration_s // SEGMENT_S) if keyframes_only else int(duration_s)
    try:
        storyboard(MediaInput.trusted_output(lowest), sprite, vtt, duration_s=duration_s,
                   count=min(STORYBOARD_TILES, max(1, count)), columns=10, tile_width=256,
                   image_uri="storyboard.jpg", keyframes_only=keyframes_only)
    except (ValueError, FFmpegError) as exc:
        log.warning("storyboard of %s failed: %s", asset_id, exc)
        return False
    services.storage.put_file(keys.asset_image(env_id, asset_id, "storyboard.jpg"), sprite, "image/jpeg")
    services.storage.put_file(keys.asset_image(env_id, asset_id, "storyboard.vtt"), vtt, "text/vtt")
    return True


def _rung_height(name: str) -> int:
    digits = "".join(c for c in name if c.isdigit())
    return int(digits) if digits else 10**6


def _remove_other_versions(services: Services, env_id: str, asset_id: str, keep: str) -> None:
    base = keys.asset_hls(env_id, asset_id, "x").rsplit("/", 1)[0] + "/"
    versions = {key[len(base):].split("/", 1)[0] for key in services.storage.list(base)}
    for version in versions - {keep}:
        services.storage.delete_prefix(f"{base}{version}/")
    local = services.storage.local_dir(base.rstrip("/"))
    if local is not None:
        for child in local.iterdir():
            if child.is_dir() and child.name != keep:
                shutil.rmtree(child, ignore_errors=True)


_last_expiry = [0.0]


def _expire_uploads(services: Services) -> None:
    """Maintenance: time out abandoned direct uploads (at most every 30 s)."""
    if time.monotonic() - _last_expiry[0] < 30:
        return
    _last_expiry[0] = time.monotonic()
    from vidlake.vod.uploads import expire_uploads

    expire_uploads(services.db, services.settings.data_dir)


maintenance.add_hook(_expire_uploads)
