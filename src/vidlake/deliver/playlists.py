"""Playlists and WebVTT as viewers get them: stored text with its URIs made relative to the playback id
and the (encoded) token of a signed id carried on. Everything goes through the HLS writer, which
refuses any value that would add a line."""

from __future__ import annotations

import math
from typing import Any

from vidlake.core.errors import NotFound, ObjectNotFound
from vidlake.deliver.access import suffix
from vidlake.deliver.resolve import PlaybackTarget
from vidlake.deliver.serve import image_key
from vidlake.package import hls
from vidlake.runtime import Services

MPEGURL = "application/vnd.apple.mpegurl"


def master(services: Services, target: PlaybackTarget, playback_id: str, query: str) -> str:
    """The multivariant playlist: variant and rendition URIs under ``{playback_id}/hls/``, subtitles for
    the asset's text tracks, ``query`` (the carried token, or empty) on every URI."""
    try:
        text = services.storage.read_bytes(f"{target.hls_prefix}/master.m3u8").decode()
    except ObjectNotFound as exc:
        raise NotFound("playlist not found") from exc
    end = suffix(query)
    playlist = hls.rewrite_uris(hls.parse(text), lambda uri: f"{playback_id}/hls/{uri}{end}")
    if target.text_tracks and isinstance(playlist, hls.MasterPlaylist):
        for track in target.text_tracks:
            playlist.renditions.append(hls.Rendition(
                type="SUBTITLES", group_id="subs", name=str(track.get("name", "Subtitles")),
                uri=f"{playback_id}/text/{track['id']}.m3u8{end}", default=False, autoselect=True,
                language=track.get("language_code")))
        for variant in playlist.variants:
            variant.extra_attributes["SUBTITLES"] = '"subs"'
    return hls.dumps(playlist)


def media(text: str, query: str) -> tuple[str, bool]:
    """A stored media playlist with ``query`` on every URI; and whether it is final (ENDLIST)."""
    playlist = hls.parse(text)
    if query:
        playlist = hls.rewrite_uris(playlist, hls.append_query(query))
    final = isinstance(playlist, hls.MediaPlaylist) and playlist.endlist
    return hls.dumps(playlist), final


def text_track(target: PlaybackTarget, track_id: str) -> dict[str, Any]:
    """The asset's text track ``track_id``. Raises ``NotFound``."""
    track = next((t for t in target.text_tracks if t.get("id") == track_id), None)
    if track is None or target.asset_id is None:
        raise NotFound(f"text track {track_id!r} not found")
    return track


def subtitles(target: PlaybackTarget, track_id: str, query: str) -> str:
    """A one-segment HLS subtitles playlist pointing at the track's WebVTT file."""
    duration = max(1.0, target.duration_s or 1.0)
    segment = hls.Segment(f"{track_id}.vtt{suffix(query)}", duration)
    playlist = hls.MediaPlaylist(segments=[segment], version=3, target_duration=math.ceil(duration),
                                 playlist_type="VOD", endlist=True)
    return hls.dumps(playlist)


def storyboard(services: Services, target: PlaybackTarget, playback_id: str, query: str) -> str:
    """The storyboard's WebVTT with its cues pointing at ``/{playback_id}/storyboard.jpg`` (with
    ``query``, already percent-encoded: it holds no line break)."""
    if target.asset_id is None or not target.images_prefix:
        raise NotFound("no storyboard for this playback id (yet)")
    try:
        text = services.storage.read_bytes(image_key(target, "storyboard.vtt")).decode()
    except ObjectNotFound as exc:
        raise NotFound("no storyboard") from exc
    return text.replace("storyboard.jpg#", f"/{playback_id}/storyboard.jpg{suffix(query)}#")
