"""Auto-reframe (``POST /video/v1/assets/{asset_id}/reframe``, ``GET /video/v1/reframes/{job_id}``).

A reframe is an ``asset.reframe`` job: its row is the truth about the request's status and progress,
and its result names the new asset once it exists.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from vidlake.analyze.reframe_job import ASPECT_RATIOS, REFRAME_KIND, queue_reframe
from vidlake.api.deps import PrincipalDep, SessionDep
from vidlake.api.schemas.common import NewAssetOptions
from vidlake.api.serialize import derived_asset_job
from vidlake.core.errors import Conflict, InvalidParameters, NotFound
from vidlake.db.models import Job
from vidlake.vod.assets import get_asset

router = APIRouter(tags=["reframes"])


class ReframeCreate(NewAssetOptions):
    """``POST /video/v1/assets/{asset_id}/reframe``: ``aspect_ratio`` (width:height, e.g. ``"9:16"``);
    ``playback_policy`` and ``passthrough`` of the new asset default to the source asset's."""

    aspect_ratio: str = Field("9:16", max_length=16)


def reframe_public(job: Job) -> dict[str, Any]:
    """API view of a aspect job."""
    return derived_asset_job(job, aspect_ratio=(job.payload or {}).get("aspect_ratio"))


@router.post("/video/v1/assets/{asset_id}/reframe", status_code=status.HTTP_202_ACCEPTED)
def create_reframe(asset_id: str, body: ReframeCreate, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Queue a face-following reframe of a ready asset into a new asset."""
    if body.aspect_ratio not in ASPECT_RATIOS:
        raise InvalidParameters(f"aspect_ratio: must be one of {', '.join(ASPECT_RATIOS)}")
    asset = get_asset(session, principal.environment_id, asset_id)
    if asset.status != "ready":
        raise Conflict(f"asset_id: asset is {asset.status}; reframes run on ready assets")
    if not asset.source_key:
        raise Conflict("asset_id: the asset has no stored source file to reframe")
    job_id = queue_reframe(session, asset, body.aspect_ratio, playback_policy=body.playback_policy,
                           passthrough=body.passthrough)
    return {"data": {"job_id": job_id, "source_asset_id": asset.id, "aspect_ratio": body.aspect_ratio,
                     "status": "queued"}}


@router.get("/video/v1/reframes/{job_id}")
def get_reframe(job_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Status of a reframe: ``queued``/``running``/``succeeded``/``failed``/``dead``/``cancelled``,
    ``progress`` in percent, and ``asset_id`` of the new asset once it exists."""
    job = session.get(Job, job_id)
    if job is None or job.kind != REFRAME_KIND or job.environment_id != principal.environment_id:
        raise NotFound(f"reframe {job_id!r} not found")
    return {"data": reframe_public(job)}
