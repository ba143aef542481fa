"""Assets (``/video/v1/assets``): create from a URL, get, list, update, delete, playback ids."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response, status
from sqlalchemy import select

from vidlake.api.deps import PrincipalDep, ServicesDep, SessionDep
from vidlake.api.schemas.assets import (
    AssetCreate,
    AssetUpdate,
    MasterAccessUpdate,
    Mp4SupportUpdate,
    PlaybackIdCreate,
    StaticRenditionCreate,
)
from vidlake.api.schemas.common import Page, page_params
from vidlake.core.clock import now
from vidlake.core.errors import NotFound
from vidlake.core.netguard import check_url
from vidlake.db.models import Asset, PlaybackId
from vidlake.deliver.playback_ids import add_playback_id
from vidlake.vod import assets as svc
from vidlake.vod import static_on_demand as statics
from vidlake.vod.master_access import master_public, set_master_access

router = APIRouter(prefix="/video/v1/assets", tags=["assets"])


def _out(session: SessionDep, services: ServicesDep, asset: Asset) -> dict[str, Any]:
    """The asset as the API shows it, with ``master`` (whose URL needs the public base URL)."""
    out = svc.asset_public(session, asset)
    master = master_public(asset, services.settings.public_url)
    if master is not None:
        out["master"] = master
    return out


@router.post("", status_code=status.HTTP_201_CREATED)
def create_asset(body: AssetCreate, principal: PrincipalDep, session: SessionDep,
                 services: ServicesDep) -> dict[str, Any]:
    """Create an asset from a URL; it is pulled and processed by jobs."""
    assert body.input
    url = check_url(body.input[0].url, field="input[0].url",
                    allow_private=services.settings.allow_private_networks)
    request = body.pipeline_request()
    wanted = body.input[0].generated_subtitles
    if wanted:
        from vidlake.speech.tracks import check_generated

        request["generated_subtitles"] = check_generated(
            session, principal.environment_id, [g.model_dump() for g in wanted], "input[0].generated_subtitles")
    asset = svc.create_asset(session, principal.environment_id, request, input_url=url)
    return {"data": _out(session, services, asset)}


@router.get("")
def list_assets(principal: PrincipalDep, session: SessionDep, services: ServicesDep,
                page: Page = Depends(page_params),
                upload_id: str | None = None, live_stream_id: str | None = None) -> dict[str, Any]:
    """Assets of the environment, newest first."""
    query = select(Asset).where(Asset.environment_id == principal.environment_id, Asset.deleted_at.is_(None))
    if upload_id:
        query = query.where(Asset.upload_id == upload_id)
    if live_stream_id:
        query = query.where(Asset.live_stream_id == live_stream_id)
    rows = session.scalars(query.order_by(Asset.created_at.desc(), Asset.id).offset(page.offset).limit(page.limit))
    return {"data": [_out(session, services, a) for a in rows]}


@router.get("/{asset_id}")
def get_asset(asset_id: str, principal: PrincipalDep, session: SessionDep, services: ServicesDep) -> dict[str, Any]:
    """One asset."""
    return {"data": _out(session, services, svc.get_asset(session, principal.environment_id, asset_id))}


@router.get("/{asset_id}/input-info")
def get_input_info(asset_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """What the input file holds (container and tracks), as Mux's ``input-info``."""
    return {"data": svc.input_info(svc.get_asset(session, principal.environment_id, asset_id))}


@router.patch("/{asset_id}")
def update_asset(asset_id: str, body: AssetUpdate, principal: PrincipalDep, session: SessionDep,
                 services: ServicesDep) -> dict[str, Any]:
    """Update ``passthrough``."""
    asset = svc.get_asset(session, principal.environment_id, asset_id)
    if "passthrough" in body.model_fields_set:
        asset.passthrough = body.passthrough
        asset.updated_at = now()
    return {"data": _out(session, services, asset)}


@router.delete("/{asset_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_asset(asset_id: str, principal: PrincipalDep, session: SessionDep, services: ServicesDep) -> Response:
    """Delete the asset and its stored media."""
    svc.delete_asset(session, services.storage, svc.get_asset(session, principal.environment_id, asset_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{asset_id}/playback-ids", status_code=status.HTTP_201_CREATED)
def create_playback_id(asset_id: str, body: PlaybackIdCreate, principal: PrincipalDep,
                       session: SessionDep) -> dict[str, Any]:
    """Add a playback id."""
    asset = svc.get_asset(session, principal.environment_id, asset_id)
    pid = add_playback_id(session, asset.environment_id, body.policy, asset_id=asset.id)
    return {"data": {"id": pid.id, "policy": pid.policy}}


def _playback_id(session: SessionDep, environment_id: str, asset_id: str, playback_id: str) -> PlaybackId:
    svc.get_asset(session, environment_id, asset_id)
    pid = session.get(PlaybackId, playback_id)
    if pid is None or pid.asset_id != asset_id:
        raise NotFound(f"playback id {playback_id!r} not found on asset {asset_id!r}")
    return pid


@router.get("/{asset_id}/playback-ids/{playback_id}")
def get_playback_id(asset_id: str, playback_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """One playback id."""
    pid = _playback_id(session, principal.environment_id, asset_id, playback_id)
    return {"data": {"id": pid.id, "policy": pid.policy}}


@router.delete("/{asset_id}/playback-ids/{playback_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_playback_id(asset_id: str, playback_id: str, principal: PrincipalDep, session: SessionDep) -> Response:
    """Remove a playback id (its URLs stop working)."""
    session.delete(_playback_id(session, principal.environment_id, asset_id, playback_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{asset_id}/static-renditions", status_code=status.HTTP_201_CREATED)
def create_static_rendition(asset_id: str, body: StaticRenditionCreate, principal: PrincipalDep,
                            session: SessionDep) -> dict[str, Any]:
    """Ask for a static MP4/M4A of a ready asset; it is ``preparing`` until the job has made it."""
    asset = svc.get_asset(session, principal.environment_id, asset_id)
    return {"data": statics.add_static(session, asset, body.resolution, body.passthrough)}


@router.delete("/{asset_id}/static-renditions/{rendition_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_static_rendition(asset_id: str, rendition_id: str, principal: PrincipalDep, session: SessionDep,
                            services: ServicesDep) -> Response:
    """Remove a static rendition and its file."""
    asset = svc.get_asset(session, principal.environment_id, asset_id)
    statics.delete_static(session, services.storage, asset, rendition_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{asset_id}/mp4-support")
def update_mp4_support(asset_id: str, body: Mp4SupportUpdate, principal: PrincipalDep, session: SessionDep,
                       services: ServicesDep) -> dict[str, Any]:
    """Legacy MP4 support: the files of ``mp4_support`` are made, the other legacy ones removed."""
    asset = svc.get_asset(session, principal.environment_id, asset_id)
    statics.set_mp4_support(session, services.storage, asset, body.mp4_support)
    return {"data": _out(session, services, asset)}


@router.put("/{asset_id}/master-access")
def update_master_access(asset_id: str, body: MasterAccessUpdate, principal: PrincipalDep, session: SessionDep,
                         services: ServicesDep) -> dict[str, Any]:
    """``temporary``: a master-quality MP4 downloadable for 24 hours (``master.url`` once ready);
    ``none``: delete it."""
    asset = svc.get_asset(session, principal.environment_id, asset_id)
    set_master_access(session, services.storage, asset, body.master_access)
    return {"data": _out(session, services, asset)}


@router.get("/{asset_id}/similar")
def similar(asset_id: str, principal: PrincipalDep, session: SessionDep, services: ServicesDep,
            threshold: float = 0.6, limit: int = 20) -> dict[str, Any]:
    """Near-duplicates of this asset among the environment's fingerprinted assets (both need a
    completed ``fingerprint`` analysis), best first, with a similarity in [0, 1]."""
    from vidlake.api.routes.analyses import similar_assets

    if not 0 < threshold <= 1 or not 1 <= limit <= 100:
        from vidlake.core.errors import InvalidParameters

        raise InvalidParameters("threshold: must be in (0, 1]; limit: 1..100")
    return {"data": similar_assets(session, services, principal.environment_id, asset_id, threshold, limit)}
