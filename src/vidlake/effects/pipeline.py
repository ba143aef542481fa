"""The frame pipeline: ffmpeg decodes, numpy effects change frames, ffmpeg encodes.

::

    source --ffmpeg(decode: fps, scale, clean-up filters)--> rgb24 frames --queue(4)--> frame effects
           --queue(4)--> ffmpeg(encode: finishing filters, x264 + the source's audio) --> MP4

Filter effects run inside the two ffmpeg processes; frame effects run between them on full-resolution
RGB frames, with perception (landmarks, boxes, masks) computed once per frame at low resolution. When
no frame effect is asked for, a single ffmpeg does the whole job. The queues bound memory to about
ten frames; the decoder, the effects and the encoder overlap (the three are separate threads or
processes). Two-pass effects (stabilise) run their first pass before the frames flow.

:func:`process_frames` is the part shared by every door: it takes an iterator of frames and yields
processed frames, so a VOD job, an edit pre-render and a live rung drive the same code.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from vidlake.effects.base import Effect, FilterEffect, Frame, FrameEffect, Params, SourceLoader, Stage, StreamInfo
from vidlake.effects.perception import Perception
from vidlake.effects.registry import build
from vidlake.ffmpeg import FFmpegCommand, MediaInput, run
from vidlake.ffmpeg.frames import RawVideoPipe, open_decoder, open_encoder

#: Frames buffered between decoder, effects and encoder (each queue).
QUEUE_FRAMES = 4
MAX_FPS = 60.0
T = TypeVar("T")


@dataclass(frozen=True)
class Encoding:
    """x264 ``preset`` and ``crf`` (lower is better quality), AAC bit rate in bits per second,
    ``threads`` per ffmpeg (``None``: ffmpeg decides)."""

    preset: str = "veryfast"
    crf: int = 20
    audio_bitrate: int = 160_000
    threads: int | None = None


@dataclass(frozen=True)
class EffectsResult:
    """What was written: ``frames`` at ``width`` x ``height`` pixels and ``fps`` frames per second,
    in ``elapsed_s`` seconds of wall time (``speed`` = video seconds per wall second)."""

    path: Path
    frames: int
    width: int
    height: int
    fps: float
    elapsed_s: float

    @property
    def speed(self) -> float:
        """Multiple of real time."""
        return self.frames / self.fps / self.elapsed_s if self.elapsed_s > 0 and self.fps > 0 else 0.0


def _even(v: float) -> int:
    return max(2, int(v) // 2 * 2)


class EffectChain:
    """The frame effects of ``effects`` as one step applied frame by frame (the live door drives it
    this way; :func:`process_frames` for iterators). Use as a context manager, or call :meth:`close`:
    models go back to their pool there. ``info``: the frames' size and rate."""

    def __init__(self, effects: Sequence[Effect], info: StreamInfo, *, load: SourceLoader | None = None) -> None:
        self.chain = [e for e in effects if isinstance(e, FrameEffect)]
        self.needs: frozenset[str] = frozenset().union(*(e.needs for e in self.chain)) if self.chain else frozenset()
        smoothing = max((getattr(e.params, "smoothing", 0.5) for e in self.chain if "person" in e.needs),
                        default=0.5)
        self.info = info
        self.perception = Perception(info, mask_smoothing=float(smoothing))
        self._begun: list[FrameEffect] = []
        try:
            for e in self.chain:
                e.begin(info, load)
                self._begun.append(e)
        except BaseException:
            self.close()
            raise

    def apply(self, frame: Frame, index: int, time_s: float) -> Frame:
        """Frame number ``index`` (at ``time_s`` seconds) through every frame effect, in stage order;
        perception is computed before any effect draws on it."""
        scene = self.perception.scene(frame, index, time_s)
        scene.prefetch(self.needs)
        out = frame
        for e in self.chain:
            out = e.apply(out, scene)
        return out

    def close(self) -> None:
        """End every effect begun and free the perception models (idempotent)."""
        begun, self._begun = self._begun, []
        for e in begun:
            e.close()
        self.perception.close()

    def __enter__(self) -> EffectChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def process_frames(frames: Iterable[Frame], effects: Sequence[Effect], info: StreamInfo, *,
                   load: SourceLoader | None = None, start_index: int = 0) -> Iterator[Frame]:
    """Apply the frame effects of ``effects`` to ``frames`` (RGB uint8, ``info`` sized), in stage
    order (an :class:`EffectChain` over an iterator)."""
    with EffectChain(effects, info, load=load) as chain:
        for i, frame in enumerate(frames, start_index):
            yield chain.apply(frame, i, i / info.fps if info.fps else 0.0)


def _threaded(items: Iterable[T], maxsize: int) -> Iterator[T]:
    """Iterate ``items`` on a helper thread, buffering at most ``maxsize`` ahead."""
    q: queue.Queue[tuple[int, object]] = queue.Queue(maxsize)
    stop = threading.Event()

    def pump() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put((0, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((1, None))
        except BaseException as exc:  # handed to the consumer
            q.put((2, exc))
        finally:  # a generator stopped early runs its own cleanup (models back to the pool) now
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        while True:
            tag, value = q.get()
            if tag == 1:
                return
            if tag == 2:
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=10)


def stream_info(width: int, height: int, fps: float | None, duration_s: float | None) -> StreamInfo:
    """The picture the pipeline works on: even width/height (pixels), fps capped at 60 (30 when
    unknown)."""
    rate = fps if fps and fps > 0 else 30.0
    return StreamInfo(_even(width), _even(height), min(MAX_FPS, round(rate, 3)), float(duration_s or 0.0))


def render_file(
    media: MediaInput,
    out_path: str | Path,
    params: Sequence[Params],
    info: StreamInfo,
    *,
    has_audio: bool,
    work_dir: Path,
    load: SourceLoader | None = None,
    encoding: Encoding | None = None,
    timeout_s: float = 3600.0,
    cancel_check: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] | None = None,
    memory_limit_bytes: int | None = None,
) -> EffectsResult:
    """Render ``media`` (its window, if it has one) through the effects ``params`` into an MP4.

    ``info``: the output picture (from :func:`stream_info`); ``has_audio``: copy the source's first
    audio stream (re-encoded to AAC); ``load``: resolves ``src`` of effects to local files;
    ``timeout_s``: wall-clock limit in seconds for the whole render; ``on_progress(percent)``.
    Raises :class:`vidlake.ffmpeg.FFmpegError` (or its timeout/cancel subclasses)."""
    enc = encoding or Encoding()
    out = Path(out_path)
    started = time.monotonic()
    deadline = started + timeout_s
    effects = build(params)
    base = [f"fps={info.fps:g}", f"scale={info.width}:{info.height}:flags=bicubic", "setsar=1"]
    cleanup: list[str] = list(base)
    for e in effects:
        if isinstance(e, FilterEffect) and e.stage == Stage.CLEANUP:
            def run_pass(filters: list[str], before: tuple[str, ...] = tuple(cleanup)) -> None:
                cmd = FFmpegCommand(threads=enc.threads)
                cmd.add_input(media)
                cmd.add_output("-", ["-map", "0:v:0", "-vf", ",".join([*before, *filters]), "-f", "null"])
                run(cmd, timeout_s=max(1.0, deadline - time.monotonic()), cancel_check=cancel_check,
                    memory_limit_bytes=memory_limit_bytes)
            e.prepare(run_pass, info, work_dir)
            cleanup += e.filters(info, work_dir)
    finish = [f for e in effects if isinstance(e, FilterEffect) and e.stage == Stage.FINISH
              for f in e.filters(info, work_dir)]
    finish.append("format=yuv420p")
    video_opts = ["-c:v", "libx264", "-preset", enc.preset, "-crf", str(enc.crf), "-pix_fmt", "yuv420p"]
    audio_opts = ["-c:a", "aac", "-b:a", str(enc.audio_bitrate)]
    expected = max(1, round(info.duration_s * info.fps)) if info.duration_s else 0
    frame_effects = [e for e in effects if isinstance(e, FrameEffect)]

    if not frame_effects:  # one ffmpeg does it all
        cmd = FFmpegCommand(threads=enc.threads)
        cmd.add_input(media)
        opts = ["-map", "0:v:0", "-vf", ",".join([*cleanup, *finish]), *video_opts]
        if has_audio:
            opts += ["-map", "0:a:0?", *audio_opts]
        cmd.add_output(out, [*opts, "-movflags", "+faststart", "-f", "mp4"])
        progress = run(cmd, timeout_s=max(1.0, deadline - time.monotonic()), cancel_check=cancel_check,
                       duration_s=info.duration_s or None, on_progress=on_progress,
                       memory_limit_bytes=memory_limit_bytes)
        frames = progress.frame or expected
        return EffectsResult(out, frames, info.width, info.height, info.fps, time.monotonic() - started)

    dec_cmd = FFmpegCommand(threads=enc.threads)
    dec_cmd.add_input(media)
    dec_cmd.add_output("pipe:1", ["-map", "0:v:0", "-vf", ",".join([*cleanup, "format=rgb24"]),
                                  "-f", "rawvideo", "-pix_fmt", "rgb24"])
    enc_cmd = FFmpegCommand(threads=enc.threads)
    opts = ["-map", "0:v:0", "-vf", ",".join(finish), *video_opts]
    if has_audio:
        enc_cmd.add_input(media)
        opts += ["-map", "1:a:0?", *audio_opts]
    enc_cmd.add_output(out, [*opts, "-movflags", "+faststart", "-f", "mp4"])
    limit = max(1.0, deadline - time.monotonic())
    decoder = open_decoder(dec_cmd, info.width, info.height, timeout_s=limit, cancel_check=cancel_check,
                           memory_limit_bytes=memory_limit_bytes)
    with decoder:
        encoder = open_encoder(enc_cmd, RawVideoPipe(info.width, info.height, info.fps), timeout_s=limit,
                               cancel_check=cancel_check, memory_limit_bytes=memory_limit_bytes)
        with encoder:
            processed = process_frames(_threaded(decoder, QUEUE_FRAMES), effects, info, load=load)
            last_pct = -1.0
            for n, frame in enumerate(_threaded(processed, QUEUE_FRAMES), 1):
                encoder.write(frame)
                if on_progress is not None and expected:
                    pct = min(99.0, 100.0 * n / expected)
                    if pct - last_pct >= 1.0:
                        last_pct = pct
                        on_progress(pct)
            encoder.finish(max(5.0, deadline - time.monotonic()))
    if on_progress is not None:
        on_progress(100.0)
    return EffectsResult(out, encoder.frames, info.width, info.height, info.fps, time.monotonic() - started)
