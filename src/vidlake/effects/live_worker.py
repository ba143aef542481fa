"""The live door of the effects engine: a child process that puts a live stream through its effects.

::

    FLV on stdin --PyAV demux/decode (thread)--> frames --queue--> clean-up filters, frame effects,
        finishing filters --queue--> PyAV x264 encode + the publisher's audio copied (thread)
        --MPEG-TS--> the run's ladder ffmpeg (stdin) --> HLS rungs

The live session starts it (``python -m vidlake.effects.live_worker CONFIG.json -- LADDER_ARGV...``)
through :mod:`vidlake.ffmpeg.process` like any ffmpeg (own process group, memory limit, killed with its
parent and after the run's time limit); it starts the ladder ffmpeg itself, through the same module. The
top rung is therefore *encoded* here (x264, ``tune=zerolatency``, a keyframe forced every segment
length), not passed through: the ladder ffmpeg copies it as rung 0 and transcodes the lower rungs from
it. Timestamps are the publisher's, audio packets are copied untouched.

**Real time.** The worker compares wall time with media time from one second into the stream (model
loading before that is not held against it): a frame's lag is how much later it is processed than the
best alignment seen so far. When the effects fall ``max_lag_s`` seconds behind, or an
effect raises, it *drops the effects* and goes on encoding the picture as published: the stream never
stops for an effect. What it is doing is written to ``status_path`` (JSON, replaced atomically about
once a second): ``state`` (``starting``, ``applying``, ``dropped``), ``reason``, ``fps`` (frames
processed per second over the last second), ``lag_s``, ``frames``; the session reads it into the
stream's health and sends ``video.live_stream.effects_dropped`` when the state turns ``dropped``.

PyAV (libav in this process) decodes here, from stdin only: the FLV demuxer cannot open files or
connections, and the process runs inside the same fences as ffmpeg.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import av
import av.filter
import numpy as np
from av.video.frame import PictureType

from vidlake.effects.base import FilterEffect, FrameEffect, Stage
from vidlake.effects.live_config import LiveEffectsConfig
from vidlake.effects.pipeline import EffectChain, stream_info
from vidlake.effects.registry import build, parse_effects
from vidlake.ffmpeg.process import PIPE, popen, wait_or_kill

log = logging.getLogger("vidlake.effects.live")

QUEUE_FRAMES = 4  #: frames buffered between decoder, effects and encoder (each queue)
WARMUP_S = 1.0  #: media seconds before lag is measured (model loading happens in them)
STATUS_EVERY_S = 1.0  #: how often the status file is rewritten (seconds)


class StatusFile:
    """The worker's state, rewritten atomically at most every :data:`STATUS_EVERY_S` seconds (and at
    once on a change of ``state``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state = "starting"
        self.reason: str | None = None
        self.frames = 0
        self.lag_s = 0.0
        self._window: list[float] = []
        self._written = 0.0
        self.write(force=True)

    def frame(self, lag_s: float) -> None:
        """One frame went out, ``lag_s`` seconds behind real time."""
        now = time.monotonic()
        self.frames += 1
        self.lag_s = lag_s
        self._window.append(now)
        self.write()

    def set(self, state: str, reason: str | None = None) -> None:
        """Change the state (written at once)."""
        self.state, self.reason = state, reason
        self.write(force=True)

    def write(self, *, force: bool = False) -> None:
        """Rewrite the file if due (or ``force``)."""
        now = time.monotonic()
        if not force and now - self._written < STATUS_EVERY_S:
            return
        self._written = now
        self._window = [t for t in self._window if now - t <= 1.0]
        data = {"state": self.state, "reason": self.reason, "fps": len(self._window), "frames": self.frames,
                "lag_s": round(self.lag_s, 3), "updated_at": time.time()}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)


def _graph(filters: Sequence[str], template: av.VideoFrame, out_format: str) -> av.filter.Graph:
    """A PyAV filter graph ``filters`` → ``format=out_format`` for frames shaped like ``template``."""
    graph = av.filter.Graph()
    node = graph.add_buffer(width=template.width, height=template.height, format=template.format,
                            time_base=template.time_base or Fraction(1, 1000))
    for spec in [*filters, f"format={out_format}"]:
        name, _, args = spec.partition("=")
        nxt = graph.add(name, args or None)
        node.link_to(nxt)
        node = nxt
    sink = graph.add("buffersink")
    node.link_to(sink)
    graph.configure()
    return graph


def _filtered(graph: av.filter.Graph | None, frame: av.VideoFrame) -> av.VideoFrame:
    if graph is None:
        return frame
    graph.push(frame)
    out = graph.pull()
    assert isinstance(out, av.VideoFrame)
    return out


class LiveEffects:
    """The picture side of the worker: filters and frame effects applied to decoded frames, with the
    real-time check and the fallback to no effects (module docstring)."""

    def __init__(self, config: LiveEffectsConfig, width: int, height: int, fps: float,
                 status: StatusFile) -> None:
        self.config = config
        self.status = status
        self.info = stream_info(width, height, fps, None)
        self.effects = build(parse_effects(config.effects, live=True))
        work = Path(config.work_dir)
        self.cleanup = [f for e in self.effects if isinstance(e, FilterEffect) and e.stage == Stage.CLEANUP
                        for f in e.filters(self.info, work)]
        self.finish = [f for e in self.effects if isinstance(e, FilterEffect) and e.stage == Stage.FINISH
                       for f in e.filters(self.info, work)]
        self.has_frame_effects = any(isinstance(e, FrameEffect) for e in self.effects)
        sources = config.sources
        self.chain: EffectChain | None = EffectChain(
            self.effects, self.info, load=lambda src: Path(sources[src])) if self.has_frame_effects else None
        self.dropped = False
        self._graphs: dict[str, av.filter.Graph | None] = {}
        self._best: float | None = None  #: smallest wall - media time seen (seconds)
        self._index = 0
        status.set("applying")

    def drop(self, reason: str) -> None:
        """Stop applying effects (the stream goes on as published)."""
        if self.dropped:
            return
        log.warning("live effects dropped: %s", reason)
        self.dropped = True
        if self.chain is not None:
            self.chain.close()
            self.chain = None
        self.status.set("dropped", reason)

    def _lag(self, t: float) -> float:
        """Seconds this frame is later than the best alignment of wall and media time seen so far (after
        the warm-up): frames that arrived in a burst after a slow start do not hide a growing lag."""
        offset = time.monotonic() - t
        if t < WARMUP_S:
            return 0.0
        if self._best is None or offset < self._best:
            self._best = offset
        return offset - self._best

    def process(self, frame: av.VideoFrame, t: float) -> av.VideoFrame:
        """One decoded frame (at ``t`` seconds of the stream, its ``time_base`` set) → the frame to encode
        (yuv420p, the source's timestamps)."""
        lag = self._lag(t)
        if not self.dropped and lag > self.config.max_lag_s:
            self.drop(f"effects could not keep real time ({lag:.1f} s behind)")
        out = frame
        if not self.dropped:
            try:
                out = self._apply(frame, t)
            except Exception as exc:  # an effect's failure drops the effects, never the stream
                log.exception("live effect failed")
                self.drop(f"an effect failed: {type(exc).__name__}: {exc}")
                out = frame
        if out.format.name != "yuv420p" or out.width != self.info.width or out.height != self.info.height:
            out = out.reformat(width=self.info.width, height=self.info.height, format="yuv420p")
        out.pts, out.time_base = frame.pts, frame.time_base
        self._index += 1
        self.status.frame(lag)
        return out

    def _graph_for(self, key: str, filters: list[str], template: av.VideoFrame, fmt: str) -> av.filter.Graph | None:
        if key not in self._graphs:
            self._graphs[key] = _graph(filters, template, fmt) if filters else None
        return self._graphs[key]

    def _apply(self, frame: av.VideoFrame, t: float) -> av.VideoFrame:
        out = _filtered(self._graph_for("cleanup", self.cleanup, frame, "rgb24" if self.chain else "yuv420p"),
                        frame)
        if self.chain is not None:
            rgb = np.asarray(out.to_ndarray(format="rgb24", width=self.info.width, height=self.info.height),
                             np.uint8)
            rgb = self.chain.apply(rgb, self._index, t)
            out = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            out.pts, out.time_base = frame.pts, frame.time_base
        return _filtered(self._graph_for("finish", self.finish, out, "yuv420p"), out)

    def close(self) -> None:
        """Free the effects."""
        if self.chain is not None:
            self.chain.close()
            self.chain = None


def _pump(inp: Any, video: Any, audio: Any, frames: queue.Queue[Any], out: queue.Queue[Any]) -> None:
    """Demux thread: decoded video frames to ``frames``, audio packets straight to ``out``."""
    try:
        streams = [s for s in (video, audio) if s is not None]
        for packet in inp.demux(*streams):
            if audio is not None and packet.stream is audio:
                if packet.size:
                    out.put(("a", packet))
            else:  # the last, empty packet flushes the decoder
                for frame in packet.decode():
                    frames.put(frame)
    except Exception as exc:  # end of input in the middle of a packet is the normal end of a publish
        log.info("live input ended: %s", exc)
    finally:
        frames.put(None)


def _encoder(output: Any, config: LiveEffectsConfig, width: int, height: int, fps: float) -> Any:
    stream = output.add_stream("libx264", rate=Fraction(round(fps * 1000), 1000))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.time_base = Fraction(1, 1000)
    options = {"preset": config.preset, "tune": "zerolatency", "crf": str(config.crf),
               "maxrate": str(config.maxrate_bps), "bufsize": str(config.maxrate_bps * 2),
               "x264-params": f"keyint={max(1, round(fps * config.keyframe_s * 2))}:scenecut=0"}
    if config.threads:
        options["threads"] = str(config.threads)
    stream.codec_context.options = options
    return stream


def _mux(output: Any, vout: Any, aout: Any, items: queue.Queue[Any], errors: list[BaseException]) -> None:
    """Mux thread: encode video frames, copy audio packets, until ``None``."""
    try:
        while True:
            item = items.get()
            if item is None:
                break
            kind, value = item
            if kind == "a":
                value.stream = aout
                output.mux(value)
            else:
                for packet in vout.encode(value):
                    output.mux(packet)
        if vout is not None:
            for packet in vout.encode(None):
                output.mux(packet)
    except BaseException as exc:
        errors.append(exc)
        while items.get() is not None:  # let the producers finish
            pass


def run(config: LiveEffectsConfig, stdin: IO[bytes], ladder_argv: Sequence[str]) -> int:
    """Read FLV from ``stdin`` until it ends; feed the ladder ffmpeg; its exit status."""
    status = StatusFile(Path(config.status_path))
    inp = av.open(stdin, mode="r", format=config.input_format)
    video = next(iter(inp.streams.video), None)
    audio = next(iter(inp.streams.audio), None)
    with open(config.ladder_log, "ab") as err:
        ladder = popen(ladder_argv, stdin=PIPE, stderr=err, memory_limit_bytes=config.ladder_memory_bytes)
    assert ladder.stdin is not None
    output = av.open(ladder.stdin, mode="w", format="mpegts")
    effects: LiveEffects | None = None
    vout = aout = None
    if video is not None:
        ctx = video.codec_context
        rate = float(video.average_rate or video.guessed_rate or 30)
        effects = LiveEffects(config, ctx.width, ctx.height, rate, status)
        vout = _encoder(output, config, effects.info.width, effects.info.height, effects.info.fps)
    else:
        status.set("dropped", "the stream has no video")
    if audio is not None:
        aout = output.add_stream_from_template(audio)
    frames: queue.Queue[Any] = queue.Queue(QUEUE_FRAMES)
    items: queue.Queue[Any] = queue.Queue(QUEUE_FRAMES * 8)
    errors: list[BaseException] = []
    pump = threading.Thread(target=_pump, args=(inp, video, audio, frames, items), daemon=True)
    muxer = threading.Thread(target=_mux, args=(output, vout, aout, items, errors), daemon=True)
    pump.start()
    muxer.start()
    next_key = 0.0
    base = video.time_base if video is not None and video.time_base else Fraction(1, 1000)
    try:
        while (frame := frames.get()) is not None:
            assert effects is not None
            frame.time_base = base
            t = float(frame.pts * base) if frame.pts is not None else 0.0
            out = effects.process(frame, t)
            if t + 1e-3 >= next_key:
                out.pict_type = PictureType.I
                next_key = (int((t + 1e-3) / config.keyframe_s) + 1) * config.keyframe_s
            items.put(("v", out))
    finally:
        items.put(None)
        muxer.join()
        status.write(force=True)
        pump.join(timeout=5)
        if effects is not None:
            effects.close()
        try:
            output.close()
        except Exception:
            log.exception("closing the live effects output failed")
        ladder.stdin.close()
        code = wait_or_kill(ladder, 10.0)
    if errors:
        log.error("live effects muxer failed: %s", errors[0])
        return 1
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """``live_worker CONFIG.json -- LADDER_ARGV...``"""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[1] != "--":
        print("usage: python -m vidlake.effects.live_worker CONFIG.json -- LADDER_ARGV...", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = LiveEffectsConfig.read(Path(args[0]))
    return run(config, sys.stdin.buffer, args[2:])


if __name__ == "__main__":
    sys.exit(main())
