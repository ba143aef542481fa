"""Playback delivery: HLS playlists and segments, static MP4/M4A, thumbnails, animated images and
storyboards, under ``/{playback_id}...`` like Mux's stream and image hosts. No access token: public
playback ids are open, signed ones need ``?token=JWT`` (see ``deliver.signing``).

Live media playlists support LL-HLS blocking reload (RFC 8216bis 6.2.5.2): ``?_HLS_msn=N[&_HLS_part=M]``
answers once the playlist holds segment N (or part M of it, or anything later), polling the stored
playlist every :data:`BLOCK_POLL_S` seconds on the event loop (no database session, no worker thread held
while waiting), and 503 after three target durations.

Registered last: its two-segment paths would otherwise shadow other routes.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import tempfile
import time as clock
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from vidlake.api.deps import ServicesDep
from vidlake.core.errors import Forbidden, InvalidParameters, NotFound, ObjectNotFound
from vidlake.deliver.media import local_hls_dir, pick_rung
from vidlake.deliver.resolve import PlaybackTarget, resolve
from vidlake.deliver.signing import verify_token
from vidlake.ffmpeg import FFmpegError, MediaInput
from vidlake.package import hls
from vidlake.services import Services
from vidlake.storage import keys
from vidlake.vod.publish import content_type

router = APIRouter(tags=["playback"])

IMMUTABLE = "public, max-age=31536000, immutable"
_IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}
BLOCK_POLL_S = 0.03  #: how often a blocking playlist reload rereads the stored playlist (seconds)
ADVANCE_PART_LIMIT = 3  #: parts beyond the last listed one a blocking reload may ask for (RFC 8216bis)


def _headers(target: PlaybackTarget, cache: str) -> dict[str, str]:
    if target.policy == "signed":
        cache = cache.replace("public", "private")
    return {"Cache-Control": cache, "Access-Control-Allow-Origin": "*",
            "Access-Control-Expose-Headers": "Content-Length, Content-Range"}


def _target(services: Services, playback_id: str, token: str | None, audience: str) -> PlaybackTarget:
    with services.db.session() as session:
        target = resolve(session, playback_id)
        if target.policy == "signed":
            if not token:
                raise Forbidden("token: a signed playback id needs ?token=")
            verify_token(session, token, environment_id=target.environment_id, playback_id=playback_id,
                         audience=audience)
    return target


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for a single ``bytes=`` range, or None if it cannot be satisfied."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if not first:
            length = int(last)
            start, end = max(0, size - length), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
    except ValueError:
        return None
    return (start, end) if 0 <= start <= end < size else None


def _serve_key(services: Services, key: str, media_type: str, headers: dict[str, str],
               range_header: str | None = None) -> Response:
    """Serve a stored object; local files (with ranges) by FileResponse, remote ones streamed, with a
    single byte range when asked (206, or 416 if it cannot be satisfied)."""
    path = services.storage.local_path(key)
    if path is not None:
        return FileResponse(path, media_type=media_type, headers=headers)
    try:
        size = services.storage.size(key)
        status = 200
        if range_header:
            span = _byte_range(range_header, size)
            if span is None:
                return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
            body = services.storage.open_range(key, span[0], span[1])
            headers = {**headers, "Content-Range": f"bytes {span[0]}-{span[1]}/{size}"}
            size, status = span[1] - span[0] + 1, 206
        else:
            body = services.storage.open(key)
    except ObjectNotFound as exc:
        raise NotFound("no such file") from exc

    def chunks() -> object:
        try:
            while chunk := body.read(256 * 1024):
                yield chunk
        finally:
            body.close()

    return StreamingResponse(chunks(), media_type=media_type, status_code=status,  # type: ignore[arg-type]
                             headers={**headers, "Content-Length": str(size), "Accept-Ranges": "bytes"})


def _token_suffix(token: str | None) -> str:
    return f"?token={token}" if token else ""


@router.get("/{playback_id}.m3u8", summary="Master playlist")
def master_playlist(playback_id: str, services: ServicesDep, token: str | None = None) -> Response:
    """The multivariant playlist; its URIs carry the token to every playlist and segment."""
    target = _target(services, playback_id, token, "v")
    try:
        text = services.storage.read_bytes(f"{target.hls_prefix}/master.m3u8").decode()
    except ObjectNotFound as exc:
        raise NotFound("playlist not found") from exc
    suffix = _token_suffix(token)
    playlist = hls.rewrite_uris(hls.parse(text), lambda uri: f"{playback_id}/hls/{uri}{suffix}")
    if target.text_tracks and isinstance(playlist, hls.MasterPlaylist):
        for track in target.text_tracks:
            playlist.renditions.append(hls.Rendition(
                type="SUBTITLES", group_id="subs", name=str(track.get("name", "Subtitles")),
                uri=f"{playback_id}/text/{track['id']}.m3u8{suffix}", default=False, autoselect=True,
                language=track.get("language_code")))
        for variant in playlist.variants:
            variant.extra_attributes["SUBTITLES"] = '"subs"'

    cache = "public, max-age=300" if target.complete else "no-cache"
    return Response(hls.dumps(playlist), media_type="application/vnd.apple.mpegurl",
                    headers=_headers(target, cache))


def _directive(name: str, value: str | None) -> int | None:
    """A blocking-reload query value: a non-negative decimal integer (400 naming ``name`` otherwise)."""
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidParameters(f"{name}: must be a non-negative integer")
    return int(value)


async def _read_playlist(services: Services, key: str) -> str:
    """The stored playlist's text: read on the event loop when storage is on this disk (a small file),
    else in a worker thread."""
    try:
        path = services.storage.local_path(key)
        if path is not None:
            try:
                return path.read_text(encoding="utf-8")
            except FileNotFoundError:
                pass
        data = await run_in_threadpool(services.storage.read_bytes, key)
        return data.decode()
    except ObjectNotFound as exc:
        raise NotFound("playlist not found") from exc


async def _block(services: Services, key: str, text: str, msn: int, part: int | None) -> str | None:
    """Reread the live playlist at ``key`` until it holds segment ``msn`` (part ``part``); its text, or
    None after three target durations. Raises 400 when the request is beyond what may be waited for."""
    playlist = hls.parse(text)
    if not isinstance(playlist, hls.MediaPlaylist) or playlist.endlist:
        return text
    if msn > playlist.next_msn + 1:
        raise InvalidParameters(f"_HLS_msn: {msn} is more than two segments past the last one "
                                f"({playlist.next_msn - 1})")
    if part is not None and msn == playlist.next_msn and part >= len(playlist.parts) + ADVANCE_PART_LIMIT:
        raise InvalidParameters(f"_HLS_part: {part} is more than {ADVANCE_PART_LIMIT} parts past the last one")
    target = playlist.target_duration or max((math.ceil(s.duration) for s in playlist.segments), default=1)
    deadline = clock.monotonic() + 3 * target
    while not playlist.has_part(msn, part):
        if clock.monotonic() >= deadline:
            return None
        await asyncio.sleep(BLOCK_POLL_S)
        new = await _read_playlist(services, key)
        if new != text:
            text, parsed = new, hls.parse(new)
            if not isinstance(parsed, hls.MediaPlaylist) or parsed.endlist:
                return text
            playlist = parsed
    return text


@router.get("/{playback_id}/hls/{path:path}", summary="Media playlists and segments")
async def hls_file(
    playback_id: str,
    path: str,
    services: ServicesDep,
    token: str | None = None,
    hls_msn: Annotated[str | None, Query(alias="_HLS_msn", description="Blocking reload: segment number")] = None,
    hls_part: Annotated[str | None, Query(alias="_HLS_part", description="Blocking reload: part index")] = None,
) -> Response:
    """A media playlist (token appended to segment URIs) or a segment. On a live media playlist,
    ``_HLS_msn`` (and ``_HLS_part``) hold the answer until it lists that segment (part)."""
    if not path or ".." in path.split("/") or path.startswith("/") or len(path) > 300:
        raise NotFound("no such file")
    msn, part = _directive("_HLS_msn", hls_msn), _directive("_HLS_part", hls_part)
    if part is not None and msn is None:
        raise InvalidParameters("_HLS_part: needs _HLS_msn")
    target = await run_in_threadpool(_target, services, playback_id, token, "v")
    key = f"{target.hls_prefix}/{path}"
    if path.endswith(".m3u8"):
        text = await _read_playlist(services, key)
        if msn is not None:
            blocked = await _block(services, key, text, msn, part)
            if blocked is None:
                return Response("the playlist did not reach the requested segment in time", status_code=503,
                                media_type="text/plain", headers=_headers(target, "no-cache"))
            text = blocked
        playlist = hls.parse(text)
        if token:
            playlist = hls.rewrite_uris(playlist, hls.append_query(f"token={token}"))
        final = isinstance(playlist, hls.MediaPlaylist) and playlist.endlist
        cache = "public, max-age=300" if final and target.complete else "no-cache"
        return Response(hls.dumps(playlist), media_type="application/vnd.apple.mpegurl",
                        headers=_headers(target, cache))
    return await run_in_threadpool(_serve_key, services, key, content_type(path), _headers(target, IMMUTABLE))


def _image_key(target: PlaybackTarget, name: str) -> str:
    assert target.asset_id is not None
    return keys.asset_image(target.environment_id, target.asset_id, name)


def _cached_image(services: Services, target: PlaybackTarget, name: str, fmt: str,
                  render: object) -> Response:
    """Serve a rendered image from storage, rendering it once (``render(hls_dir, dest)``)."""
    if target.asset_id is None or not target.complete:
        raise NotFound("images are made once the asset is fully processed")
    key = _image_key(target, name)
    headers = _headers(target, "public, max-age=86400")
    if not services.storage.exists(key):
        hls_dir = local_hls_dir(services, target.hls_prefix)
        with tempfile.TemporaryDirectory(prefix="vidlake-img-", dir=services.work_dir()) as tmp:
            dest = Path(tmp) / f"out.{fmt}"
            try:
                render(hls_dir, dest)  # type: ignore[operator]
            except ValueError as exc:
                raise InvalidParameters(str(exc)) from exc
            except FFmpegError as exc:
                raise InvalidParameters(f"could not render the image: {str(exc).splitlines()[0]}") from exc
            services.storage.put_file(key, dest, _IMAGE_TYPES[fmt])
    return _serve_key(services, key, _IMAGE_TYPES[fmt], headers)


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


@router.get("/{playback_id}/thumbnail.{fmt}", summary="Thumbnail")
async def thumbnail(
    playback_id: str,
    fmt: Literal["jpg", "png", "webp"],
    services: ServicesDep,
    time: Annotated[float | None, Query(ge=0, le=86400 * 7, description="Seconds; default: the middle")] = None,
    width: Annotated[int | None, Query(ge=1, le=3840, description="Pixels")] = None,
    height: Annotated[int | None, Query(ge=1, le=3840, description="Pixels")] = None,
    fit_mode: Literal["preserve", "stretch", "crop", "smartcrop", "pad"] = "preserve",
    token: str | None = None,
) -> Response:
    """One frame at ``time`` seconds (cached after the first render)."""
    from vidlake.vod.images import thumbnail as render_thumbnail

    target = await run_in_threadpool(_target, services, playback_id, token, "t")
    if target.live_stream_id is not None:  # live: the pipeline refreshes one JPEG per segment
        if fmt != "jpg":
            raise NotFound("live thumbnails are JPEG only")
        return _serve_key(services, f"{target.hls_prefix}/thumbnail.jpg", "image/jpeg", _headers(target, "no-cache"))
    duration = target.duration_s or 0.0
    default = target.cover_time_s if target.cover_time_s is not None else duration / 2
    at = min(time if time is not None else default, max(0.0, duration - 0.05))
    name = f"thumb-{_digest(at, width, height, fit_mode)}.{fmt}"

    def render(hls_dir: Path, dest: Path) -> None:
        rung = pick_rung(hls_dir, height or (width * 9 // 16 if width else 720))
        render_thumbnail(MediaInput.trusted_output(rung), dest, time_s=at, width=width, height=height,
                         fit_mode=fit_mode, format=fmt)

    return await run_in_threadpool(_cached_image, services, target, name, fmt, render)


@router.get("/{playback_id}/animated.{fmt}", summary="Animated GIF or WebP")
async def animated(
    playback_id: str,
    fmt: Literal["gif", "webp"],
    services: ServicesDep,
    start: Annotated[float, Query(ge=0, description="Seconds")] = 0.0,
    end: Annotated[float | None, Query(gt=0, description="Seconds; default start + 5, at most start + 10")] = None,
    width: Annotated[int, Query(ge=16, le=640, description="Pixels")] = 320,
    fps: Annotated[float, Query(gt=0, le=30, description="Frames per second")] = 15,
    token: str | None = None,
) -> Response:
    """An animated clip of ``start``..``end`` seconds (cached after the first render)."""
    from vidlake.vod.images import animated as render_animated

    target = await run_in_threadpool(_target, services, playback_id, token, "g")
    duration = target.duration_s or 0.0
    stop = min(end if end is not None else start + 5.0, duration) if duration else end
    if stop is not None and stop <= start:
        raise InvalidParameters("start: must be before end and the end of the media")
    name = f"anim-{_digest(start, stop, width, fps)}.{fmt}"

    def render(hls_dir: Path, dest: Path) -> None:
        rung = pick_rung(hls_dir, width * 9 // 16)
        render_animated(MediaInput.trusted_output(rung), dest, start_s=start, end_s=stop, width=width, fps=fps,
                        format=fmt)

    return await run_in_threadpool(_cached_image, services, target, name, fmt, render)


@router.get("/{playback_id}/storyboard.vtt", summary="Storyboard (WebVTT)")
def storyboard_vtt(playback_id: str, services: ServicesDep, token: str | None = None) -> Response:
    """WebVTT cues pointing into the storyboard sprite, for scrubbing previews."""
    target = _target(services, playback_id, token, "s")
    if target.asset_id is None or not target.images_prefix:
        raise NotFound("no storyboard for this playback id (yet)")
    try:
        text = services.storage.read_bytes(_image_key(target, "storyboard.vtt")).decode()
    except ObjectNotFound as exc:
        raise NotFound("no storyboard") from exc
    text = text.replace("storyboard.jpg#", f"/{playback_id}/storyboard.jpg{_token_suffix(token)}#")
    return Response(text, media_type="text/vtt", headers=_headers(target, "public, max-age=3600"))


@router.get("/{playback_id}/storyboard.jpg", summary="Storyboard sprite")
def storyboard_image(playback_id: str, services: ServicesDep, token: str | None = None) -> Response:
    """The storyboard sprite sheet."""
    target = _target(services, playback_id, token, "s")
    if target.asset_id is None or not target.images_prefix:
        raise NotFound("no storyboard for this playback id (yet)")
    return _serve_key(services, _image_key(target, "storyboard.jpg"), "image/jpeg",
                      _headers(target, "public, max-age=3600"))


@router.get("/{playback_id}/{name}", summary="Static rendition (MP4/M4A)")
def static_rendition(playback_id: str, name: str, request: Request, services: ServicesDep,
                     token: str | None = None) -> Response:
    """``capped-1080p.mp4``, ``highest.mp4`` or ``audio.m4a`` once ready (byte ranges supported)."""
    if not name.endswith((".mp4", ".m4a")):
        raise NotFound("no such route")
    target = _target(services, playback_id, token, "v")
    ready = {f["name"] for f in target.static_files if f.get("status") == "ready"}
    if name not in ready or target.asset_id is None:
        raise NotFound(f"static rendition {name!r} is not available for this asset")
    key = keys.asset_static(target.environment_id, target.asset_id, name)
    return _serve_key(services, key, "audio/mp4" if name.endswith(".m4a") else "video/mp4",
                      _headers(target, IMMUTABLE), request.headers.get("range"))


def _text_track(target: PlaybackTarget, track_id: str) -> dict[str, object]:
    track = next((t for t in target.text_tracks if t.get("id") == track_id), None)
    if track is None or target.asset_id is None:
        raise NotFound(f"text track {track_id!r} not found")
    return track


@router.get("/{playback_id}/text/{track_id}.vtt", summary="Text track (WebVTT)")
def text_track_vtt(playback_id: str, track_id: str, services: ServicesDep, token: str | None = None) -> Response:
    """A subtitles track as WebVTT (also listed in the master playlist)."""
    target = _target(services, playback_id, token, "v")
    track = _text_track(target, track_id)
    key = _image_key(target, f"text/{track_id}.vtt")
    if not services.storage.exists(key):  # tracks made before text/{id}.vtt: captions-{language}.vtt
        key = _image_key(target, f"captions-{track.get('language_code') or 'en'}.vtt")
    return _serve_key(services, key, "text/vtt; charset=utf-8", _headers(target, "public, max-age=300"))


@router.get("/{playback_id}/text/{track_id}.m3u8", summary="Text track media playlist")
def text_track_playlist(playback_id: str, track_id: str, services: ServicesDep, token: str | None = None) -> Response:
    """A one-segment HLS subtitles playlist pointing at the WebVTT file."""
    target = _target(services, playback_id, token, "v")
    _text_track(target, track_id)
    duration = max(1.0, target.duration_s or 1.0)
    body = (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{int(duration + 0.999)}\n"
            f"#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:{duration:.3f},\n"
            f"{track_id}.vtt{_token_suffix(token)}\n#EXT-X-ENDLIST\n")
    return Response(body, media_type="application/vnd.apple.mpegurl", headers=_headers(target, "public, max-age=300"))
