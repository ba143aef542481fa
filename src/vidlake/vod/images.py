"""Still and animated images: thumbnails, animated GIF/WebP, storyboard sprites with WebVTT.

Inputs are :class:`~vidlake.ffmpeg.MediaInput` values: preferably Vidlake's own outputs
(``MediaInput.trusted_output(path_to_mp4_or_playlist)``; a low rung playlist makes storyboards
cheap), or an upload pinned to its probed demuxer (``MediaInput.untrusted``). Times are seconds,
sizes pixels, rates frames per second.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vidlake.ffmpeg import FFmpegCommand, MediaInput, run
from vidlake.package import hls

FitMode = Literal["preserve", "stretch", "crop", "pad", "smartcrop"]
ImageFormat = Literal["jpg", "png", "webp"]
AnimFormat = Literal["gif", "webp"]

MAX_IMAGE_SIDE = 3840
MAX_ANIM_SECONDS = 10.0
MAX_ANIM_WIDTH = 640
MAX_ANIM_FPS = 30.0
MAX_STORYBOARD_TILES = 400


@dataclass(frozen=True)
class ImageResult:
    """An image written to ``path``: ``width``/``height`` pixels, ``format`` as the file type."""

    path: Path
    width: int
    height: int
    format: str


@dataclass(frozen=True)
class Storyboard:
    """A sprite sheet and its WebVTT: ``tile_width``/``tile_height`` pixels, ``interval_s`` seconds."""

    image: Path
    vtt: Path
    columns: int
    rows: int
    count: int
    tile_width: int
    tile_height: int
    interval_s: float


def _check_side(name: str, value: int | None) -> None:
    if value is not None and not 1 <= value <= MAX_IMAGE_SIDE:
        raise ValueError(f"{name} must be between 1 and {MAX_IMAGE_SIDE} pixels")


def fit_filter(width: int | None, height: int | None, fit_mode: FitMode = "preserve") -> str:
    """The scale/crop/pad filter for a thumbnail of ``width`` x ``height`` pixels.

    ``preserve``: fit inside the box keeping the aspect ratio (one side given: the other follows).
    ``stretch``: exactly the box. ``crop``/``smartcrop``: fill the box, centre-crop the overflow.
    ``pad``: fit inside, then pad to exactly the box with black.
    """
    _check_side("width", width)
    _check_side("height", height)
    if width is None and height is None:
        return "null"
    if width is None or height is None:
        return f"scale={width or -2}:{height or -2}:flags=lanczos"
    if fit_mode == "stretch":
        return f"scale={width}:{height}:flags=lanczos,setsar=1"
    if fit_mode in ("crop", "smartcrop"):
        return (f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=lanczos,"
                f"crop={width}:{height},setsar=1")
    if fit_mode == "pad":
        return (f"scale={width}:{height}:force_original_aspect_ratio=decrease:flags=lanczos,"
                f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1")
    if fit_mode == "preserve":
        return f"scale={width}:{height}:force_original_aspect_ratio=decrease:flags=lanczos,setsar=1"
    raise ValueError(f"unknown fit_mode {fit_mode!r}")


def _image_codec(fmt: str) -> list[str]:
    if fmt in ("jpg", "jpeg"):
        return ["-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p", "-strict", "-1"]
    if fmt == "png":
        return ["-c:v", "png", "-pix_fmt", "rgb24"]
    if fmt == "webp":
        return ["-c:v", "libwebp", "-quality", "80", "-pix_fmt", "yuv420p"]
    raise ValueError(f"unsupported image format {fmt!r}")


def _format_of(dest: Path, fmt: str | None) -> str:
    f = (fmt or dest.suffix.lstrip(".")).lower()
    return "jpg" if f == "jpeg" else f


def _webp_canvas(head: bytes) -> tuple[int, int] | None:
    # RIFF....WEBPVP8X: flags(1) reserved(3) canvas width-1 (24 bit LE) canvas height-1 (24 bit LE)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and head[12:16] == b"VP8X" and len(head) >= 30:
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    return None


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) in pixels of an image Vidlake wrote (trusted file; animated WebP from its
    VP8X header, the rest through PyAV)."""
    import av

    with open(path, "rb") as fh:
        canvas = _webp_canvas(fh.read(32))
    if canvas is not None:
        return canvas

    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        return cc.width, cc.height


def _media_playlist(path: Path) -> tuple[Path, hls.MediaPlaylist]:
    pl = hls.read(path)
    if isinstance(pl, hls.MasterPlaylist):
        videos = [v for v in pl.variants if v.resolution]
        if not videos:
            raise ValueError("the master playlist has no video variant")
        best = max(videos, key=lambda v: v.bandwidth if min(v.resolution or (0, 0)) <= 1080 else -v.bandwidth)
        return _media_playlist(path.parent / best.uri)
    return path, pl


def _safe_join(folder: Path, uri: str) -> Path:
    if "://" in uri or uri.startswith("/") or ".." in Path(uri).parts:
        raise ValueError(f"URI {uri!r} is not a local relative path")
    return folder / uri


@contextlib.contextmanager
def _window(source: MediaInput, start_s: float, span_s: float, workdir: Path) -> Iterator[MediaInput]:
    """An input that starts at ``start_s`` seconds and lasts ``span_s`` seconds (0: one frame).

    For a Vidlake HLS playlist, ffmpeg's hls demuxer does not seek reliably in fMP4, so the init
    segment and the segments covering the window are copied into one fragmented MP4 and read with
    the ``mov`` demuxer, seeking by absolute timestamp (segments keep their timeline).
    """
    if source.demuxer != "hls":
        yield source.with_window(seek_s=start_s, duration_s=span_s or None)
        return
    playlist_path, pl = _media_playlist(source.path)
    chosen: list[hls.Segment] = []
    t = 0.0
    for seg in pl.segments:
        seg_start, t = t, t + seg.duration
        if t > start_s and (seg_start <= start_s + span_s):
            chosen.append(seg)
    if not chosen or chosen[0].init_uri is None:
        raise ValueError(f"{start_s:g} s is past the end of the media ({t:g} s)")
    folder = playlist_path.parent
    window = workdir / "window.mp4"
    with window.open("wb") as fh:
        for part in [chosen[0].init_uri, *(s.uri for s in chosen)]:
            with _safe_join(folder, part).open("rb") as src:
                shutil.copyfileobj(src, fh)
    yield MediaInput(window, "mov", seek_s=start_s, duration_s=span_s or None, trusted=True, absolute_seek=True)


def _ensure_written(dest: Path) -> None:
    if not dest.exists() or dest.stat().st_size == 0:
        raise ValueError("ffmpeg produced no image (is the time past the end of the media?)")


def thumbnail(
    source: MediaInput,
    dest: str | Path,
    *,
    time_s: float = 0.0,
    width: int | None = None,
    height: int | None = None,
    fit_mode: FitMode = "preserve",
    format: ImageFormat | None = None,
    duration_s: float | None = None,
    timeout_s: float = 60.0,
) -> ImageResult:
    """Write one frame at ``time_s`` seconds to ``dest`` (jpg/png/webp, from ``format`` or suffix).

    ``duration_s``: the media duration in seconds, if known; times at or past it are refused.
    An HLS playlist past its end raises ``ValueError`` too."""
    out = Path(dest)
    fmt = _format_of(out, format)
    codec = _image_codec(fmt)
    if time_s < 0 or not math.isfinite(time_s):
        raise ValueError("time_s must be a finite number of seconds >= 0")
    if duration_s is not None and time_s >= duration_s:
        raise ValueError(f"time_s={time_s:g} is past the end of the media ({duration_s:g} s)")
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp, _window(source, time_s, 0.0, Path(tmp)) as src:
        cmd = FFmpegCommand()
        cmd.add_input(src)
        cmd.add_output(out, ["-map", "0:v:0", "-vf", fit_filter(width, height, fit_mode), "-frames:v", "1",
                             *codec, "-an", "-map_metadata", "-1", "-f", "image2", "-update", "1"])
        run(cmd, timeout_s=timeout_s)
    _ensure_written(out)
    w, h = image_size(out)
    return ImageResult(out, w, h, fmt)


def animated(
    source: MediaInput,
    dest: str | Path,
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
    width: int = 320,
    fps: float = 15.0,
    format: AnimFormat | None = None,
    timeout_s: float = 120.0,
) -> ImageResult:
    """Write an animated GIF or WebP of ``start_s``..``end_s`` seconds (at most 10 s), ``width``
    pixels wide (at most 640, height follows the aspect ratio), ``fps`` frames per second (<= 30)."""
    out = Path(dest)
    fmt = _format_of(out, format)
    if fmt not in ("gif", "webp"):
        raise ValueError("animated images are gif or webp")
    end = start_s + 5.0 if end_s is None else end_s
    if start_s < 0 or end <= start_s:
        raise ValueError("need 0 <= start_s < end_s")
    if end - start_s > MAX_ANIM_SECONDS:
        raise ValueError(f"animated images last at most {MAX_ANIM_SECONDS:g} s")
    if not 2 <= width <= MAX_ANIM_WIDTH:
        raise ValueError(f"width must be between 2 and {MAX_ANIM_WIDTH} pixels")
    if not 0 < fps <= MAX_ANIM_FPS:
        raise ValueError(f"fps must be in (0, {MAX_ANIM_FPS:g}]")
    out.unlink(missing_ok=True)
    tmp_ctx = tempfile.TemporaryDirectory(dir=out.parent)
    with tmp_ctx as tmp, _window(source, start_s, end - start_s, Path(tmp)) as src:
        _write_animation(src, out, fmt, width, fps, timeout_s)
    _ensure_written(out)
    w, h = image_size(out)
    return ImageResult(out, w, h, fmt)


def _write_animation(src: MediaInput, out: Path, fmt: str, width: int, fps: float, timeout_s: float) -> None:
    cmd = FFmpegCommand()
    cmd.add_input(src)
    base = f"[0:v:0]fps={fps:g},scale={width}:-2:flags=lanczos,setsar=1"
    if fmt == "gif":
        cmd.filter_complex = (f"{base},split[a][b];[a]palettegen=stats_mode=diff[p];"
                              "[b][p]paletteuse=dither=bayer:bayer_scale=5[out]")
        opts = ["-map", "[out]", "-loop", "0", "-f", "gif"]
    else:
        cmd.filter_complex = f"{base},format=yuv420p[out]"
        opts = ["-map", "[out]", "-c:v", "libwebp_anim", "-quality", "70", "-loop", "0", "-f", "webp"]
    cmd.add_output(out, [*opts, "-an", "-map_metadata", "-1"])
    run(cmd, timeout_s=timeout_s)


def _vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def storyboard_vtt(image_uri: str, *, count: int, columns: int, tile_width: int, tile_height: int,
                   interval_s: float, duration_s: float) -> str:
    """The WebVTT text mapping each interval to its tile (``image_uri#xywh=x,y,w,h``)."""
    lines = ["WEBVTT", ""]
    for i in range(count):
        start = i * interval_s
        end = min(duration_s, (i + 1) * interval_s)
        if start >= duration_s:
            break
        x, y = (i % columns) * tile_width, (i // columns) * tile_height
        lines += [f"{_vtt_time(start)} --> {_vtt_time(end)}",
                  f"{image_uri}#xywh={x},{y},{tile_width},{tile_height}", ""]
    return "\n".join(lines)


def storyboard(
    source: MediaInput,
    image_dest: str | Path,
    vtt_dest: str | Path,
    *,
    duration_s: float,
    count: int = 50,
    columns: int = 10,
    tile_width: int = 256,
    image_uri: str | None = None,
    keyframes_only: bool = False,
    timeout_s: float = 600.0,
) -> Storyboard:
    """A sprite sheet of ``count`` thumbnails, one every ``duration_s / count`` seconds, in
    ``columns`` columns of ``tile_width`` pixels (height follows the aspect ratio), plus a WebVTT
    file whose cues point at ``image_uri`` (default: the sprite's file name) with ``#xywh=``.
    ``keyframes_only`` decodes keyframes only (fast for long media; tiles snap to keyframes)."""
    if duration_s <= 0:
        raise ValueError("duration_s must be > 0")
    if not 1 <= count <= MAX_STORYBOARD_TILES:
        raise ValueError(f"count must be between 1 and {MAX_STORYBOARD_TILES}")
    if not 16 <= tile_width <= 640:
        raise ValueError("tile_width must be between 16 and 640 pixels")
    img, vtt = Path(image_dest), Path(vtt_dest)
    fmt = _format_of(img, None)
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    interval = duration_s / count
    src = MediaInput(source.path, source.demuxer, trusted=source.trusted, skip_nonkey=keyframes_only)
    img.unlink(missing_ok=True)
    cmd = FFmpegCommand()
    cmd.add_input(src)
    # fps=count/duration emits one frame per interval starting at t=0; tile pads a short last sheet.
    vf = (f"fps=fps={count}/{duration_s:.6f}:round=down,scale={tile_width}:-2:flags=bicubic,setsar=1,"
          f"tile={columns}x{rows}")
    cmd.add_output(img, ["-map", "0:v:0", "-vf", vf, "-frames:v", "1", *_image_codec(fmt), "-an",
                         "-map_metadata", "-1", "-f", "image2", "-update", "1"])
    run(cmd, timeout_s=timeout_s)
    _ensure_written(img)
    w, h = image_size(img)
    tw, th = w // columns, h // rows
    vtt.write_text(storyboard_vtt(image_uri or img.name, count=count, columns=columns, tile_width=tw,
                                  tile_height=th, interval_s=interval, duration_s=duration_s),
                   encoding="utf-8")
    return Storyboard(img, vtt, columns, rows, count, tw, th, interval)
