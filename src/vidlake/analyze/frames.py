"""One frame source for every analyser: decode a local video once, at reduced resolution.

Decoding is the expensive part of video analysis, so it happens once per run and every analyser
receives the same :class:`Frame`. Frames are reduced by *decimation of the decoded planes*: the Y, U
and V planes are sampled on a regular grid (one pixel every ``factor`` pixels) directly from the
decoder's buffers, so no full-resolution colour conversion ever happens. The result is a small
YUV 4:4:4 image (about ``short_side`` pixels on the short side); RGB and luma views are derived from
it on demand.

Safety: only local regular files are opened, FFmpeg is told to use the ``file`` protocol alone
(no ``http``, ``concat``, ``subfile``... protocols behind a crafted playlist) and only the demuxers in
``allowed_formats`` may probe the input.

Speed: ``fast=True`` tells the decoder to skip non-reference frames (in a typical H.264 stream with
B-frames this drops about half of the frames, and cuts usually fall on reference frames because
encoders place I/P frames there). ``step`` keeps one frame in ``step`` of those decoded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

#: Demuxers accepted by default (FFmpeg names, as reported by ``container.format.name``).
ALLOWED_FORMATS: frozenset[str] = frozenset(
    {
        "mov,mp4,m4a,3gp,3g2,mj2",
        "matroska,webm",
        "mpegts",
        "flv",
        "avi",
        "mpeg",
        "h264",
        "hevc",
        "ivf",
        "ogg",
        "mxf",
        "asf",
    }
)

#: Planar 8-bit YUV pixel formats read by plane decimation; others go through swscale.
_PLANAR_YUV: dict[str, tuple[int, int]] = {
    # name: (log2 horizontal chroma subsampling, log2 vertical chroma subsampling)
    "yuv420p": (1, 1),
    "yuvj420p": (1, 1),
    "yuv422p": (1, 0),
    "yuvj422p": (1, 0),
    "yuv444p": (0, 0),
    "yuvj444p": (0, 0),
}

Image = npt.NDArray[np.uint8]


class FrameSourceError(ValueError):
    """The input may not be opened (not a local file, a forbidden container) or has no video."""


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What an analyser may want to know before the first frame.

    ``fps`` is the stream's average frame rate (frames per second, 0.0 when unknown),
    ``duration`` the container duration in seconds (0.0 when unknown), ``width``/``height`` the coded
    size and ``frame_width``/``frame_height`` the size of the reduced frames handed to analysers
    (pixels), ``sample_period`` the nominal time between two analysed frames (seconds).
    """

    path: str
    format_name: str
    codec: str
    width: int
    height: int
    frame_width: int
    frame_height: int
    fps: float
    duration: float
    sample_period: float


class Frame:
    """One decoded frame at reduced resolution.

    ``index`` counts decoded frames in presentation order (0-based, skipped frames not counted);
    ``time`` is the presentation time in seconds from the stream start; ``yuv`` is an
    ``(height, width, 3)`` uint8 array (Y, Cb, Cr planes sampled on the same grid, video range as
    stored in the file). ``rgb`` and ``luma`` are derived views, computed once on first use.
    """

    __slots__ = ("_rgb", "full_range", "index", "time", "yuv")

    def __init__(self, index: int, time: float, yuv: Image, full_range: bool = False) -> None:
        self.index = index
        self.time = time
        self.yuv = yuv
        self.full_range = full_range
        self._rgb: Image | None = None

    @property
    def luma(self) -> Image:
        """The Y plane, ``(height, width)`` uint8."""
        return self.yuv[:, :, 0]

    @property
    def rgb(self) -> Image:
        """RGB, ``(height, width, 3)`` uint8, converted with BT.709 coefficients."""
        if self._rgb is None:
            self._rgb = yuv_to_rgb(self.yuv, full_range=self.full_range)
        return self._rgb


def yuv_to_rgb(yuv: Image, *, full_range: bool = False) -> Image:
    """Convert a ``(h, w, 3)`` YCbCr uint8 image to RGB uint8 (BT.709 matrix)."""
    f = yuv.astype(np.float32)
    y = f[:, :, 0]
    cb = f[:, :, 1] - 128.0
    cr = f[:, :, 2] - 128.0
    if not full_range:
        y = (y - 16.0) * (255.0 / 219.0)
        cb *= 255.0 / 224.0
        cr *= 255.0 / 224.0
    rgb = np.empty_like(f)
    rgb[:, :, 0] = y + 1.5748 * cr
    rgb[:, :, 1] = y - 0.1873 * cb - 0.4681 * cr
    rgb[:, :, 2] = y + 1.8556 * cb
    out: Image = np.clip(rgb, 0.0, 255.0).astype(np.uint8)
    return out


def _check_path(path: str | os.PathLike[str]) -> str:
    text = os.fspath(path)
    if "://" in text or text.startswith(("pipe:", "data:", "concat:", "subfile,")):
        raise FrameSourceError(f"only local files may be analysed, not {text!r}")
    if not Path(text).is_file():
        raise FrameSourceError(f"no such file: {text!r}")
    return text


def decimation_factor(width: int, height: int, short_side: int) -> int:
    """Integer sampling step so that the short side ends near ``short_side`` pixels (>= 1)."""
    return max(1, round(min(width, height) / max(1, short_side)))


def read_frames(
    path: str | os.PathLike[str],
    *,
    short_side: int = 160,
    step: int = 1,
    fast: bool = True,
    container_format: str | None = None,
    allowed_formats: frozenset[str] = ALLOWED_FORMATS,
    info_out: list[VideoInfo] | None = None,
) -> Iterator[Frame]:
    """Decode the first video stream of a local file and yield reduced :class:`Frame` objects.

    ``short_side`` is the target short side of the yielded frames in pixels (an integer decimation
    factor is used, so the result is approximate); ``step`` keeps every ``step``-th decoded frame;
    ``fast`` skips non-reference frames in the decoder; ``container_format`` pins the demuxer
    (e.g. ``"mp4"``) instead of probing; ``allowed_formats`` lists accepted demuxer names. When
    ``info_out`` is a list, a :class:`VideoInfo` is appended to it before the first frame is yielded.
    """
    if step < 1:
        raise ValueError("step must be >= 1")
    text = _check_path(path)
    options = {"protocol_whitelist": "file"}
    try:
        container = av.open(text, mode="r", format=container_format, options=options)
    except av.error.FFmpegError as exc:
        raise FrameSourceError(f"cannot open {text!r}: {exc}") from exc
    with container:
        if container.format.name not in allowed_formats:
            raise FrameSourceError(f"container format {container.format.name!r} is not allowed")
        if not container.streams.video:
            raise FrameSourceError(f"{text!r} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if fast:
            stream.codec_context.skip_frame = "NONREF"
        yield from _decode(container, stream, text, short_side, step, info_out)


def _decode(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    path: str,
    short_side: int,
    step: int,
    info_out: list[VideoInfo] | None,
) -> Iterator[Frame]:
    rate = stream.average_rate or stream.guessed_rate or Fraction(0)
    fps = float(rate)
    width, height = stream.codec_context.width, stream.codec_context.height
    factor = decimation_factor(width, height, short_side)
    duration = float(container.duration) / 1_000_000 if container.duration else 0.0
    out_w, out_h = -(-width // factor), -(-height // factor)
    if info_out is not None:
        period = step / fps if fps > 0 else 0.0
        info_out.append(
            VideoInfo(
                path=path,
                format_name=container.format.name,
                codec=stream.codec_context.name,
                width=width,
                height=height,
                frame_width=out_w,
                frame_height=out_h,
                fps=fps,
                duration=duration,
                sample_period=period,
            )
        )
    sampler = _Sampler(factor)
    decoded = 0
    start: float | None = None
    try:
        for vf in container.decode(stream):
            decoded += 1
            if (decoded - 1) % step:
                continue
            t = vf.time if vf.time is not None else (decoded - 1) / fps if fps else 0.0
            if start is None:
                start = t
            yield Frame(
                index=decoded - 1,
                time=float(t - start),
                yuv=sampler.sample(vf),
                full_range=vf.format.name.startswith("yuvj") or vf.color_range == 2,
            )
    except av.error.FFmpegError as exc:
        if decoded == 0:
            raise FrameSourceError(f"cannot decode {path!r}: {exc}") from exc
        # A damaged tail: keep what was decoded (the analysers see a shorter video).


class _Sampler:
    """Point-samples planar YUV frames on a ``factor`` grid; caches the index arrays per geometry."""

    def __init__(self, factor: int) -> None:
        self.factor = factor
        self._key: tuple[str, int, int] | None = None
        self._rows: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] = (np.empty(0, np.intp),) * 2
        self._cols: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] = (np.empty(0, np.intp),) * 2

    def sample(self, vf: av.VideoFrame) -> Image:
        name = vf.format.name
        if name not in _PLANAR_YUV:
            vf = vf.reformat(format="yuv444p")
            name = "yuv444p"
        key = (name, vf.width, vf.height)
        if key != self._key:
            sx, sy = _PLANAR_YUV[name]
            rows = np.arange(0, vf.height, self.factor, dtype=np.intp)
            cols = np.arange(0, vf.width, self.factor, dtype=np.intp)
            self._rows = (rows[:, None], (rows >> sy)[:, None])
            self._cols = (cols[None, :], (cols >> sx)[None, :])
            self._key = key
        out = np.empty((self._rows[0].shape[0], self._cols[0].shape[1], 3), np.uint8)
        for i, plane in enumerate(vf.planes[:3]):
            buf = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
            k = 0 if i == 0 else 1
            out[:, :, i] = buf[self._rows[k], self._cols[k]]
        return out
