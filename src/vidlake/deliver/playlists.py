"""Playlists and WebVTT as viewers get them: stored text with its URIs made relative to the playback id
and the (encoded) token of a signed id carried on. Everything goes through the HLS writer, which
refuses any value that would add a line."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from vidlake.core.errors import NotFound, ObjectNotFound
from vidlake.deliver.access import suffix
from vidlake.deliver.resolve import PlaybackTarget
from vidlake.deliver.serve import image_key
from vidlake.package import hls, hls_uris
from vidlake.runtime import Services
from vidlake.vod.audio_tracks import rendition_folder

AAC_LC = "mp4a.40.2"  #: CODECS of an alternate audio track (AAC-LC)

MPEGURL = "application/vnd.apple.mpegurl"


def master(services: Services, target: PlaybackTarget, playback_id: str, query: str) -> str:
    """The multivariant playlist: variant and rendition URIs under ``{playback_id}/hls/``, subtitles for
    the asset's text tracks, ``query`` (the carried token, or empty) on every URI."""
    try:
        text = services.storage.read_bytes(f"{target.hls_prefix}/master.m3u8").decode()
    except ObjectNotFound as exc:
        raise NotFound("playlist not found") from exc
    end = suffix(query)
    playlist = hls_uris.rewrite_uris(hls.parse(text), lambda uri: f"{playback_id}/hls/{uri}{end}")
    if target.audio_tracks and isinstance(playlist, hls.MasterPlaylist):
        add_audio_renditions(playlist, target.audio_tracks, lambda uri: f"{playback_id}/hls/{uri}{end}")
    if target.text_tracks and isinstance(playlist, hls.MasterPlaylist):
        for track in target.text_tracks:
            playlist.renditions.append(hls.Rendition(
                type="SUBTITLES", group_id="subs", name=str(track.get("name", "Subtitles")),
                uri=f"{playback_id}/text/{track['id']}.m3u8{end}", default=False, autoselect=True,
                language=track.get("language_code")))
        for variant in playlist.variants:
            variant.extra_attributes["SUBTITLES"] = '"subs"'
    return hls.dumps(playlist)


def add_audio_renditions(playlist: hls.MasterPlaylist, tracks: list[dict[str, Any]],
                         uri_for: Callable[[str], str]) -> None:
    """List the alternate audio ``tracks`` in the master's ``AUDIO`` group (``DEFAULT=NO``,
    ``AUTOSELECT=YES``, their ``LANGUAGE`` and ``NAME``). A video-only asset gets the group: its variants
    then name it and carry the AAC codec. ``uri_for`` maps a path below the HLS prefix to the URI."""
    group = next((r.group_id for r in playlist.renditions if r.type == "AUDIO"), None)
    if group is None:
        group = "audio"
        for variant in playlist.variants:
            variant.audio = group
            if variant.codecs and "mp4a" not in variant.codecs:
                variant.codecs += f",{AAC_LC}"
    for track in tracks:
        playlist.renditions.append(hls.Rendition(
            type="AUDIO", group_id=group, name=str(track.get("name") or track["id"]),
            uri=uri_for(f"{rendition_folder(str(track['id']))}/index.m3u8"), default=False, autoselect=True,
            language=track.get("language_code"), channels=str(track.get("max_channels") or 2)))


def media(text: str, query: str) -> tuple[str, bool]:
    """A stored media playlist with ``query`` on every URI; and whether it is final (ENDLIST)."""
    playlist = hls.parse(text)
    if query:
        playlist = hls_uris.rewrite_uris(playlist, hls_uris.append_query(query))
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
