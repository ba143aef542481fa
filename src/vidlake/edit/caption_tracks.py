"""Read an asset's text track (WebVTT) from storage, for ``caption`` clips whose cues come from ``src``.

This is the one place the edit code knows where text tracks live: a track is an entry of the asset's
``tracks`` (``{"id", "type": "text", "language_code", "status", ...}``) and its WebVTT document is stored
at :func:`vidlake.speech.tracks.track_key` (``text/<track_id>.vtt`` among the asset's images), or, for
tracks made before that, at ``captions-<language_code>.vtt``: the same two places, in the same order,
as ``/{playback_id}/text/{track_id}.vtt`` serves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from vidlake.core.errors import ObjectNotFound
from vidlake.db.models import Asset
from vidlake.edit.captions_burn import MAX_TRACK_BYTES
from vidlake.edit.validate import ResolveError
from vidlake.runtime import Services
from vidlake.speech.tracks import track_key
from vidlake.storage import keys


def find_text_track(asset: Asset, track_id: str | None, language_code: str | None) -> dict[str, Any]:
    """The asset's ready text track with ``track_id``, else in ``language_code``, else its first one."""
    tracks = [t for t in asset.tracks or [] if t.get("type") == "text" and t.get("status", "ready") == "ready"]
    if track_id is not None:
        found = next((t for t in tracks if t.get("id") == track_id), None)
        what = f"text track {track_id!r}"
    elif language_code is not None:
        found = next((t for t in tracks if t.get("language_code") == language_code), None)
        what = f"text track in language {language_code!r}"
    else:
        found = tracks[0] if tracks else None
        what = "ready text track"
    if found is None:
        known = ", ".join(f"{t.get('id')} ({t.get('language_code')})" for t in tracks) or "none"
        raise ResolveError(f"asset {asset.id!r} has no {what}; its text tracks: {known}")
    return found


def read_text_track(services: Services, session: Session, environment_id: str, asset_id: str,
                    track_id: str | None, language_code: str | None) -> str:
    """The WebVTT document of an asset's text track (see :func:`find_text_track`); raises
    :class:`ResolveError` for a missing asset, track or file."""
    asset = session.get(Asset, asset_id)
    if asset is None or asset.deleted_at is not None or asset.environment_id != environment_id:
        raise ResolveError(f"no asset {asset_id!r} in this environment")
    track = find_text_track(asset, track_id, language_code)
    key = track_key(environment_id, asset_id, str(track.get("id")))
    if not services.storage.exists(key):  # tracks made before text/{id}.vtt
        key = keys.asset_image(environment_id, asset_id, f"captions-{track.get('language_code') or 'en'}.vtt")
    try:
        data = services.storage.read_bytes(key)
    except ObjectNotFound as exc:
        raise ResolveError(f"text track {track.get('id')!r} of asset {asset_id!r} is missing from storage") from exc
    if len(data) > MAX_TRACK_BYTES:
        raise ResolveError(f"text track {track.get('id')!r} is larger than {MAX_TRACK_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ResolveError(f"text track {track.get('id')!r} is not UTF-8 text") from exc


__all__ = ["find_text_track", "read_text_track"]
