"""The decoders behind :func:`vidlake.analyze.frames.read_frames`: sequential, or GOPs in parallel.

Parallelism: with B-frames skipped, the decoded frames form one chain of references per GOP, which
FFmpeg's frame threads barely overlap. So, in containers with timestamps, the stream is cut at its
keyframes and whole GOPs are decoded by several threads at once (FFmpeg releases the GIL), each
thread also sampling its frames (:class:`~vidlake.analyze.frame_sampling.Sampler`); the frames come
out in order, bit-identical to a sequential decode (about 1.5x faster on 2 cores). A stream with one
long GOP gets frame threads instead.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import queue
import threading
from collections.abc import Iterator

import av

from vidlake.analyze.frame_sampling import Decoded, Sampler


def configure_decoder(ctx: av.video.codeccontext.VideoCodecContext, fast: bool, threads: str) -> None:
    """Set ``ctx``'s threading (``threads``: ``"AUTO"``, ``"FRAME"``, ``"NONE"``...) and, when ``fast``,
    skip B-frames and the deblocking filter."""
    ctx.thread_type = threads
    if threads == "NONE":
        ctx.thread_count = 1
    if fast:
        # Only I and P frames are decoded (B-frames are never references for them in H.264/HEVC
        # streams from common encoders), and the in-loop deblocking filter is skipped.
        ctx.skip_frame = "BIDIR"
        ctx.options = {"skip_loop_filter": "all"}


class FrameDecoder:
    """Decoded and sampled frames of one stream, in presentation order."""

    def frames(self, sampler: Sampler) -> Iterator[Decoded]:
        raise NotImplementedError


class SequentialDecoder(FrameDecoder):
    """The container's own decoder, one frame after the other (FFmpeg may thread inside)."""

    def __init__(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> None:
        self.container = container
        self.stream = stream

    def frames(self, sampler: Sampler) -> Iterator[Decoded]:
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
    configure_decoder(clone, fast, "FRAME" if threads > 1 else "NONE")
    if threads > 1:
        clone.thread_count = threads
    return clone


class GopDecoder(FrameDecoder):
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

    def _run(self, packets: list[av.Packet], lo: int | None, hi: int | None, sampler: Sampler,
             out: queue.SimpleQueue[Decoded | _End], threaded: bool) -> None:
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

    def frames(self, sampler: Sampler) -> Iterator[Decoded]:
        pending: collections.deque[queue.SimpleQueue[Decoded | _End]] = collections.deque()
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
                out: queue.SimpleQueue[Decoded | _End] = queue.SimpleQueue()
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
