"""One frame source for every analyser: decode a local video once, at reduced resolution.

Decoding is the expensive part of video analysis, so it happens once per run and every analyser
receives the same :class:`Frame`. Frames are reduced by *decimation of the decoded planes*: the Y,
U and V planes are sampled on a regular grid (one pixel every ``factor`` pixels, ``factor`` even so
that 4:2:0 chroma lands on the same grid) directly from the decoder's buffers, so no
full-resolution colour conversion ever happens. The result is a small YUV 4:4:4 image (about
``short_side`` pixels on the short side); RGB and luma views are derived from it on demand.

Safety: only local regular files are opened, FFmpeg is told to use the ``file`` protocol alone
(no ``http``, ``concat``, ``subfile``... protocols behind a crafted playlist) and only the demuxers in
``allowed_formats`` may probe the input.

Speed: ``fast=True`` tells the decoder to skip B-frames and the deblocking filter. In a typical H.264
stream this yields 30-50 % of the frames (never more than a few frames apart); cuts usually still land
on a decoded frame because encoders place I/P frames there, and a cut on a skipped frame is reported at
the next decoded frame (late by at most the B-frame run, 3 frames with x264 defaults). Frames are
slightly blockier without deblocking, which analysis working on reduced frames does not notice.
``step`` keeps one frame in ``step`` of those decoded.

Parallelism: in containers with timestamps, whole GOPs are decoded by several threads at once
(:mod:`vidlake.analyze.frame_decoders`); the frames come out in order, bit-identical to a sequential
decode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vidlake.analyze.frame_decoders import FrameDecoder, GopDecoder, SequentialDecoder, configure_decoder
from vidlake.analyze.frame_sampling import Image, Sampler, grid_step

#: Demuxers accepted by default (FFmpeg short names; ``mov,mp4,...`` matches on any of its names).
ALLOWED_FORMATS: frozenset[str] = frozenset(
    {"mov", "mp4", "matroska", "webm", "mpegts", "flv", "avi", "mpeg", "h264", "hevc", "ivf", "ogg",
     "mxf", "asf"}
)


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

    __slots__ = ("_rgb", "bt709", "full_range", "index", "time", "yuv")

    def __init__(self, index: int, time: float, yuv: Image, full_range: bool = False,
                 bt709: bool = True) -> None:
        self.index = index
        self.time = time
        self.yuv = yuv
        self.full_range = full_range
        self.bt709 = bt709
        self._rgb: Image | None = None

    @property
    def luma(self) -> Image:
        """The Y plane, ``(height, width)`` uint8."""
        return self.yuv[:, :, 0]

    @property
    def rgb(self) -> Image:
        """RGB, ``(height, width, 3)`` uint8 (BT.709 or BT.601 matrix, as the stream says)."""
        if self._rgb is None:
            self._rgb = yuv_to_rgb(self.yuv, full_range=self.full_range, bt709=self.bt709)
        return self._rgb


def yuv_to_rgb(yuv: Image, *, full_range: bool = False, bt709: bool = True) -> Image:
    """Convert a ``(h, w, 3)`` YCbCr uint8 image to RGB uint8 (BT.709 or BT.601 matrix)."""
    kr, kb = (0.2126, 0.0722) if bt709 else (0.299, 0.114)
    kg = 1.0 - kr - kb
    f = yuv.astype(np.float32)
    y = f[:, :, 0]
    cb = f[:, :, 1] - 128.0
    cr = f[:, :, 2] - 128.0
    if not full_range:
        y = (y - 16.0) * (255.0 / 219.0)
        cb *= 255.0 / 224.0
        cr *= 255.0 / 224.0
    rgb = np.empty_like(f)
    rgb[:, :, 0] = y + 2.0 * (1.0 - kr) * cr
    rgb[:, :, 1] = y - (2.0 * kb * (1.0 - kb) / kg) * cb - (2.0 * kr * (1.0 - kr) / kg) * cr
    rgb[:, :, 2] = y + 2.0 * (1.0 - kb) * cb
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
    threads: str = "AUTO",
    workers: int = 0,
) -> Iterator[Frame]:
    """Decode the first video stream of a local file and yield reduced :class:`Frame` objects.

    ``short_side`` is the target short side of the yielded frames in pixels (an integer decimation
    factor is used, so the result is approximate); ``step`` keeps every ``step``-th decoded frame;
    ``fast`` skips B-frames and deblocking in the decoder; ``container_format`` pins the demuxer
    (e.g. ``"mp4"``) instead of probing; ``allowed_formats`` lists accepted demuxer names. When
    ``info_out`` is a list, a :class:`VideoInfo` is appended to it before the first frame is yielded.

    ``threads`` is the decoding parallelism. ``"AUTO"``: in containers with timestamps (MP4/MOV,
    Matroska/WebM, MPEG-TS, FLV) the stream is cut at its keyframes and the GOPs are decoded by
    ``workers`` threads at once (0: one per usable CPU, at most 4), each also sampling its frames; the
    frames come out in order and identical to a sequential decode. Elsewhere, FFmpeg's frame and slice
    threads are used. ``"NONE"``: one thread, the least CPU per video, best when many videos are
    analysed in parallel.
    """
    if step < 1:
        raise ValueError("step must be >= 1")
    text = _check_path(path)
    container = _open(text, container_format, probe_decode=False)
    if container.streams.video and not container.streams.video[0].codec_context.width:
        container.close()  # the headers lack the frame size: let the probe decode frames
        container = _open(text, container_format, probe_decode=True)
    with container:
        if not set(container.format.name.split(",")) & allowed_formats:
            raise FrameSourceError(f"container format {container.format.name!r} is not allowed")
        if not container.streams.video:
            raise FrameSourceError(f"{text!r} has no video stream")
        stream = container.streams.video[0]
        count = workers or min(4, _usable_cpus())
        parallel = threads == "AUTO" and count > 1 and bool(set(container.format.name.split(",")) & _TIMESTAMPED)
        configure_decoder(stream.codec_context, fast, "NONE" if parallel else threads)
        if parallel:
            source: FrameDecoder = GopDecoder(container, stream, fast, count)
        else:
            source = SequentialDecoder(container, stream)
        yield from _decode(container, stream, source, text, short_side, step, info_out)


#: Codec options for the stream probe that opening a file runs: where the headers give the frame size,
#: rate and duration (MP4, Matroska...), it then decodes no frame (about 3 ms saved per file).
_NO_PROBE_DECODE = {"skip_frame": "nonkey", "skip_loop_filter": "all", "skip_idct": "all"}


def _open(text: str, container_format: str | None, *, probe_decode: bool) -> av.container.InputContainer:
    options = {"protocol_whitelist": "file", **({} if probe_decode else _NO_PROBE_DECODE)}
    try:
        return av.open(text, mode="r", format=container_format, options=options)
    except av.error.FFmpegError as exc:
        raise FrameSourceError(f"cannot open {text!r}: {exc}") from exc


#: Container formats whose packets carry presentation timestamps, so GOPs can be decoded apart.
_TIMESTAMPED: frozenset[str] = frozenset({"mov", "mp4", "matroska", "webm", "mpegts", "flv"})


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _decode(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    source: FrameDecoder,
    path: str,
    short_side: int,
    step: int,
    info_out: list[VideoInfo] | None,
) -> Iterator[Frame]:
    rate = stream.average_rate or stream.guessed_rate or Fraction(0)
    fps = float(rate)
    width, height = stream.codec_context.width, stream.codec_context.height
    factor = grid_step(decimation_factor(width, height, short_side), 1)
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
    sampler = Sampler(factor, height)
    tb_num, tb_den = (stream.time_base.numerator, stream.time_base.denominator) if stream.time_base else (0, 1)
    decoded = 0
    start: float | None = None
    try:
        for pts, yuv, full_range, bt709 in source.frames(sampler):
            decoded += 1
            if (decoded - 1) % step:
                continue
            # Seconds as PyAV's ``VideoFrame.time`` computes them (same float rounding).
            t = float(pts) * tb_num / tb_den if pts is not None and tb_num else (decoded - 1) / fps if fps else 0.0
            if start is None:
                start = t
            yield Frame(index=decoded - 1, time=float(t - start), yuv=yuv, full_range=full_range, bt709=bt709)
    except av.error.FFmpegError as exc:
        if decoded == 0:
            raise FrameSourceError(f"cannot decode {path!r}: {exc}") from exc
        # A damaged tail: keep what was decoded (the analysers see a shorter video).
