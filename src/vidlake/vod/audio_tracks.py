"""An asset's alternate audio tracks (Mux's ``type: "audio"`` tracks): a dub or commentary added from a
file at a URL, served as one more rendition of the HLS ``AUDIO`` group (``LANGUAGE``, ``NAME``,
``DEFAULT=NO``, ``AUTOSELECT=YES``) beside the asset's primary audio.

An alternate track lives in the asset's ``tracks`` list: ``{"id", "type": "audio", "language_code",
"name", "primary": false, "status": "preparing" | "ready" | "errored", "passthrough"?, "duration"?,
"max_channels"?, "max_channel_layout"?}`` (an errored track also has ``error``). Its HLS rendition is
written under ``{hls_prefix}/audio_{track_id}/`` (fMP4 AAC, cut at the primary audio's segment length and
padded or trimmed to the asset's duration) before the track turns ``ready``; playback lists only ready
tracks, so nothing half-written is served. The work runs in the ``vod.audio_track`` job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import Conflict, InvalidParameters, NotFound
from vidlake.core.ids import new_id
from vidlake.db.models import Asset
from vidlake.events import emit
from vidlake.jobs.queue import enqueue
from vidlake.speech import languages
from vidlake.storage import Storage

AUDIO_TRACK_KIND = "vod.audio_track"
#: Most alternate audio tracks on one asset.
MAX_AUDIO_TRACKS = 10
#: Folder of an alternate track's rendition inside the asset's HLS output.
FOLDER_PREFIX = "audio_"


def rendition_folder(track_id: str) -> str:
    """The track's folder below the asset's HLS prefix (``audio_{track_id}``)."""
    return f"{FOLDER_PREFIX}{track_id}"


def alternates(asset: Asset) -> list[dict[str, Any]]:
    """The asset's alternate (non-primary) audio tracks, in the order they were added."""
    return [t for t in asset.tracks or [] if t.get("type") == "audio" and not t.get("primary")]


def add(session: Session, asset: Asset, *, url: str, language_code: str, name: str | None,
        passthrough: str | None) -> dict[str, Any]:
    """An alternate audio track from the media file at ``url`` (already checked against SSRF rules).
    The asset must be ready (its HLS output and duration known). 400 naming the field otherwise."""
    if asset.status != "ready" or not asset.hls_prefix:
        raise Conflict("the asset is not ready; alternate audio tracks are added to ready assets")
    if not languages.is_valid_tag(language_code):
        raise InvalidParameters(f"language_code: {language_code!r} is not a BCP 47 language tag")
    if len(alternates(asset)) >= MAX_AUDIO_TRACKS:
        raise InvalidParameters(f"type: an asset holds at most {MAX_AUDIO_TRACKS} alternate audio tracks")
    label = name or languages.display_name(language_code)
    taken = {str(t.get("name")) for t in alternates(asset)} | {"Default"}
    if label in taken:
        raise InvalidParameters(f"name: {label!r} is already the name of an audio track of this asset")
    track: dict[str, Any] = {"id": new_id(), "type": "audio", "language_code": language_code, "name": label,
                             "primary": False, "status": "preparing"}
    if passthrough is not None:
        track["passthrough"] = passthrough
    asset.tracks = [*(asset.tracks or []), track]
    asset.updated_at = now()
    session.flush()
    enqueue(session, AUDIO_TRACK_KIND, {"asset_id": asset.id, "track_id": track["id"], "url": url},
            environment_id=asset.environment_id)
    emit(session, asset.environment_id, "video.asset.track.created", "track", track["id"],
         {**track, "asset_id": asset.id})
    return track


def delete(session: Session, storage: Storage, asset: Asset, track: dict[str, Any]) -> None:
    """Remove an alternate audio track and its rendition (it leaves the master playlist at once)."""
    if track.get("primary"):
        raise InvalidParameters(f"track {track['id']!r} is the primary audio track; it cannot be deleted")
    asset.tracks = [t for t in asset.tracks or [] if t.get("id") != track["id"]]
    asset.updated_at = now()
    emit(session, asset.environment_id, "video.asset.track.deleted", "track", str(track["id"]),
         {**track, "status": "deleted", "asset_id": asset.id})
    if asset.hls_prefix:
        storage.delete_prefix(f"{asset.hls_prefix}/{rendition_folder(str(track['id']))}/")


def find(asset: Asset, track_id: str) -> dict[str, Any]:
    """The asset's track ``track_id``. Raises ``NotFound``."""
    track = next((t for t in asset.tracks or [] if t.get("id") == track_id), None)
    if track is None:
        raise NotFound(f"track {track_id!r} not found on asset {asset.id!r}")
    return track
