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

Parallelism: with B-frames skipped, the decoded frames form one chain of references per GOP, which
FFmpeg's frame threads barely overlap. So, in containers with timestamps, the stream is cut at its
keyframes and whole GOPs are decoded by several threads at once (FFmpeg releases the GIL), each
thread also sampling its frames; the frames come out in order, bit-identical to a sequential
decode (about 1.5x faster on 2 cores). A stream with one long GOP gets frame threads instead.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

#: Demuxers accepted by default (FFmpeg short names; ``mov,mp4,...`` matches on any of its names).
ALLOWED_FORMATS: frozenset[str] = frozenset(
    {"mov", "mp4", "matroska", "webm", "mpegts", "flv", "avi", "mpeg", "h264", "hevc", "ivf", "ogg",
     "mxf", "asf"}
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
        _configure(stream.codec_context, fast, "NONE" if parallel else threads)
        if parallel:
            source: _Source = _GopDecoder(container, stream, fast, count)
        else:
            source = _SequentialDecoder(container, stream)
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

#: ``(pts or None, sampled YUV, full range, BT.709)`` of one decoded frame.
_Decoded = tuple["int | None", Image, bool, bool]


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _configure(ctx: av.video.codeccontext.VideoCodecContext, fast: bool, threads: str) -> None:
    ctx.thread_type = threads
    if threads == "NONE":
        ctx.thread_count = 1
    if fast:
        # Only I and P frames are decoded (B-frames are never references for them in H.264/HEVC
        # streams from common encoders), and the in-loop deblocking filter is skipped.
        ctx.skip_frame = "BIDIR"
        ctx.options = {"skip_loop_filter": "all"}


def _decode(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    source: _Source,
    path: str,
    short_side: int,
    step: int,
    info_out: list[VideoInfo] | None,
) -> Iterator[Frame]:
    rate = stream.average_rate or stream.guessed_rate or Fraction(0)
    fps = float(rate)
    width, height = stream.codec_context.width, stream.codec_context.height
    factor = _grid_step(decimation_factor(width, height, short_side), 1)
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
    sampler = _Sampler(factor, height)
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


class _Source:
    """Decoded and sampled frames of one stream, in presentation order."""

    def frames(self, sampler: _Sampler) -> Iterator[_Decoded]:
        raise NotImplementedError


class _SequentialDecoder(_Source):
    """The container's own decoder, one frame after the other (FFmpeg may thread inside)."""

    def __init__(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> None:
        self.container = container
        self.stream = stream

    def frames(self, sampler: _Sampler) -> Iterator[_Decoded]:
        for vf in self.container.decode(self.stream):
            yield sampler.sample(vf)


#: Decoder parameters a container sets from its headers (besides the codec and its extradata).
_CODEC_PARAMETERS = ("width", "height", "pix_fmt", "color_range", "colorspace", "color_primaries", "color_trc",
                     "bits_per_coded_sample", "codec_tag")


def _clone_decoder(ctx: av.video.codeccontext.VideoCodecContext, fast: bool,
                   threads: int) -> av.video.codeccontext.VideoCodecContext:
    """A new, unopened decoder for the same stream as ``ctx`` (same codec, extradata and header
    parameters), configured for ``fast`` decoding on ``threads`` frame threads."""
    clone = av.CodecContext.create(ctx.codec, "r")
    assert isinstance(clone, av.video.codeccontext.VideoCodecContext)
    if ctx.extradata:
        clone.extradata = ctx.extradata
    for name in _CODEC_PARAMETERS:
        value = getattr(ctx, name, None)
        if value is not None:
            # Read-only or unsupported for this codec: the bitstream headers set it then.
            with contextlib.suppress(AttributeError, TypeError, ValueError):
                setattr(clone, name, value)
    _configure(clone, fast, "FRAME" if threads > 1 else "NONE")
    if threads > 1:
        clone.thread_count = threads
    return clone


class _GopDecoder(_Source):
    """Decodes GOPs (a keyframe and the packets up to the next one) on several threads at once.

    The main thread demuxes; each GOP goes to a free decoder, which drains and resets itself after
    the GOP, so no reference crosses a GOP boundary. Open GOPs stay exact: a GOP also gets the next
    keyframe and the leading pictures that follow it in decoding order (shown before that keyframe,
    possibly predicted from this GOP), and every decoder keeps only the frames shown from its own
    keyframe up to the next. FFmpeg decodes without the GIL, so the threads run in parallel. Frames
    of the oldest GOP are handed out as they are decoded, so the consumer overlaps with the decoders
    even on a stream with a single keyframe."""

    def __init__(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                 fast: bool, workers: int) -> None:
        self.container = container
        self.stream = stream
        self.fast = fast
        self.workers = workers
        # Idle decoders: one thread each, or FFmpeg frame threads (for a last GOP longer than all
        # the others, which runs mostly alone).
        self.idle: dict[bool, list[av.video.codeccontext.VideoCodecContext]] = {
            False: [stream.codec_context], True: []}
        self.lock = threading.Lock()
        self.stopped = False

    def _take(self, threaded: bool) -> av.video.codeccontext.VideoCodecContext:
        with self.lock:
            if self.idle[threaded]:
                return self.idle[threaded].pop()
        return _clone_decoder(self.stream.codec_context, self.fast, self.workers if threaded else 1)

    def _give(self, ctx: av.video.codeccontext.VideoCodecContext, threaded: bool) -> None:
        with self.lock:
            self.idle[threaded].append(ctx)

    def _gops(self) -> Iterator[list[av.Packet]]:
        gop: list[av.Packet] = []
        for packet in self.container.demux(self.stream):
            if packet.size == 0:
                continue
            if packet.is_keyframe and gop:
                yield gop
                gop = []
            gop.append(packet)
        if gop:
            yield gop

    def _jobs(self) -> Iterator[tuple[list[av.Packet], int | None, int | None]]:
        """(packets, first pts kept, pts where the next GOP starts) per GOP, in decoding order."""
        previous: list[av.Packet] | None = None
        for gop in self._gops():
            if previous is not None:
                yield _with_leading(previous, gop)
            previous = gop
        if previous is not None:
            yield previous, previous[0].pts, None

    def _run(self, packets: list[av.Packet], lo: int | None, hi: int | None, sampler: _Sampler,
             out: queue.SimpleQueue[_Decoded | _End], threaded: bool) -> None:
        """Decode one GOP into ``out``, then put an :class:`_End` (with the error, if any)."""
        error: BaseException | None = None
        ctx = self._take(threaded)
        try:
            for packet in [*packets, None]:
                if self.stopped:
                    break
                for vf in ctx.decode(packet):
                    pts = vf.pts
                    if pts is None or ((lo is None or pts >= lo) and (hi is None or pts < hi)):
                        out.put(sampler.sample(vf))
        except BaseException as exc:  # handed to the consumer, raised there
            error = exc
        finally:
            ctx.flush_buffers()
            self._give(ctx, threaded)
            out.put(_End(error))

    def frames(self, sampler: _Sampler) -> Iterator[_Decoded]:
        pending: collections.deque[queue.SimpleQueue[_Decoded | _End]] = collections.deque()
        pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="vidlake-decode")
        jobs = self._jobs()
        first = True
        more = True
        submitted = 0  # packets
        ctx = self.stream.codec_context
        large = ctx.width * ctx.height >= _FRAME_THREADS_MIN_PIXELS
        # GOPs submitted and not yet handed out: enough that no decoder idles while the consumer
        # works through a long GOP, few enough to bound the memory of decoded frames.
        ahead: collections.deque[int] = collections.deque()  # packets of each pending GOP
        ahead_total = 0
        demux_error: av.error.FFmpegError | None = None

        def top_up() -> None:
            nonlocal first, more, submitted, ahead_total, demux_error
            while more and (len(pending) < 2 * self.workers
                            or (len(pending) < _MAX_GOPS_AHEAD and ahead_total < _MAX_PACKETS_AHEAD)):
                try:
                    job = next(jobs, None)
                except av.error.FFmpegError as exc:  # a damaged file: hand out what came before
                    demux_error, job = exc, None
                if job is None:
                    more = False
                    return
                packets, lo, hi = job
                out: queue.SimpleQueue[_Decoded | _End] = queue.SimpleQueue()
                # The last GOP gets frame threads when it is most of the stream (it will run alone)
                # and frames are large enough to gain from them (at 360p they cost more CPU than
                # they save time).
                threaded = hi is None and len(packets) > submitted and large
                # The first GOP keeps what comes before its keyframe (as a sequential decode would).
                pool.submit(self._run, packets, None if first else lo, hi, sampler, out, threaded)
                submitted += len(packets)
                pending.append(out)
                ahead.append(len(packets))
                ahead_total += len(packets)
                first = False

        try:
            top_up()
            while pending:
                head = pending[0]
                while True:
                    item = head.get()
                    if isinstance(item, _End):
                        break
                    yield item
                    top_up()
                pending.popleft()
                ahead_total -= ahead.popleft()
                if item.error is not None:
                    raise item.error
                top_up()
            if demux_error is not None:
                raise demux_error
        finally:
            self.stopped = True
            pool.shutdown(wait=True, cancel_futures=True)


#: Smallest coded frame (pixels) for which frame threads speed up a lone GOP (720p: 1.4x; 360p: none).
_FRAME_THREADS_MIN_PIXELS = 500_000

#: Decoding may run this far ahead of the consumer (GOPs, and packets once past two GOPs a decoder).
_MAX_GOPS_AHEAD = 32
_MAX_PACKETS_AHEAD = 750


class _End:
    """Marks the end of one GOP's frames; ``error`` is what stopped its decoder, if anything."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


def _with_leading(gop: list[av.Packet], following: list[av.Packet]) -> tuple[list[av.Packet], int | None, int | None]:
    """A GOP's job: its packets, plus the next keyframe and its leading pictures when there are any.

    Where timestamps do not rise from one keyframe to the next (a discontinuity, e.g. joined MPEG-TS
    files), the GOP keeps every frame it decodes and takes nothing from the next one."""
    start, key = gop[0].pts, following[0].pts
    if start is None or key is None or key <= start:
        return gop, start, None
    last = max((i for i, p in enumerate(following) if p.pts is not None and p.pts < key), default=0)
    extra = following[: last + 1] if last else []
    return [*gop, *extra], start, key


def _is_bt709(colorspace: int, height: int) -> bool:
    """BT.709 when tagged so (1); BT.601 when tagged 5/6; else guessed from the height (>= 720)."""
    if colorspace == 1:
        return True
    if colorspace in (5, 6):
        return False
    return height >= 720


class _Sampler:
    """Point-samples planar YUV frames every ``factor`` pixels with plain slicing (no copies but one).

    The factor is rounded up to a multiple of the chroma subsampling, so luma and chroma samples sit
    on the same grid and no interpolation is needed. ``height`` (pixels) picks the colour matrix of
    untagged streams."""

    def __init__(self, factor: int, height: int) -> None:
        self.factor = factor
        self.height = height

    def sample(self, vf: av.VideoFrame) -> _Decoded:
        """``(pts, yuv, full_range, bt709)`` of one decoded frame."""
        name = vf.format.name
        full_range = name.startswith("yuvj") or vf.color_range == 2
        bt709 = _is_bt709(vf.colorspace, self.height)
        if name not in _PLANAR_YUV:
            vf = vf.reformat(format="yuv444p")
            name = "yuv444p"
        sx, sy = _PLANAR_YUV[name]
        f = _grid_step(self.factor, max(sx, sy))
        h, w = -(-vf.height // f), -(-vf.width // f)
        out = np.empty((h, w, 3), np.uint8)
        for i, plane in enumerate(vf.planes[:3]):
            buf = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
            fy, fx = (f, f) if i == 0 else (f >> sy, f >> sx)
            out[:, :, i] = buf[::fy, ::fx][:h, :w]
        return vf.pts, out, full_range, bt709


def _grid_step(factor: int, log2_sub: int) -> int:
    """Smallest multiple of ``2 ** log2_sub`` that is >= ``factor``."""
    m = 1 << log2_sub
    return max(m, -(-factor // m) * m)
