"""The live ingest owner: the RTMP and SRT servers, the map of live sessions, the reconcile loop.

One process (``vidlake serve``) owns an :class:`LiveIngest`, running its servers on an asyncio loop in a thread
(:meth:`LiveIngest.start_in_thread`); API routes use :func:`current` and its thread-safe methods.

A publish on an idle stream opens a *live session* (:mod:`vidlake.live.session`); each publish inside
it is a *run* (:class:`~vidlake.live.run.RunTarget`) whose outputs :class:`~vidlake.live.output.SessionOutput`
lists and publishes; the session ends when the publisher has been gone for ``reconnect_window`` seconds
(or on ``complete``/disable/delete). See :mod:`vidlake.live.states` and :mod:`vidlake.live.recording`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from vidlake.edit.service import LibraryResolver
from vidlake.live import control, pipeline, states
from vidlake.live.output import SessionOutput, close_session, open_session
from vidlake.live.rtmp import RtmpServer, RtmpServerConfig
from vidlake.live.rtmp.conn import Peer
from vidlake.live.run import LiveEffects, RunConfig, RunTarget
from vidlake.live.session import LiveSession
from vidlake.live.srt import SrtLibraryMissing, SrtServer, SrtServerConfig
from vidlake.live.stats import SessionStats, health_public
from vidlake.live.thumbnails import Thumbnailer
from vidlake.runtime import Services

log = logging.getLogger(__name__)
T = TypeVar("T")


class LiveIngest:
    """Owns the RTMP server, the SRT server (when ``srt_port`` is set and libsrt is installed) and every
    live session of this process.

    Both servers share one registry of live keys, so a key is live on one connection whatever the
    protocol, and ``self.server``'s ``kick``/``stats`` reach SRT publishers too. ``rungs``: transcoded
    rungs below the passthrough rung (``()`` for passthrough only); ``preset``: x264 preset of those rungs.
    """

    def __init__(self, services: Services, *, host: str = "127.0.0.1", port: int = 1935,
                 config: RtmpServerConfig | None = None, preset: str = "veryfast",
                 rungs: tuple[pipeline.Rung, ...] = pipeline.DEFAULT_RUNGS, srt_port: int = 0,
                 srt_config: SrtServerConfig | None = None) -> None:
        self.services = services
        self.preset = preset
        self.rungs = rungs
        self.server = RtmpServer(self._authorize, host=host, port=port, config=config)
        self.srt: SrtServer | None = None
        if srt_port:
            self.srt = SrtServer(self._authorize_srt, host=host, port=srt_port, config=srt_config,
                                 registry=self.server.registry)
        self.sessions: dict[str, LiveSession] = {}
        self.outputs: dict[str, SessionOutput] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.work_root = services.settings.data_dir / "live"
        self.thumbnailer = Thumbnailer()

    # ---------------------------------------------------------------------------- running

    def start_in_thread(self) -> None:
        """Run the RTMP server on a new asyncio loop in a daemon thread; returns once it listens."""
        self._thread = threading.Thread(target=self._thread_main, name="vidlake-live", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the RTMP server did not start")
        _CURRENT[:] = [self]

    def _thread_main(self) -> None:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(self._main())

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        await self.server.start()
        if self.srt is not None:
            try:
                await self.srt.start()
            except SrtLibraryMissing as exc:
                log.error("SRT ingest is off: %s", exc)
                self.srt = None
        await self.thumbnailer.start()
        self._ready.set()
        reconciler = asyncio.create_task(self._reconcile_loop())
        try:
            await self._stopping.wait()
        finally:
            reconciler.cancel()
            await self.server.close()
            if self.srt is not None:
                await self.srt.close()
            for live in list(self.sessions.values()):
                await self._finalize(live)
            await self.thumbnailer.close()

    def stop(self) -> None:
        """Stop the server (publishers are cut, sessions finalized) and join the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self.loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._stopping.set)
        thread.join(60)
        _CURRENT[:] = []

    def _call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30.0) -> T:
        """Run ``coro`` on the ingest loop from another thread and wait for its result."""
        if self.loop is None:
            coro.close()
            raise RuntimeError("live ingest is not running")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    # ---------------------------------------------------------------------------- API side (thread-safe)

    def kick_key(self, stream_key: str) -> bool:
        """Cut the publisher using ``stream_key`` (e.g. the old key after a reset)."""
        return self._call(self.server.kick(stream_key))

    def complete(self, stream_id: str) -> None:
        """Cut the publisher of the stream and end its session now (no reconnect window)."""
        self._call(self._complete(stream_id))

    def health(self, stream_id: str) -> dict[str, Any] | None:
        """Ingest health of the stream's live session (``None`` when no session)."""
        live = self.sessions.get(stream_id)
        if live is None:
            return None
        stats = self.server.stats(live.stream_key) if live.connected else None
        health = health_public(stats or live.last_stats, connected=live.connected)
        if live.effects_status is not None:
            health["effects"] = dict(live.effects_status)
        output = self.outputs.get(stream_id)
        if output is not None and output.captioner is not None:
            health["captions"] = output.captioner.status()
        return health

    def all_health(self) -> list[tuple[str, dict[str, Any]]]:
        """(stream id, health) of every live session."""
        out = []
        for stream_id in list(self.sessions):
            data = self.health(stream_id)
            if data is not None:
                out.append((stream_id, data))
        return out

    # ---------------------------------------------------------------------------- sessions

    async def _complete(self, stream_id: str) -> None:
        live = self.sessions.get(stream_id)
        if live is None:
            return
        if live.connected:
            await self.server.kick(live.stream_key)
        await self._finalize(live)

    async def _reconcile_loop(self) -> None:
        """Every :data:`~vidlake.live.control.RECONCILE_S` seconds, apply control requests recorded in the
        database by API processes that may not own these sessions (key reset, complete, disable, delete)."""
        while True:
            await asyncio.sleep(control.RECONCILE_S)
            refs = [control.SessionRef(live.stream_id, live.stream_key, live.connected, live.opened_at)
                    for live in list(self.sessions.values()) if not live.ended]
            if not refs:
                continue
            try:
                actions = await asyncio.to_thread(self._reconcile, refs)
                for action in actions:
                    log.info("live %s: %s (%s)", action.stream_id, action.action, action.reason)
                    if action.action == "kick":
                        await self.server.kick(action.stream_key)
                    else:
                        await self._complete(action.stream_id)
            except Exception:
                log.exception("live: reconciling sessions with the database failed")

    def _reconcile(self, refs: list[control.SessionRef]) -> list[control.ControlAction]:
        with self.services.db.session() as session:
            return control.reconcile(session, refs)

    async def _authorize_srt(self, app: str, key: str, peer: Peer) -> Any:
        """An SRT publish: like RTMP, but MPEG-TS input (ffmpeg writes every rung)."""
        return await self._authorize(app, key, peer, input_format="mpegts")

    async def _authorize(self, app: str, key: str, peer: Peer, input_format: str = "flv") -> Any:
        grant = await asyncio.to_thread(states.grant_publish, self.services.db, key,
                                      allow_private=self.services.settings.allow_private_networks)
        if grant is None:
            return None
        live = self.sessions.get(grant.stream_id)
        if live is not None and live.ended:
            live = None
        if live is None:
            live = await asyncio.to_thread(open_session, self.services, grant, key, self.rungs, self.work_root)
            self.sessions[grant.stream_id] = live
            self.outputs[grant.stream_id] = SessionOutput(live, self.services, self.server, self.thumbnailer,
                                                          self._spawn, self.run_ended)
        elif live.finalize_handle is not None:
            live.finalize_handle.cancel()
            live.finalize_handle = None
        live.stream_key = key
        settings = self.services.settings
        config = RunConfig(ffmpeg=settings.ffmpeg or None, preset=self.preset, threads=settings.ffmpeg_threads or None,
                           log_dir=self.work_root / "logs" / live.stream_id,
                           effects_max_lag_s=settings.live_effects_max_lag_s)
        effects = None
        if grant.effects:
            try:
                effects = await asyncio.to_thread(self._effect_sources, grant, config.log_dir)
            except Exception:  # a source gone since the request: the stream runs without its effects
                log.exception("live %s: the effects' sources could not be loaded; running without effects",
                              live.stream_id)
        return RunTarget(self.outputs[live.stream_id], live, grant.destinations, config, input_format=input_format,
                         max_duration_s=grant.max_duration_s, effects=effects)

    def _effect_sources(self, grant: states.PublishGrant, log_dir: Path) -> LiveEffects:
        """The run's effects with every ``src`` fetched as a local file (blocking: a worker thread)."""
        assert grant.effects is not None
        wanted = {e["src"] for e in grant.effects if isinstance(e.get("src"), str)}
        sources: dict[str, str] = {}
        if wanted:
            work = log_dir / "effect-sources"
            work.mkdir(parents=True, exist_ok=True)
            resolver = LibraryResolver(self.services, grant.environment_id, work_dir=work)
            sources = {src: str(resolver(src).path) for src in sorted(wanted)}
        return LiveEffects(grant.effects, sources)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def run_ended(self, live: LiveSession, run: int, stats: SessionStats | None) -> None:
        """The publisher of ``run`` is gone: wait ``reconnect_window`` for it to return.

        Runs as its own task after the connection released the key, so a publisher that reconnects at once
        is not refused as a duplicate.
        """
        latest = run == live.runs - 1
        if latest:
            live.connected = False
            live.last_stats = stats
        window = await asyncio.to_thread(states.mark_disconnected, self.services.db, live.stream_id, live.connected)
        if live.ended or not latest or live.runs - 1 != run:
            return
        if window is None or window <= 0:
            await self._finalize(live)
            return
        loop = asyncio.get_running_loop()
        live.finalize_handle = loop.call_later(window, lambda: self._spawn(self._finalize(live)))

    async def _finalize(self, live: LiveSession) -> None:
        """End the live session: final playlists, recording asset, status idle."""
        if live.ended:
            return
        live.ended = True
        if live.finalize_handle is not None:
            live.finalize_handle.cancel()
            live.finalize_handle = None
        output = self.outputs.get(live.stream_id)
        if output is not None and output.live is live:
            await output.close_captions()
        await asyncio.to_thread(close_session, self.services, live)
        if self.sessions.get(live.stream_id) is live:
            del self.sessions[live.stream_id]
            self.outputs.pop(live.stream_id, None)


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The ingest loop's factory: uvloop's (libuv: less CPU per socket read, and reads are most of the
    ingest's CPU) when installed (``uvicorn[standard]`` brings it on Linux), else asyncio's default."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


_CURRENT: list[LiveIngest] = []


def current() -> LiveIngest | None:
    """The live ingest owner of this process (``None`` when ingest is off or runs elsewhere)."""
    return _CURRENT[0] if _CURRENT else None


__all__ = ["LiveIngest", "current", "event_loop_factory"]
