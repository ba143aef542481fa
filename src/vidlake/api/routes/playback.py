"""Playback delivery routes: HLS playlists and segments, static MP4/M4A, thumbnails, animated images and
storyboards, under ``/{playback_id}...`` like Mux's stream and image hosts. No access token: public
playback ids are open, signed ones need ``?token=JWT`` (see ``deliver.signing``).

The work lives in ``deliver/``: who may play (``access``), serving stored files (``serve``), playlists
and WebVTT (``playlists``), the LL-HLS blocking reload (``blocking``), rendered images (``images``).
Each route here checks its parameters, asks those, and answers.

Registered last: its two-segment paths would otherwise shadow other routes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from vidlake.api.deps import ServicesDep
from vidlake.core.errors import InvalidParameters, NotFound
from vidlake.deliver import blocking, playlists
from vidlake.deliver.access import authorize, carried_query, check_hls_path
from vidlake.deliver.images import cached_image, digest
from vidlake.deliver.media import pick_rung
from vidlake.deliver.restrictions import ViewerDep
from vidlake.deliver.serve import IMMUTABLE, headers_for, image_key, serve_key
from vidlake.deliver.usage import COUNTER
from vidlake.ffmpeg import MediaInput
from vidlake.package.publish import content_type
from vidlake.storage import keys

router = APIRouter(tags=["playback"])


@router.get("/{playback_id}.m3u8", summary="Master playlist")
def master_playlist(playback_id: str, services: ServicesDep,
                    viewer: ViewerDep, token: str | None = None) -> Response:
    """The multivariant playlist; its URIs carry the token to every playlist and segment."""
    target = authorize(services, playback_id, token, "v", viewer)
    text = playlists.master(services, target, playback_id, carried_query(target, token))
    cache = "public, max-age=300" if target.complete else "no-cache"
    return Response(text, media_type=playlists.MPEGURL, headers=headers_for(target, cache))


@router.get("/{playback_id}/hls/{path:path}", summary="Media playlists and segments")
async def hls_file(
    playback_id: str,
    path: str,
    services: ServicesDep,
    viewer: ViewerDep,
    token: str | None = None,
    hls_msn: Annotated[str | None, Query(alias="_HLS_msn", description="Blocking reload: segment number")] = None,
    hls_part: Annotated[str | None, Query(alias="_HLS_part", description="Blocking reload: part index")] = None,
) -> Response:
    """A media playlist (token appended to segment URIs) or a segment. On a live media playlist,
    ``_HLS_msn`` (and ``_HLS_part``) hold the answer until it lists that segment (part)."""
    check_hls_path(path)
    msn, part = blocking.directives(hls_msn, hls_part)
    target = await run_in_threadpool(authorize, services, playback_id, token, "v", viewer)
    key = f"{target.hls_prefix}/{path}"
    if not path.endswith(".m3u8"):
        def segment() -> Response:
            served = serve_key(services, key, content_type(path), headers_for(target, IMMUTABLE))
            COUNTER.count(services, target, path)  # delivery usage, in memory (see deliver.usage)
            return served

        return await run_in_threadpool(segment)
    text = await blocking.read_playlist(services, key)
    if msn is not None:
        blocked = await blocking.wait_for(services, key, text, msn, part)
        if blocked is None:
            return Response("the playlist did not reach the requested segment in time", status_code=503,
                            media_type="text/plain", headers=headers_for(target, "no-cache"))
        text = blocked
    body, final = playlists.media(text, carried_query(target, token))
    cache = "public, max-age=300" if final and target.complete else "no-cache"
    return Response(body, media_type=playlists.MPEGURL, headers=headers_for(target, cache))


@router.get("/{playback_id}/thumbnail.{fmt}", summary="Thumbnail")
async def thumbnail(
    playback_id: str,
    fmt: Literal["jpg", "png", "webp"],
    services: ServicesDep,
    viewer: ViewerDep,
    time: Annotated[float | None, Query(ge=0, le=86400 * 7, description="Seconds; default: the middle")] = None,
    width: Annotated[int | None, Query(ge=1, le=3840, description="Pixels")] = None,
    height: Annotated[int | None, Query(ge=1, le=3840, description="Pixels")] = None,
    fit_mode: Literal["preserve", "stretch", "crop", "smartcrop", "pad"] = "preserve",
    token: str | None = None,
) -> Response:
    """One frame at ``time`` seconds (cached after the first render)."""
    from vidlake.vod.images import thumbnail as render_thumbnail

    target = await run_in_threadpool(authorize, services, playback_id, token, "t", viewer)
    if target.live_stream_id is not None:  # live: the pipeline refreshes one JPEG per segment
        if fmt != "jpg":
            raise NotFound("live thumbnails are JPEG only")
        return serve_key(services, f"{target.hls_prefix}/thumbnail.jpg", "image/jpeg", headers_for(target, "no-cache"))
    duration = target.duration_s or 0.0
    default = target.cover_time_s if target.cover_time_s is not None else duration / 2
    at = min(time if time is not None else default, max(0.0, duration - 0.05))
    name = f"thumb-{digest(at, width, height, fit_mode)}.{fmt}"

    def render(hls_dir: Path, dest: Path) -> None:
        rung = pick_rung(hls_dir, height or (width * 9 // 16 if width else 720))
        render_thumbnail(MediaInput.trusted_output(rung), dest, time_s=at, width=width, height=height,
                         fit_mode=fit_mode, format=fmt)

    return await run_in_threadpool(cached_image, services, target, name, fmt, render)


@router.get("/{playback_id}/animated.{fmt}", summary="Animated GIF or WebP")
async def animated(
    playback_id: str,
    fmt: Literal["gif", "webp"],
    services: ServicesDep,
    viewer: ViewerDep,
    start: Annotated[float, Query(ge=0, description="Seconds")] = 0.0,
    end: Annotated[float | None, Query(gt=0, description="Seconds; default start + 5, at most start + 10")] = None,
    width: Annotated[int, Query(ge=16, le=640, description="Pixels")] = 320,
    fps: Annotated[float, Query(gt=0, le=30, description="Frames per second")] = 15,
    token: str | None = None,
) -> Response:
    """An animated clip of ``start``..``end`` seconds (cached after the first render)."""
    from vidlake.vod.images import animated as render_animated

    target = await run_in_threadpool(authorize, services, playback_id, token, "g", viewer)
    duration = target.duration_s or 0.0
    stop = min(end if end is not None else start + 5.0, duration) if duration else end
    if stop is not None and stop <= start:
        raise InvalidParameters("start: must be before end and the end of the media")
    name = f"anim-{digest(start, stop, width, fps)}.{fmt}"

    def render(hls_dir: Path, dest: Path) -> None:
        rung = pick_rung(hls_dir, width * 9 // 16)
        render_animated(MediaInput.trusted_output(rung), dest, start_s=start, end_s=stop, width=width, fps=fps,
                        format=fmt)

    return await run_in_threadpool(cached_image, services, target, name, fmt, render)


@router.get("/{playback_id}/storyboard.vtt", summary="Storyboard (WebVTT)")
def storyboard_vtt(playback_id: str, services: ServicesDep,
                   viewer: ViewerDep, token: str | None = None) -> Response:
    """WebVTT cues pointing into the storyboard sprite, for scrubbing previews."""
    target = authorize(services, playback_id, token, "s", viewer)
    text = playlists.storyboard(services, target, playback_id, carried_query(target, token))
    return Response(text, media_type="text/vtt", headers=headers_for(target, "public, max-age=3600"))


@router.get("/{playback_id}/storyboard.jpg", summary="Storyboard sprite")
def storyboard_image(playback_id: str, services: ServicesDep,
                     viewer: ViewerDep, token: str | None = None) -> Response:
    """The storyboard sprite sheet."""
    target = authorize(services, playback_id, token, "s", viewer)
    if target.asset_id is None or not target.images_prefix:
        raise NotFound("no storyboard for this playback id (yet)")
    return serve_key(services, image_key(target, "storyboard.jpg"), "image/jpeg",
                     headers_for(target, "public, max-age=3600"))


@router.get("/{playback_id}/{name}", summary="Static rendition (MP4/M4A)")
def static_rendition(playback_id: str, name: str, request: Request, services: ServicesDep, viewer: ViewerDep,
                     token: str | None = None) -> Response:
    """``capped-1080p.mp4``, ``highest.mp4`` or ``audio.m4a`` once ready (byte ranges supported)."""
    if not name.endswith((".mp4", ".m4a")):
        raise NotFound("no such route")
    target = authorize(services, playback_id, token, "v", viewer)
    ready = {f["name"] for f in target.static_files if f.get("status") == "ready"}
    if name not in ready or target.asset_id is None:
        raise NotFound(f"static rendition {name!r} is not available for this asset")
    key = keys.asset_static(target.environment_id, target.asset_id, name)
    return serve_key(services, key, "audio/mp4" if name.endswith(".m4a") else "video/mp4",
                     headers_for(target, IMMUTABLE), request.headers.get("range"))


@router.get("/{playback_id}/text/{track_id}.vtt", summary="Text track (WebVTT)")
def text_track_vtt(playback_id: str, track_id: str, services: ServicesDep,
                   viewer: ViewerDep, token: str | None = None) -> Response:
    """A subtitles track as WebVTT (also listed in the master playlist)."""
    target = authorize(services, playback_id, token, "v", viewer)
    track = playlists.text_track(target, track_id)
    key = image_key(target, f"text/{track_id}.vtt")
    if not services.storage.exists(key):  # tracks made before text/{id}.vtt: captions-{language}.vtt
        key = image_key(target, f"captions-{track.get('language_code') or 'en'}.vtt")
    return serve_key(services, key, "text/vtt; charset=utf-8", headers_for(target, "public, max-age=300"))


@router.get("/{playback_id}/text/{track_id}.m3u8", summary="Text track media playlist")
def text_track_playlist(playback_id: str, track_id: str, services: ServicesDep,
                        viewer: ViewerDep, token: str | None = None) -> Response:
    """A one-segment HLS subtitles playlist pointing at the WebVTT file."""
    target = authorize(services, playback_id, token, "v", viewer)
    playlists.text_track(target, track_id)
    text = playlists.subtitles(target, track_id, carried_query(target, token))
    return Response(text, media_type=playlists.MPEGURL, headers=headers_for(target, "public, max-age=300"))
