"""The ``asset.reframe`` job: make a face-following 9:16 / 1:1 copy of a ready asset as a NEW asset.

Steps: get a local copy of the source asset's original file, run :func:`vidlake.analyze.reframe.reframe`
(reusing the faces results of an earlier ``faces`` analysis when there is one, else detecting faces and
motion in one decode), then, in ONE database transaction, create the new asset with
:func:`vidlake.vod.assets.create_asset` and store the MP4 as its source under
``keys.reframe_output(env, new_asset_id, tag)``, so the VOD pipeline processes it like any upload and
deleting the new asset deletes the file. If storing or committing fails the stored file is deleted and
the transaction rolls back: a failed attempt leaves no asset and no object behind.

The new asset's ``settings`` carry ``reframed_from`` (source asset id), ``aspect`` (``"9:16"``...) and
``reframe_id`` (the request's id, which makes a retry after a successful commit return the same asset
instead of creating a second one). The job's result holds ``asset_id`` once the asset exists.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.analyze import service
from vidlake.analyze.reframe import reframe
from vidlake.core.errors import NotFound
from vidlake.core.ids import new_id
from vidlake.db.models import Asset, PlaybackId
from vidlake.ffmpeg import FFmpegError
from vidlake.jobs.context import JobContext
from vidlake.jobs.errors import PermanentJobError
from vidlake.jobs.queue import enqueue
from vidlake.jobs.registry import job_kind
from vidlake.runtime import Services
from vidlake.storage import keys
from vidlake.vod.assets import create_asset

log = logging.getLogger(__name__)

REFRAME_KIND = "asset.reframe"
#: Aspect ratios (width:height) the API accepts.
ASPECT_RATIOS = ("9:16", "1:1", "4:5")
#: Wall-clock limit of one attempt (seconds).
REFRAME_TIMEOUT_S = 2 * 3600.0
#: Source settings the new asset inherits (delivery options, not processing results).
_INHERITED_SETTINGS = ("mp4_support", "static_renditions", "max_resolution_tier", "video_quality", "test")


def source_policies(session: Session, asset_id: str) -> list[str]:
    """Distinct playback policies (``public``/``signed``) of an asset's playback ids, oldest first."""
    rows = session.scalars(select(PlaybackId.policy).where(PlaybackId.asset_id == asset_id)
                           .order_by(PlaybackId.created_at))
    return list(dict.fromkeys(rows))


def queue_reframe(session: Session, source: Asset, aspect_ratio: str, *,
                  playback_policy: Sequence[str] | None = None, passthrough: str | None = None) -> str:
    """Queue an ``asset.reframe`` job of ``source`` (a ready asset); returns the job id.

    ``playback_policy`` defaults to the source's policies, ``passthrough`` to the source's."""
    request: dict[str, Any] = {
        "playback_policy": list(dict.fromkeys(playback_policy)) if playback_policy is not None
        else source_policies(session, source.id),
        "passthrough": passthrough if passthrough is not None else source.passthrough,
    }
    for name in _INHERITED_SETTINGS:
        if source.settings.get(name) is not None:
            request[name] = source.settings[name]
    payload = {"source_asset_id": source.id, "aspect_ratio": aspect_ratio, "request": request,
               "reframe_id": new_id()}
    return enqueue(session, REFRAME_KIND, payload, environment_id=source.environment_id)


def _reframe_failed(services: Services, payload: dict[str, Any], error: str) -> None:
    """Final failure: every attempt already cleaned up after itself (no asset, no stored file)."""
    log.warning("reframe %s of asset %s failed: %s", payload.get("reframe_id"), payload.get("source_asset_id"),
                error.splitlines()[0] if error else "")


def _existing(session: Session, environment_id: str, reframe_id: str, source_id: str) -> str | None:
    """The asset an earlier attempt of this request already created, if any."""
    rows = session.scalars(select(Asset).where(Asset.environment_id == environment_id,
                                               Asset.deleted_at.is_(None)).order_by(Asset.created_at.desc()))
    for row in rows:
        if row.settings.get("reframe_id") == reframe_id and row.settings.get("reframed_from") == source_id:
            return row.id
    return None


@job_kind(REFRAME_KIND, max_attempts=2, timeout_s=REFRAME_TIMEOUT_S, on_final_failure=_reframe_failed)
def run_reframe(ctx: JobContext) -> dict[str, Any]:
    """Reframe the source asset and create the new asset from the result (see module docstring)."""
    services, payload = ctx.services, ctx.payload
    source_id, aspect = str(payload["source_asset_id"]), str(payload["aspect_ratio"])
    reframe_id = str(payload["reframe_id"])
    started = time.monotonic()
    with services.db.session() as session:
        source = session.get(Asset, source_id)
        if source is None or source.deleted_at is not None:
            raise PermanentJobError(f"asset {source_id!r} no longer exists")
        env_id = source.environment_id
        done = _existing(session, env_id, reframe_id, source_id)
        if done is not None:
            return {"asset_id": done, "source_asset_id": source_id, "aspect_ratio": aspect}
        faces = service.latest_results(services, session, source_id, "faces")
        session.expunge(source)
    ctx.progress(2)
    tag = f"{ctx.job.id[:12]}-{ctx.job.attempt}"
    with tempfile.TemporaryDirectory(prefix="vidlake-reframe-", dir=services.work_dir()) as tmp:
        work = Path(tmp)
        try:
            media = service.local_media(services, source, work)
        except NotFound as exc:
            raise PermanentJobError(str(exc)) from exc
        ctx.progress(5)
        out = work / "reframed.mp4"
        remaining = ctx.deadline - time.monotonic() if ctx.deadline is not None else REFRAME_TIMEOUT_S
        render_from = 10.0 if faces is None else 5.0
        with ctx.final_on_last_attempt("ffmpeg failed", FFmpegError):
            result = reframe(media, out, aspect, faces_result=faces, timeout_s=max(1.0, remaining),
                             cancel_check=ctx.should_stop,
                             on_progress=lambda p: ctx.progress(render_from + (90 - render_from) * p / 100.0))
        ctx.check()
        ctx.progress(92)
        size = out.stat().st_size
        key: str | None = None
        try:
            with services.db.session() as session:
                asset = create_asset(session, env_id, dict(payload["request"]), source_key="pending",
                                     source_size=size)
                key = keys.reframe_output(env_id, asset.id, tag)
                asset.source_key = key
                asset.settings = {**asset.settings, "reframed_from": source_id, "aspect": aspect,
                                  "reframe_id": reframe_id, "face_fraction": round(result.face_fraction, 3)}
                services.storage.put_file(key, out, "video/mp4")
                asset_id = asset.id
        except BaseException:
            if key is not None:
                try:
                    services.storage.delete(key)
                except Exception:  # the original error matters more
                    log.exception("could not delete %s", key)
            raise
    return {"asset_id": asset_id, "source_asset_id": source_id, "aspect_ratio": aspect, "bytes": size,
            "width": result.width, "height": result.height, "face_fraction": round(result.face_fraction, 3),
            "reused_faces": faces is not None, "reframe_s": round(time.monotonic() - started, 3)}


__all__ = ["ASPECT_RATIOS", "REFRAME_KIND", "queue_reframe", "run_reframe", "source_policies"]
