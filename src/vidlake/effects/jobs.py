"""The ``asset.effects`` job: render a ready asset through an effects list into a NEW asset.

Steps: resolve the source asset to a local file (the edit package's library resolver, which also
loads the ``src`` of backgrounds and stickers from the same environment), probe it, run
:func:`vidlake.effects.pipeline.render_file` with progress, then in ONE transaction create the new
asset (:func:`vidlake.vod.assets.create_asset`) with the MP4 as its source under
``keys.effects_output``: the VOD pipeline processes it like any upload. A failed attempt leaves no
asset and no object behind; a retry after a successful commit returns the same asset
(``settings.effects_id``).

The new asset's ``passthrough`` defaults to the source asset's id (the link back); its ``settings``
carry ``effects_from`` (source id), ``effects`` (the validated list) and ``effects_id``.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.core.ids import new_id
from vidlake.db.models import Asset
from vidlake.edit.service import LibraryResolver
from vidlake.edit.validate import ResolveError
from vidlake.effects.pipeline import render_file, stream_info
from vidlake.effects.registry import parse_effects
from vidlake.effects.sources import SourceError
from vidlake.ffmpeg import FFmpegError, MediaInput
from vidlake.jobs.context import JobContext
from vidlake.jobs.errors import PermanentJobError
from vidlake.jobs.queue import enqueue
from vidlake.jobs.registry import job_kind
from vidlake.runtime import Services
from vidlake.storage import keys
from vidlake.vod.assets import create_asset_from_file
from vidlake.vod.probe import MediaRejected, probe

log = logging.getLogger(__name__)

EFFECTS_KIND = "asset.effects"
#: Wall-clock limit of one attempt (seconds).
EFFECTS_TIMEOUT_S = 2 * 3600.0
_INHERITED_SETTINGS = ("mp4_support", "static_renditions", "max_resolution_tier", "video_quality", "test")


def queue_effects(session: Session, source: Asset, effects: list[dict[str, Any]], *, playback_policy: list[str],
                  passthrough: str | None = None) -> str:
    """Queue an ``asset.effects`` job of ``source`` with an already validated ``effects`` list (JSON);
    returns the job id."""
    request: dict[str, Any] = {"playback_policy": playback_policy,
                               "passthrough": passthrough if passthrough is not None else source.id}
    for name in _INHERITED_SETTINGS:
        if source.settings.get(name) is not None:
            request[name] = source.settings[name]
    payload = {"source_asset_id": source.id, "effects": effects, "request": request, "effects_id": new_id()}
    return enqueue(session, EFFECTS_KIND, payload, environment_id=source.environment_id)


def _existing(session: Session, environment_id: str, effects_id: str) -> str | None:
    rows = session.scalars(select(Asset).where(Asset.environment_id == environment_id,
                                               Asset.deleted_at.is_(None)).order_by(Asset.created_at.desc()))
    return next((row.id for row in rows if row.settings.get("effects_id") == effects_id), None)


def _failed(services: Services, payload: dict[str, Any], error: str) -> None:
    log.warning("effects %s of asset %s failed: %s", payload.get("effects_id"), payload.get("source_asset_id"),
                error.splitlines()[0] if error else "")


@job_kind(EFFECTS_KIND, max_attempts=2, timeout_s=EFFECTS_TIMEOUT_S, on_final_failure=_failed)
def run_effects(ctx: JobContext) -> dict[str, Any]:
    """Render the source asset through its effects and create the new asset (module docstring)."""
    services, payload = ctx.services, ctx.payload
    source_id, effects_id = str(payload["source_asset_id"]), str(payload["effects_id"])
    started = time.monotonic()
    with services.db.session() as session:
        source = session.get(Asset, source_id)
        if source is None or source.deleted_at is not None:
            raise PermanentJobError(f"asset {source_id!r} no longer exists")
        env_id = source.environment_id
        done = _existing(session, env_id, effects_id)
        if done is not None:
            return {"asset_id": done, "source_asset_id": source_id}
    params = parse_effects(payload["effects"])
    tag = f"{ctx.job.id[:12]}-{ctx.job.attempt}"
    with tempfile.TemporaryDirectory(prefix="vidlake-effects-", dir=services.work_dir()) as tmp:
        work = Path(tmp)
        resolver = LibraryResolver(services, env_id, work_dir=work, should_stop=ctx.should_stop)
        try:
            info = resolver(f"asset:{source_id}")
            probed = probe(info.path, validate_limits=False)
        except (ResolveError, MediaRejected) as exc:
            raise PermanentJobError(f"source: {exc}") from exc
        if probed.video is None:
            raise PermanentJobError("source: the asset has no video")
        media = (MediaInput.trusted_output(info.path) if info.path.endswith(".m3u8")
                 else MediaInput.untrusted(info.path, probed.format_name))
        stream = stream_info(probed.video.display_width, probed.video.display_height, probed.video.frame_rate,
                             probed.duration_s)
        ctx.progress(3)
        out = work / "effects.mp4"
        remaining = ctx.deadline - time.monotonic() if ctx.deadline is not None else EFFECTS_TIMEOUT_S
        try:
            with ctx.final_on_last_attempt("ffmpeg failed", FFmpegError):
                result = render_file(media, out, params, stream, has_audio=probed.audio is not None, work_dir=work,
                                     load=lambda src: Path(resolver(src).path), timeout_s=max(1.0, remaining),
                                     cancel_check=ctx.should_stop, on_progress=lambda p: ctx.progress(3 + 0.9 * p))
        except (ResolveError, SourceError) as exc:
            raise PermanentJobError(f"effects: {exc}") from exc
        ctx.check()
        ctx.progress(95)
        asset_id = create_asset_from_file(
            services, env_id, payload["request"], out, lambda new: keys.effects_output(env_id, new, tag),
            {"effects_from": source_id, "effects_id": effects_id, "effects": payload["effects"]})
    return {"asset_id": asset_id, "source_asset_id": source_id, "frames": result.frames, "width": result.width,
            "height": result.height, "fps": result.fps, "speed": round(result.speed, 3),
            "effects_s": round(time.monotonic() - started, 3)}


__all__ = ["EFFECTS_KIND", "queue_effects", "run_effects"]
