"""Video effects as an asset job (``POST /video/v1/assets/{asset_id}/effects``,
``GET /video/v1/effects/{job_id}``): the source asset rendered through an effects list into a new
asset. The job row is the truth about status and progress; its result names the new asset."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from vidlake.analyze.reframe_job import source_policies
from vidlake.api.deps import PrincipalDep, ServicesDep, SessionDep
from vidlake.api.schemas.common import NewAssetOptions
from vidlake.api.serialize import derived_asset_job
from vidlake.core.errors import Conflict, InvalidParameters, NotFound
from vidlake.db.models import Job
from vidlake.effects.jobs import EFFECTS_KIND, queue_effects
from vidlake.effects.registry import parse_effects, to_json
from vidlake.effects.validate import check_sources
from vidlake.vod.assets import get_asset

router = APIRouter(tags=["effects"])


class EffectsCreate(NewAssetOptions):
    """``effects``: the list (see docs/effects.md); ``playback_policy`` of the new asset defaults to
    the source's, ``passthrough`` to the source asset's id."""

    effects: list[Any] = Field(..., min_length=1)


def effects_public(job: Job) -> dict[str, Any]:
    """API view of an effects job."""
    return derived_asset_job(job, effects=(job.payload or {}).get("effects"))


@router.post("/video/v1/assets/{asset_id}/effects", status_code=status.HTTP_202_ACCEPTED)
def create_effects(asset_id: str, body: EffectsCreate, principal: PrincipalDep, session: SessionDep,
                   services: ServicesDep) -> dict[str, Any]:
    """Queue an effects render of a ready video asset into a new asset."""
    params = parse_effects(body.effects)
    asset = get_asset(session, principal.environment_id, asset_id)
    if asset.status != "ready":
        raise Conflict(f"asset_id: asset is {asset.status}; effects run on ready assets")
    if not any(t.get("type") == "video" for t in asset.tracks or []):
        raise InvalidParameters("asset_id: the asset has no video (audio-only assets take no video effects)")
    check_sources(session, services, principal.environment_id, params)
    policy = body.playback_policy if body.playback_policy is not None else source_policies(session, asset.id)
    job_id = queue_effects(session, asset, to_json(params), playback_policy=list(dict.fromkeys(policy)),
                           passthrough=body.passthrough)
    return {"data": {"job_id": job_id, "source_asset_id": asset.id, "status": "queued"}}


@router.get("/video/v1/effects/{job_id}")
def get_effects(job_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Status of an effects job: ``queued``/``running``/``succeeded``/``failed``/``dead``/``cancelled``,
    ``progress`` in percent, ``asset_id`` of the new asset once it exists."""
    job = session.get(Job, job_id)
    if job is None or job.kind != EFFECTS_KIND or job.environment_id != principal.environment_id:
        raise NotFound(f"effects job {job_id!r} not found")
    return {"data": effects_public(job)}
