"""Analyses (``/video/v1/analyses``): scenes, smart cover, faces, quality, captions, fingerprints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, status
from pydantic import Field
from sqlalchemy import select

from vidlake.analyze import registry, service
from vidlake.api.deps import PrincipalDep, ServicesDep, SessionDep
from vidlake.api.schemas.common import Page, StrictModel, page_params
from vidlake.db.models import Analysis
from vidlake.vod.assets import get_asset

router = APIRouter(prefix="/video/v1/analyses", tags=["analyses"])


class AnalysisCreate(StrictModel):
    """``POST /video/v1/analyses``."""

    asset_id: str = Field(min_length=1, max_length=64)
    kinds: list[str] = Field(min_length=1, max_length=service.MAX_KINDS)


@router.get("/kinds")
def list_kinds(principal: PrincipalDep) -> dict[str, Any]:
    """The analysis kinds this server can run."""
    return {"data": registry.kinds()}


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: AnalysisCreate, principal: PrincipalDep, session: SessionDep, services: ServicesDep) -> dict[str, Any]:
    """Queue an analysis of a ready asset."""
    asset = get_asset(session, principal.environment_id, body.asset_id)
    if asset.status != "ready":
        from vidlake.core.errors import Conflict

        raise Conflict(f"asset_id: asset is {asset.status}; analyses run on ready assets")
    analysis = service.create_analysis(session, asset, body.kinds)
    return {"data": service.analysis_public(services, analysis, results=False)}


@router.get("")
def list_analyses(principal: PrincipalDep, session: SessionDep, services: ServicesDep,
                  page: Page = Depends(page_params), asset_id: str | None = None) -> dict[str, Any]:
    """Analyses of the environment, newest first (without full results)."""
    query = select(Analysis).where(Analysis.environment_id == principal.environment_id)
    if asset_id:
        query = query.where(Analysis.asset_id == asset_id)
    rows = session.scalars(query.order_by(Analysis.created_at.desc()).offset(page.offset).limit(page.limit))
    return {"data": [service.analysis_public(services, a, results=False) for a in rows]}


def similar_assets(session: SessionDep, services: ServicesDep, environment_id: str, asset_id: str,
                   threshold: float, limit: int) -> list[dict[str, Any]]:
    """Assets of the environment whose fingerprints match ``asset_id``'s, best first."""
    from vidlake.analyze.fingerprint import Fingerprint, find_similar
    from vidlake.core.errors import Conflict

    get_asset(session, environment_id, asset_id)
    mine = service.latest_results(services, session, asset_id, "fingerprint")
    if not mine:
        raise Conflict("asset_id: run a \"fingerprint\" analysis of this asset first")
    others: dict[str, Fingerprint] = {}
    rows = session.scalars(select(Analysis).where(Analysis.environment_id == environment_id,
                                                  Analysis.status == "completed", Analysis.asset_id != asset_id)
                           .order_by(Analysis.created_at.desc()))
    for row in rows:
        if "fingerprint" not in row.kinds or row.asset_id in others:
            continue
        data = service.latest_results(services, session, row.asset_id, "fingerprint")
        if data:
            others[row.asset_id] = Fingerprint.from_dict(data)
    ranked = find_similar(Fingerprint.from_dict(mine), others, threshold=threshold)
    return [{"asset_id": other, "similarity": round(score, 4)} for other, score in ranked[:limit]]


@router.get("/{analysis_id}")
def get(analysis_id: str, principal: PrincipalDep, session: SessionDep, services: ServicesDep) -> dict[str, Any]:
    """One analysis, with its full results once completed."""
    return {"data": service.analysis_public(services, service.get_analysis(session, principal.environment_id,
                                                                           analysis_id))}
