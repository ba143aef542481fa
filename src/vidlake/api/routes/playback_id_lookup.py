"""``GET /video/v1/playback-ids/{playback_id}``: which asset or live stream a playback id belongs to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from vidlake.api.deps import PrincipalDep, SessionDep
from vidlake.db.models import PlaybackId
from vidlake.db.tenancy import get_owned

router = APIRouter(prefix="/video/v1/playback-ids", tags=["playback ids"])


@router.get("/{playback_id}")
def get_playback_id(playback_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """The id, its policy and ``object`` (``{"type": "asset" | "live_stream", "id": ...}``), as Mux."""
    pid = get_owned(session, PlaybackId, playback_id, principal.environment_id, "playback id")
    kind, owner = ("asset", pid.asset_id) if pid.asset_id else ("live_stream", pid.live_stream_id)
    return {"data": {"id": pid.id, "policy": pid.policy, "object": {"type": kind, "id": owner}}}
