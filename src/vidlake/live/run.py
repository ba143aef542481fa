"""One publish ("run") of a live session: the publish target that turns its bytes into the session's
rungs and simulcasts.

With FLV input (RTMP) the passthrough rung is muxed in-process (:class:`~vidlake.live.segmenter.Segmenter`:
each segment is listed the moment it is closed) and one ffmpeg writes the transcoded rungs (none runs when
there are none); with ``input_format="mpegts"`` (SRT) ffmpeg writes every rung. Each simulcast target gets
a ``-c copy`` ffmpeg; a failing simulcast never stops the stream. Every process is a
:class:`~vidlake.live.target.SubprocessTarget` (started by :mod:`vidlake.ffmpeg.process`).

With video effects (:class:`LiveEffects`) the input goes to the effects worker instead
(:mod:`vidlake.effects.live_worker`), which encodes the effected picture and feeds the ladder ffmpeg
itself: every rung is then written by ffmpeg (rung 0 a copy of the worker's encode), no LL-HLS parts.
The worker's status file is read every second into the session (``effects_status``, shown in health);
the first ``dropped`` state is reported to the host.

A run talks to its session only through :class:`RunHost` (implemented by
:class:`~vidlake.live.output.SessionOutput`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from vidlake.effects.live_config import LiveEffectsConfig, worker_argv
from vidlake.live import pipeline
from vidlake.live.rtmp import flv
from vidlake.live.segmenter import Segmenter
from vidlake.live.session import LiveSession
from vidlake.live.simulcast import SimulcastDestination
from vidlake.live.stats import SessionStats
from vidlake.live.target import PublishInfo, SubprocessTarget

log = logging.getLogger(__name__)

UNDECIDED_MAX_BYTES = 16 * 1024 * 1024  #: input kept until the passthrough muxer knows the tracks (bytes)
TIME_LIMIT_SLACK_S = 120.0  #: a run's processes are killed this long after its publisher should have been cut
EFFECTS_STATUS_POLL_S = 1.0  #: how often the effects worker's status file is read (seconds)
EFFECTS_MEMORY_LIMIT_BYTES = 8 * 1024**3  #: address space of the effects worker (Python + models + PyAV)


@dataclass(frozen=True)
class LiveEffects:
    """The video effects of a run: ``effects`` (validated JSON) and ``sources`` (``src`` → local file)."""

    effects: list[dict[str, Any]]
    sources: dict[str, str] = dataclasses.field(default_factory=dict)


class RunHost(Protocol):
    """What a run needs from its session's owner."""

    def segment_closed(self, run: int, name: str, duration: float, keyframe: bytes | None) -> None:
        """The in-process passthrough rung closed segment ``name`` (``duration`` in seconds)."""

    def part_closed(self, run: int, name: str, duration: float, independent: bool) -> None:
        """The in-process passthrough rung closed the LL-HLS part ``name``."""

    async def poll(self, run: int, stop: asyncio.Event, variants: Sequence[int]) -> None:
        """Pick up the segments ffmpeg writes for ``variants`` of ``run`` until ``stop`` is set."""

    async def started(self) -> None:
        """The run's processes are up (the stream is ``connected``)."""

    async def ended(self, run: int, stats: SessionStats | None) -> None:
        """The run's processes are down and its outputs settled."""

    def stats(self) -> SessionStats | None:
        """The publisher's statistics now (``None`` when it is gone)."""

    async def kick(self, reason: str) -> None:
        """Cut the publisher."""

    async def simulcast_status(self, target_ids: list[str], status: str) -> None:
        """Record the status of simulcast targets."""

    async def effects_dropped(self, run: int, status: dict[str, Any]) -> None:
        """The effects worker of ``run`` stopped applying the effects (``status["reason"]`` says why)."""

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task the owner keeps (and waits for at shutdown)."""


@dataclass(frozen=True)
class RunConfig:
    """How a run starts its ffmpegs: the binary (``None``: the wheel's), x264 ``preset`` and ``threads``
    of the transcoded rungs (``None``: ffmpeg decides), the directory of their stderr logs, and how far
    (seconds) live effects may fall behind real time."""

    ffmpeg: str | None
    preset: str
    threads: int | None
    log_dir: Path
    effects_max_lag_s: float = 3.0  #: seconds behind real time before a run's effects are dropped


class RunTarget:
    """The publish target of one run (an RTMP :class:`~vidlake.live.rtmp.PublishTarget` and an SRT
    :class:`~vidlake.live.srt.SrtPublishTarget`): :meth:`on_data` takes the input bytes whatever their
    format. ``max_duration_s``: the publisher is cut after this many seconds."""

    def __init__(self, host: RunHost, live: LiveSession, destinations: list[SimulcastDestination],
                 config: RunConfig, *, input_format: str = "flv", max_duration_s: float = 43200.0,
                 effects: LiveEffects | None = None) -> None:
        self.host = host
        self.live = live
        self.config = config
        self.max_duration_s = max_duration_s
        self.run = live.runs
        live.runs += 1
        limit = max_duration_s + TIME_LIMIT_SLACK_S
        self.segmenter: Segmenter | None = None
        self._reader: flv.FlvStreamReader | None = None
        # LL-HLS parts: in-process rung only, and only with local storage (the remote mirror uploads what
        # playlists list as segments, and a part's round trip there would cost more than it saves).
        part_s = (live.plan.part_s if input_format == "flv" and live.publisher.in_place and effects is None
                  else None)
        live.parts_run, live.open_parts = (self.run if part_s else None), []
        live.effects_status = None
        self.effects_status_path: Path | None = None
        if input_format == "flv" and effects is None:
            self.segmenter = Segmenter(live.root / pipeline.variant_dir(self.run, 0), live.plan.segment_s,
                                       self._segment_closed, part_target_s=part_s, on_part=self._part_closed)
            self._reader = flv.FlvStreamReader()
        self.polled = range(0 if self.segmenter is None else 1, live.plan.variant_count)
        self.main: SubprocessTarget | None = None
        if effects is not None:
            self.main = self._effects_worker(effects, input_format, limit)
        elif self.polled:
            argv = pipeline.build_argv(live.plan, live.root, self.run, preset=config.preset, threads=config.threads,
                                       ffmpeg=config.ffmpeg, input_format=input_format,
                                       passthrough=self.segmenter is None)
            self.main = SubprocessTarget(argv, stderr_path=config.log_dir / f"run{self.run}.log", time_limit_s=limit)
        self.simulcasts = {d.target_id: SubprocessTarget(
            pipeline.simulcast_argv(d.url, ffmpeg=config.ffmpeg, input_format=input_format),
            stderr_path=config.log_dir / f"simulcast-{d.target_id}.log", stop_timeout_s=5, time_limit_s=limit)
            for d in destinations}
        self._stop = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._max_timer: asyncio.TimerHandle | None = None
        self.info: PublishInfo | None = None
        # Until the segmenter knows the tracks, the input is kept: if a codec turns out to be one it cannot
        # mux (HEVC, MP3, Opus...), an ffmpeg -c copy takes over the passthrough rung from the first byte.
        self._undecided: bytearray | None = bytearray() if self.segmenter is not None else None
        self.fallback: SubprocessTarget | None = None
        self._fallback_poller: asyncio.Task[None] | None = None
        self._effects_watch: asyncio.Task[None] | None = None

    def _effects_worker(self, effects: LiveEffects, input_format: str, limit: float) -> SubprocessTarget:
        """The effects worker in front of a ladder ffmpeg that writes every rung from its MPEG-TS."""
        log_dir = self.config.log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        ladder = pipeline.build_argv(self.live.plan, self.live.root, self.run, preset=self.config.preset,
                                     threads=self.config.threads, ffmpeg=self.config.ffmpeg, input_format="mpegts",
                                     passthrough=True)
        self.effects_status_path = log_dir / f"run{self.run}-effects-status.json"
        work = log_dir / f"run{self.run}-effects"
        work.mkdir(exist_ok=True)
        cfg = LiveEffectsConfig(effects=effects.effects, sources=effects.sources, input_format=input_format,
                                status_path=str(self.effects_status_path), work_dir=str(work),
                                ladder_log=str(log_dir / f"run{self.run}.log"), keyframe_s=self.live.plan.segment_s,
                                preset=self.config.preset, threads=self.config.threads,
                                max_lag_s=self.config.effects_max_lag_s)
        cfg_path = log_dir / f"run{self.run}-effects.json"
        cfg.write(cfg_path)
        return SubprocessTarget(worker_argv(cfg_path, ladder), stderr_path=log_dir / f"run{self.run}-effects.log",
                                time_limit_s=limit, stop_timeout_s=15.0,
                                memory_limit_bytes=EFFECTS_MEMORY_LIMIT_BYTES)

    async def _watch_effects(self) -> None:
        """Read the worker's status into the session every second; report the first ``dropped``."""
        assert self.effects_status_path is not None
        reported = False
        while not self._stop.is_set():
            try:
                status = json.loads(self.effects_status_path.read_text())
            except (OSError, ValueError):
                status = None
            if isinstance(status, dict):
                self.live.effects_status = status
                if status.get("state") == "dropped" and not reported:
                    reported = True
                    self.host.spawn(self.host.effects_dropped(self.run, status))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), EFFECTS_STATUS_POLL_S)

    def _segment_closed(self, name: str, duration: float) -> None:
        keyframe = self.segmenter.closed_keyframe if self.segmenter is not None else None
        self.host.segment_closed(self.run, name, duration, keyframe)

    def _part_closed(self, name: str, duration: float, independent: bool) -> None:
        self.host.part_closed(self.run, name, duration, independent)

    async def on_start(self, info: PublishInfo) -> None:
        """Start ffmpeg(s) and the segment poller of the transcoded rungs."""
        self.info = info
        if self.main is not None:
            await self.main.on_start(info)
        failed = []
        for target_id, sc in list(self.simulcasts.items()):
            try:
                await sc.on_start(info)
            except Exception:
                log.exception("simulcast %s could not start", target_id)
                failed.append(target_id)
                del self.simulcasts[target_id]
        if self.simulcasts or failed:
            await self.host.simulcast_status(list(self.simulcasts), "broadcasting")
            await self.host.simulcast_status(failed, "errored")
        if self.main is not None:
            self._poller = asyncio.create_task(self.host.poll(self.run, self._stop, self.polled))
        if self.effects_status_path is not None:
            self._effects_watch = asyncio.create_task(self._watch_effects())
        loop = asyncio.get_running_loop()
        self._max_timer = loop.call_later(self.max_duration_s,
                                          lambda: self.host.spawn(self.host.kick("max_continuous_duration")))
        await self.host.started()

    def slack_s(self) -> float:
        """How long (seconds of real time) input may wait without delaying an output: until the frame that
        may close the passthrough rung's open segment or part (0 without the in-process segmenter)."""
        if self.segmenter is None or self.fallback is not None:
            return 0.0
        return self.segmenter.slack_ms() / 1000.0

    def write(self, data: bytes) -> Coroutine[Any, Any, None] | None:
        """The synchronous path: mux the passthrough rung at once; return what must be awaited for ffmpeg
        and the simulcasts (``None`` when neither runs)."""
        if self._reader is not None and self.segmenter is not None:
            feed = self.segmenter.feed
            for tag in self._reader.feed(data):
                feed(tag)
            if self._undecided is not None:
                self._undecided += data
                if self.segmenter.unsupported:
                    return self._fall_back(data)
                if self.segmenter.settled or len(self._undecided) > UNDECIDED_MAX_BYTES:
                    self._undecided = None
        if self.fallback is not None:
            return self._to_subprocesses(data)
        if self.main is None and not self.simulcasts:
            return None
        return self._to_subprocesses(data)

    write_flv = write  #: the RTMP connection's synchronous hot path (:class:`~vidlake.live.rtmp.SyncPublishTarget`)

    def _fall_back(self, data: bytes) -> Coroutine[Any, Any, None]:
        """Hand the passthrough rung to ``ffmpeg -c copy`` (a codec the in-process muxer does not take):
        it gets everything received so far, then the rest; its playlist is polled like a transcoded rung's."""
        assert self._undecided is not None
        buffered, self._undecided = bytes(self._undecided), None
        log.warning("live %s: a codec the in-process muxer does not take; ffmpeg copies the passthrough rung",
                    self.live.stream_id)
        self.segmenter, self._reader = None, None
        self.live.parts_run, self.live.open_parts = None, []
        argv = pipeline.build_argv(dataclasses.replace(self.live.plan, rungs=()), self.live.root, self.run,
                                   preset=self.config.preset, ffmpeg=self.config.ffmpeg, passthrough=True)
        self.fallback = SubprocessTarget(argv, stderr_path=self.config.log_dir / f"run{self.run}-passthrough.log",
                                         time_limit_s=self.max_duration_s + TIME_LIMIT_SLACK_S)
        return self._start_fallback(buffered, data)

    async def _start_fallback(self, buffered: bytes, data: bytes) -> None:
        assert self.fallback is not None and self.info is not None
        await self.fallback.on_start(self.info)
        self._fallback_poller = asyncio.create_task(self.host.poll(self.run, self._stop, [0]))
        await self.fallback.on_data(buffered)
        if self.main is not None or self.simulcasts:
            await self._to_subprocesses(data, passthrough=False)

    async def on_data(self, data: bytes) -> None:
        """Mux the passthrough rung, feed ffmpeg (back-pressure) and the simulcasts (a failing one is
        dropped)."""
        wait = self.write(data)
        if wait is not None:
            await wait

    on_flv = on_data  #: FLV from an RTMP publisher
    on_ts = on_data  #: MPEG-TS from an SRT publisher (``input_format="mpegts"``)

    async def _to_subprocesses(self, data: bytes, *, passthrough: bool = True) -> None:
        if passthrough and self.fallback is not None:
            await self.fallback.on_data(data)
        if self.main is not None:
            await self.main.on_data(data)
        for target_id, sc in list(self.simulcasts.items()):
            try:
                await asyncio.wait_for(sc.on_data(data), 2.0)
            except Exception:
                log.warning("simulcast %s failed; dropping it", target_id)
                del self.simulcasts[target_id]
                self.host.spawn(sc.on_stop("target_error"))
                self.host.spawn(self.host.simulcast_status([target_id], "errored"))

    async def on_stop(self, reason: str) -> None:
        """Close the last passthrough segment, stop ffmpeg(s), publish the last segments, tell the host."""
        if self._max_timer is not None:
            self._max_timer.cancel()
        stats = self.host.stats()
        if self.segmenter is not None:
            try:
                self.segmenter.close()
            except Exception:
                log.exception("live %s: closing the last segment failed", self.live.stream_id)
        stops = [sc.on_stop(reason) for sc in self.simulcasts.values()]
        for proc in (self.main, self.fallback):
            if proc is not None:
                stops.append(proc.on_stop(reason))
        await asyncio.gather(*stops, return_exceptions=True)
        if self.simulcasts:
            await self.host.simulcast_status(list(self.simulcasts), "idle")
        self._stop.set()
        for poller in (self._poller, self._fallback_poller, self._effects_watch):
            if poller is not None:
                await poller
        await self.host.ended(self.run, stats)
