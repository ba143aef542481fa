"""An asset's tracks (``/video/v1/assets/{id}/tracks``): add a subtitle file or an alternate audio track
(a dub) from a URL, generate captions from an audio track, delete. Mux's paths and shapes; the work runs
in the ``speech.text_track`` and ``vod.audio_track`` jobs."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response, status
from pydantic import Field

from vidlake.api.deps import PrincipalDep, ServicesDep, SessionDep
from vidlake.api.schemas.assets import GeneratedSubtitles
from vidlake.api.schemas.common import StrictModel
from vidlake.core.errors import InvalidParameters
from vidlake.core.netguard import check_url
from vidlake.speech import tracks as svc
from vidlake.vod import audio_tracks
from vidlake.vod.assets import get_asset

router = APIRouter(prefix="/video/v1/assets", tags=["tracks"])


class TrackCreate(StrictModel):
    """``POST /video/v1/assets/{id}/tracks``: a text track from an SRT or WebVTT file (UTF-8, UTF-16 or
    GB18030/GBK), or an alternate audio track from a media file (its first audio stream)."""

    url: str = Field(min_length=1, max_length=2048)
    type: Literal["text", "audio"] = Field(description="`text` (subtitles) or `audio` (an alternate audio "
                                           "track, listed in the HLS audio group; the asset must be ready).")
    text_type: Literal["subtitles"] = Field("subtitles", description="Text tracks only.")
    language_code: str = Field(min_length=2, max_length=35, description="BCP 47 tag, e.g. zh-CN, en-US.")
    name: str | None = Field(None, max_length=200)
    closed_captions: bool = False
    passthrough: str | None = Field(None, max_length=255)


class GenerateSubtitles(StrictModel):
    """``POST /video/v1/assets/{id}/tracks/{audio_track_id}/generate-subtitles``."""

    generated_subtitles: list[GeneratedSubtitles] = Field(min_length=1, max_length=10)


@router.post("/{asset_id}/tracks", status_code=status.HTTP_201_CREATED)
def create_track(asset_id: str, body: TrackCreate, principal: PrincipalDep, session: SessionDep,
                 services: ServicesDep) -> dict[str, Any]:
    """Add a subtitle or alternate audio track from a file at ``url``; it is ``preparing`` until fetched,
    validated (and, for audio, encoded)."""
    asset = get_asset(session, principal.environment_id, asset_id)
    url = check_url(body.url, field="url", allow_private=services.settings.allow_private_networks)
    if body.type == "audio":
        if body.closed_captions:
            raise InvalidParameters("closed_captions: only text tracks can be closed captions")
        return {"data": audio_tracks.add(session, asset, url=url, language_code=body.language_code,
                                         name=body.name, passthrough=body.passthrough)}
    track = svc.add_uploaded(session, asset, url=url, language_code=body.language_code, name=body.name,
                             closed_captions=body.closed_captions, passthrough=body.passthrough)
    return {"data": track}


@router.post("/{asset_id}/tracks/{track_id}/generate-subtitles", status_code=status.HTTP_201_CREATED)
def generate_subtitles(asset_id: str, track_id: str, body: GenerateSubtitles, principal: PrincipalDep,
                       session: SessionDep) -> dict[str, Any]:
    """Generate caption tracks from the audio track ``track_id`` of a ready asset."""
    asset = get_asset(session, principal.environment_id, asset_id)
    made = svc.add_generated(session, asset, track_id, [g.model_dump() for g in body.generated_subtitles])
    return {"data": made}


@router.delete("/{asset_id}/tracks/{track_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_track(asset_id: str, track_id: str, principal: PrincipalDep, session: SessionDep,
                 services: ServicesDep) -> Response:
    """Remove a text or alternate audio track (it leaves the master playlist at once). The primary
    audio and the video track cannot be deleted."""
    asset = get_asset(session, principal.environment_id, asset_id)
    track = audio_tracks.find(asset, track_id)
    if track.get("type") == "audio":
        audio_tracks.delete(session, services.storage, asset, track)
    else:
        svc.delete(session, services.storage, asset, track_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
