"""Live stream lifecycle: create, get, list, delete, reset key, enable/disable, and the Mux-shaped view.

Every state change is an explicit function that records its event in the same transaction. Cutting a
running publisher (key reset, disable, complete, delete) is the ingest owner's job: routes call
:func:`vidlake.live.ingest.current` after these functions.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import InvalidParameters
from vidlake.core.ids import new_id
from vidlake.db.models import LiveStream, PlaybackId, SimulcastTarget
from vidlake.db.tenancy import get_owned
from vidlake.deliver.playback_ids import add_playback_id
from vidlake.events import emit


def new_stream_key() -> str:
    """A fresh unguessable stream key (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def live_prefix(environment_id: str, live_stream_id: str, session_id: str) -> str:
    """Storage prefix of a live session that is not recorded (recorded sessions live in their asset)."""
    return f"env/{environment_id}/live/{live_stream_id}/{session_id}"


def create_live_stream(session: Session, environment_id: str, request: dict[str, Any]) -> LiveStream:
    """Create a live stream from validated fields (``playback_policy`` list, ``new_asset_settings`` dict or
    None, ``reconnect_window`` seconds, ``latency_mode``, ``max_continuous_duration`` seconds,
    ``passthrough``, ``test``, ``simulcast_targets`` list of dicts, ``effects`` validated effects JSON or
    None)."""
    stream = LiveStream(
        id=new_id(), environment_id=environment_id, stream_key=new_stream_key(), status="idle",
        passthrough=request.get("passthrough"), new_asset_settings=request.get("new_asset_settings"),
        reconnect_window=float(request.get("reconnect_window", 60.0)),
        latency_mode=request.get("latency_mode") or "standard",
        max_continuous_duration=int(request.get("max_continuous_duration") or 43200),
        test=bool(request.get("test", False)), recent_asset_ids=[], created_at=now(), updated_at=now(),
        effects=request.get("effects") or None, generated_subtitles=request.get("generated_subtitles") or None,
        embedded_subtitles=request.get("embedded_subtitles") or None,
    )
    session.add(stream)
    for policy in request.get("playback_policy") or []:
        add_playback_id(session, environment_id, policy, live_stream_id=stream.id)
    for target in request.get("simulcast_targets") or []:
        add_simulcast_target(session, stream, target)
    session.flush()
    emit(session, environment_id, "video.live_stream.created", "live_stream", stream.id,
         live_stream_public(session, stream))
    return stream


def get_live_stream(session: Session, environment_id: str, live_stream_id: str) -> LiveStream:
    """The live stream, if it belongs to ``environment_id``. Raises ``NotFound``."""
    return get_owned(session, LiveStream, live_stream_id, environment_id, "live stream")


def by_stream_key(session: Session, stream_key: str) -> LiveStream | None:
    """The (not deleted) live stream with this key."""
    stream = session.scalar(select(LiveStream).where(LiveStream.stream_key == stream_key))
    return stream if stream is not None and stream.deleted_at is None else None


def list_live_streams(session: Session, environment_id: str, offset: int, limit: int,
                      status: str | None = None) -> list[LiveStream]:
    """Live streams of the environment, newest first."""
    query = select(LiveStream).where(LiveStream.environment_id == environment_id, LiveStream.deleted_at.is_(None))
    if status:
        query = query.where(LiveStream.status == status)
    return list(session.scalars(query.order_by(LiveStream.created_at.desc(), LiveStream.id)
                                .offset(offset).limit(limit)))


def playback_ids_of(session: Session, live_stream_id: str) -> list[PlaybackId]:
    """Playback ids of a live stream, oldest first."""
    return list(session.scalars(select(PlaybackId).where(PlaybackId.live_stream_id == live_stream_id)
                                .order_by(PlaybackId.created_at)))


def simulcast_targets_of(session: Session, live_stream_id: str) -> list[SimulcastTarget]:
    """Simulcast targets of a live stream, oldest first."""
    return list(session.scalars(select(SimulcastTarget).where(SimulcastTarget.live_stream_id == live_stream_id)
                                .order_by(SimulcastTarget.created_at)))


def simulcast_public(target: SimulcastTarget) -> dict[str, Any]:
    """A simulcast target as the API shows it."""
    out: dict[str, Any] = {"id": target.id, "url": target.url, "status": target.status}
    if target.stream_key is not None:
        out["stream_key"] = target.stream_key
    if target.passthrough is not None:
        out["passthrough"] = target.passthrough
    return out


def add_simulcast_target(session: Session, stream: LiveStream, request: dict[str, Any]) -> SimulcastTarget:
    """Add a simulcast target (``url``, optional ``stream_key`` and ``passthrough``); used from the next
    publish on."""
    target = SimulcastTarget(id=new_id(), live_stream_id=stream.id, environment_id=stream.environment_id,
                             url=request["url"], stream_key=request.get("stream_key"),
                             passthrough=request.get("passthrough"), status="idle", created_at=now())
    session.add(target)
    return target


def live_stream_public(session: Session, stream: LiveStream) -> dict[str, Any]:
    """The live stream as the API shows it (Mux's field names and value sets)."""
    out: dict[str, Any] = {
        "id": stream.id,
        "created_at": str(int(stream.created_at)),
        "stream_key": stream.stream_key,
        "status": stream.status,
        "playback_ids": [{"id": p.id, "policy": p.policy} for p in playback_ids_of(session, stream.id)],
        "recent_asset_ids": list(stream.recent_asset_ids or []),
        "reconnect_window": stream.reconnect_window,
        "latency_mode": stream.latency_mode,
        "reduced_latency": stream.latency_mode == "reduced",
        "low_latency": stream.latency_mode == "low",
        "max_continuous_duration": stream.max_continuous_duration,
        "test": stream.test,
        "simulcast_targets": [simulcast_public(t) for t in simulcast_targets_of(session, stream.id)],
    }
    if stream.new_asset_settings is not None:
        out["new_asset_settings"] = _asset_settings_public(stream.new_asset_settings)
    if stream.active_asset_id:
        out["active_asset_id"] = stream.active_asset_id
    if stream.passthrough is not None:
        out["passthrough"] = stream.passthrough
    if stream.effects:
        out["effects"] = list(stream.effects)
    if stream.generated_subtitles:
        out["generated_subtitles"] = list(stream.generated_subtitles)
    if stream.embedded_subtitles:
        out["embedded_subtitles"] = list(stream.embedded_subtitles)
    if stream.connected:
        out["active_ingest_protocol"] = "rtmp"
    return out


def _asset_settings_public(settings: dict[str, Any]) -> dict[str, Any]:
    out = dict(settings)
    policies = out.pop("playback_policy", None)
    if policies:
        out["playback_policies"] = policies
    if "static_renditions" in out:
        out["static_renditions"] = [{"resolution": r} for r in out["static_renditions"]]
    return out


def set_status(session: Session, stream: LiveStream, status: str, event: str | None = None) -> None:
    """Change ``status`` and emit ``video.live_stream.{event or status}``."""
    stream.status = status
    stream.updated_at = now()
    emit(session, stream.environment_id, f"video.live_stream.{event or status}", "live_stream", stream.id,
         live_stream_public(session, stream))


#: Fields ``update_live_stream`` changes (Mux's ``UpdateLiveStreamRequest`` subset Vidlake keeps).
UPDATABLE = ("passthrough", "latency_mode", "reconnect_window", "max_continuous_duration", "effects",
             "generated_subtitles", "embedded_subtitles")


def update_live_stream(session: Session, stream: LiveStream, changes: dict[str, Any]) -> None:
    """Apply validated ``changes`` (``UPDATABLE`` keys; ``reconnect_window`` and
    ``max_continuous_duration`` in seconds), with ``video.live_stream.updated``. The ingest reads them
    when it needs them: the latency mode, effects and maximum duration when a publish starts, the reconnect
    window when a publisher drops (so a running session keeps its ladder and duration limit)."""
    for field in UPDATABLE:
        if field in changes:
            setattr(stream, field, changes[field])
    stream.updated_at = now()
    emit(session, stream.environment_id, "video.live_stream.updated", "live_stream", stream.id,
         live_stream_public(session, stream))


def set_new_asset_static_renditions(session: Session, stream: LiveStream, resolutions: list[str]) -> None:
    """The static renditions (``highest``, ``audio-only``) of the assets recorded from now on; an empty
    list removes them. Raises ``InvalidParameters`` when the stream records no assets."""
    if stream.new_asset_settings is None:
        raise InvalidParameters("new_asset_settings: this live stream does not record assets")
    settings = {k: v for k, v in stream.new_asset_settings.items() if k != "static_renditions"}
    if resolutions:
        settings["static_renditions"] = list(dict.fromkeys(resolutions))
    stream.new_asset_settings = settings
    stream.updated_at = now()


def reset_stream_key(session: Session, stream: LiveStream) -> str:
    """Give the stream a new key; returns the old one (whose publisher the caller must cut)."""
    old = stream.stream_key
    stream.stream_key = new_stream_key()
    stream.updated_at = now()
    return old


def request_complete(session: Session, stream: LiveStream) -> None:
    """Ask the ingest owner of the stream's session (in any process) to end it now."""
    stream.complete_requested_at = now()
    stream.updated_at = now()


def disable(session: Session, stream: LiveStream) -> None:
    """→ disabled (publishes are refused), with ``video.live_stream.disabled``."""
    if stream.status != "disabled":
        set_status(session, stream, "disabled")


def enable(session: Session, stream: LiveStream) -> None:
    """disabled → idle, with ``video.live_stream.enabled``."""
    if stream.status == "disabled":
        set_status(session, stream, "idle", "enabled")


def delete_live_stream(session: Session, stream: LiveStream) -> None:
    """Delete the stream and its playback ids, with ``video.live_stream.deleted`` (recordings stay)."""
    data = live_stream_public(session, stream)
    stream.deleted_at = now()
    stream.stream_key = f"deleted-{stream.id}-{new_stream_key()}"
    for pid in playback_ids_of(session, stream.id):
        session.delete(pid)
    emit(session, stream.environment_id, "video.live_stream.deleted", "live_stream", stream.id, data)
