"""Live streams (``/video/v1/live-streams``): create, get, list, delete, key reset, enable/disable,
complete, playback ids, simulcast targets, and ingest health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response, status

from vidlake.api.deps import PrincipalDep, ServicesDep, SessionDep
from vidlake.api.schemas.assets import PlaybackIdCreate
from vidlake.api.schemas.common import Page, page_params
from vidlake.api.schemas.live import (
    EmbeddedSubtitlesUpdate,
    GeneratedSubtitlesUpdate,
    LiveStreamCreate,
    LiveStreamUpdate,
    LiveSubtitleSettings,
    NewAssetStaticRenditions,
    SimulcastTargetCreate,
)
from vidlake.core.errors import NotFound
from vidlake.core.netguard import check_url
from vidlake.db.models import LiveStream, PlaybackId, SimulcastTarget
from vidlake.deliver.playback_ids import add_playback_id
from vidlake.effects.registry import parse_effects, to_json
from vidlake.effects.validate import check_sources
from vidlake.live import ingest
from vidlake.live import streams as svc
from vidlake.live.simulcast import SCHEMES
from vidlake.speech.tracks import check_generated

router = APIRouter(prefix="/video/v1/live-streams", tags=["live streams"])


def _owner_call(fn_name: str, arg: str) -> None:
    """Ask the ingest owner (when it runs in this process) to act on a live publisher."""
    owner = ingest.current()
    if owner is not None:
        getattr(owner, fn_name)(arg)


def _check_targets(services: ServicesDep, targets: list[tuple[str, SimulcastTargetCreate]]) -> None:
    """Refuse simulcast target URLs whose host is loopback/private (checked again at every publish)."""
    for field, target in targets:
        check_url(target.url, field=field, allow_private=services.settings.allow_private_networks, schemes=SCHEMES)


def _live_subtitles(session: SessionDep, environment_id: str,
                    entries: list[LiveSubtitleSettings] | None) -> list[dict[str, Any]] | None:
    """Validate ``generated_subtitles`` (a language the caption engine knows, vocabularies of this
    environment); the stored list, or ``None`` for none."""
    if not entries:
        return None
    return check_generated(session, environment_id, [e.model_dump() for e in entries], "generated_subtitles")


def _live_effects(session: SessionDep, services: ServicesDep, environment_id: str,
                  effects: list[Any] | None) -> list[dict[str, Any]] | None:
    """Validate a live stream's ``effects`` (live-capable types, sources of this environment); the
    normalised JSON, or ``None`` for none."""
    if not effects:
        return None
    params = parse_effects(effects, live=True)
    check_sources(session, services, environment_id, params)
    return to_json(params)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_live_stream(body: LiveStreamCreate, principal: PrincipalDep, session: SessionDep,
                       services: ServicesDep) -> dict[str, Any]:
    """Create a live stream; publish to ``rtmp://host:port/app/{stream_key}``."""
    _check_targets(services, [(f"simulcast_targets[{i}].url", t) for i, t in enumerate(body.simulcast_targets or [])])
    request = body.service_request()
    request["effects"] = _live_effects(session, services, principal.environment_id, body.effects)
    request["generated_subtitles"] = _live_subtitles(session, principal.environment_id, body.generated_subtitles)
    stream = svc.create_live_stream(session, principal.environment_id, request)
    return {"data": svc.live_stream_public(session, stream)}


@router.get("")
def list_live_streams(principal: PrincipalDep, session: SessionDep, page: Page = Depends(page_params),
                      status: str | None = None) -> dict[str, Any]:
    """Live streams of the environment, newest first (optionally by ``status``)."""
    rows = svc.list_live_streams(session, principal.environment_id, page.offset, page.limit, status)
    return {"data": [svc.live_stream_public(session, s) for s in rows]}


@router.get("/{live_stream_id}")
def get_live_stream(live_stream_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """One live stream."""
    return {"data": svc.live_stream_public(session, svc.get_live_stream(session, principal.environment_id,
                                                                         live_stream_id))}


@router.patch("/{live_stream_id}")
def update_live_stream(live_stream_id: str, body: LiveStreamUpdate, principal: PrincipalDep,
                       session: SessionDep, services: ServicesDep) -> dict[str, Any]:
    """Change latency mode, reconnect window, maximum continuous duration, effects or passthrough (see
    ``live.streams.update_live_stream`` for when the ingest uses them)."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    changes = body.changes()
    if "effects" in changes:
        changes["effects"] = _live_effects(session, services, principal.environment_id, changes["effects"])
    svc.update_live_stream(session, stream, changes)
    return {"data": svc.live_stream_public(session, stream)}


@router.put("/{live_stream_id}/generated-subtitles")
def update_generated_subtitles(live_stream_id: str, body: GeneratedSubtitlesUpdate, principal: PrincipalDep,
                               session: SessionDep) -> dict[str, Any]:
    """Live captions of the sessions from now on (one language; ``[]`` removes them)."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    subtitles = _live_subtitles(session, principal.environment_id, body.generated_subtitles)
    svc.update_live_stream(session, stream, {"generated_subtitles": subtitles})
    return {"data": svc.live_stream_public(session, stream)}


@router.put("/{live_stream_id}/embedded-subtitles")
def update_embedded_subtitles(live_stream_id: str, body: EmbeddedSubtitlesUpdate, principal: PrincipalDep,
                              session: SessionDep) -> dict[str, Any]:
    """Closed captions (CEA-608 channels) the publisher embeds in its video, listed in the master playlist
    from the next live session on (``[]`` removes them)."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    entries = [e.model_dump() for e in body.embedded_subtitles] or None
    svc.update_live_stream(session, stream, {"embedded_subtitles": entries})
    return {"data": svc.live_stream_public(session, stream)}


@router.put("/{live_stream_id}/new-asset-settings/static-renditions")
def set_new_asset_static_renditions(live_stream_id: str, body: NewAssetStaticRenditions, principal: PrincipalDep,
                                    session: SessionDep) -> dict[str, Any]:
    """Static renditions of the assets recorded from now on."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    svc.set_new_asset_static_renditions(session, stream, [r.resolution for r in body.static_renditions])
    return {"data": svc.live_stream_public(session, stream)}


@router.delete("/{live_stream_id}/new-asset-settings/static-renditions", status_code=status.HTTP_204_NO_CONTENT)
def delete_new_asset_static_renditions(live_stream_id: str, principal: PrincipalDep,
                                       session: SessionDep) -> Response:
    """Recorded assets get no static renditions from now on."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    svc.set_new_asset_static_renditions(session, stream, [])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{live_stream_id}/health")
def live_stream_health(live_stream_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Ingest health: bitrate (bits/s), frame rate, keyframe interval (s), codecs, bytes received, seconds
    since the last frame. ``{"connected": false}`` when nothing is live."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    owner = ingest.current()
    data = owner.health(stream.id) if owner is not None else None
    return {"data": {"status": stream.status, **(data or {"connected": False})}}


@router.delete("/{live_stream_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_live_stream(live_stream_id: str, principal: PrincipalDep, session: SessionDep) -> Response:
    """Delete the stream (a running publisher is cut; recordings stay)."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    svc.delete_live_stream(session, stream)
    session.commit()
    _owner_call("complete", stream.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{live_stream_id}/reset-stream-key", status_code=status.HTTP_201_CREATED)
def reset_stream_key(live_stream_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """New stream key; a publisher using the old key is disconnected."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    old = svc.reset_stream_key(session, stream)
    session.commit()
    _owner_call("kick_key", old)
    return {"data": svc.live_stream_public(session, stream)}


@router.put("/{live_stream_id}/disable")
def disable_live_stream(live_stream_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Refuse publishes (a running publisher is cut and the session ends)."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    svc.disable(session, stream)
    session.commit()
    _owner_call("complete", stream.id)
    return {"data": {}}


@router.put("/{live_stream_id}/enable")
def enable_live_stream(live_stream_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Accept publishes again."""
    svc.enable(session, svc.get_live_stream(session, principal.environment_id, live_stream_id))
    return {"data": {}}


@router.put("/{live_stream_id}/complete")
def complete_live_stream(live_stream_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """End the live session now: cut the publisher, skip the reconnect window, finish the recording."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    svc.request_complete(session, stream)
    session.commit()
    _owner_call("complete", stream.id)
    return {"data": {}}


# ------------------------------------------------------------------------------- playback ids

@router.post("/{live_stream_id}/playback-ids", status_code=status.HTTP_201_CREATED)
def create_playback_id(live_stream_id: str, body: PlaybackIdCreate, principal: PrincipalDep,
                       session: SessionDep) -> dict[str, Any]:
    """Add a playback id."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    pid = add_playback_id(session, stream.environment_id, body.policy, live_stream_id=stream.id)
    return {"data": {"id": pid.id, "policy": pid.policy}}


def _playback_id(session: SessionDep, stream: LiveStream, playback_id: str) -> PlaybackId:
    pid = session.get(PlaybackId, playback_id)
    if pid is None or pid.live_stream_id != stream.id:
        raise NotFound(f"playback id {playback_id!r} not found on live stream {stream.id!r}")
    return pid


@router.get("/{live_stream_id}/playback-ids/{playback_id}")
def get_playback_id(live_stream_id: str, playback_id: str, principal: PrincipalDep,
                    session: SessionDep) -> dict[str, Any]:
    """One playback id."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    pid = _playback_id(session, stream, playback_id)
    return {"data": {"id": pid.id, "policy": pid.policy}}


@router.delete("/{live_stream_id}/playback-ids/{playback_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_playback_id(live_stream_id: str, playback_id: str, principal: PrincipalDep,
                       session: SessionDep) -> Response:
    """Remove a playback id."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    session.delete(_playback_id(session, stream, playback_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------- simulcast targets

@router.post("/{live_stream_id}/simulcast-targets", status_code=status.HTTP_201_CREATED)
def create_simulcast_target(live_stream_id: str, body: SimulcastTargetCreate, principal: PrincipalDep,
                            session: SessionDep, services: ServicesDep) -> dict[str, Any]:
    """Add a simulcast target (used from the next publish on)."""
    _check_targets(services, [("url", body)])
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    target = svc.add_simulcast_target(session, stream, body.model_dump())
    session.flush()
    return {"data": svc.simulcast_public(target)}


def _simulcast(session: SessionDep, stream: LiveStream, target_id: str) -> SimulcastTarget:
    target = session.get(SimulcastTarget, target_id)
    if target is None or target.live_stream_id != stream.id:
        raise NotFound(f"simulcast target {target_id!r} not found on live stream {stream.id!r}")
    return target


@router.get("/{live_stream_id}/simulcast-targets/{target_id}")
def get_simulcast_target(live_stream_id: str, target_id: str, principal: PrincipalDep,
                         session: SessionDep) -> dict[str, Any]:
    """One simulcast target."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    return {"data": svc.simulcast_public(_simulcast(session, stream, target_id))}


@router.delete("/{live_stream_id}/simulcast-targets/{target_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_simulcast_target(live_stream_id: str, target_id: str, principal: PrincipalDep,
                            session: SessionDep) -> Response:
    """Remove a simulcast target."""
    stream = svc.get_live_stream(session, principal.environment_id, live_stream_id)
    session.delete(_simulcast(session, stream, target_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
