"""The live ingest owner: the RTMP server, the registry of live sessions, the per-stream pipelines.

One process (``vidlake serve``) owns an :class:`LiveIngest`; it runs the RTMP server on its own
asyncio loop in a thread (:meth:`LiveIngest.start_in_thread`). API routes reach it through
:func:`current` and its thread-safe methods (:meth:`kick_key`, :meth:`complete`, :meth:`health`).

A *live session* is what one live asset spans: it starts with a publish on an idle stream and ends when
the publisher has been gone for ``reconnect_window`` seconds (or on ``complete``/disable/delete). Each
publish inside it is a *run* with its own ffmpeg; the playlists viewers get are written here from the
runs' segments, with ``EXT-X-DISCONTINUITY`` between runs and a sliding window of
:data:`~vidlake.live.pipeline.LIVE_WINDOW_SECONDS`. In latency mode ``low`` the in-process passthrough
rung is also cut into LL-HLS partial segments (:data:`~vidlake.live.pipeline.PART_SECONDS`) and ``v0.m3u8``
is rewritten as each part closes, with ``EXT-X-SERVER-CONTROL``, ``EXT-X-PART-INF`` and ``EXT-X-PART``
(parts of the last segments and of the one in progress); part files are deleted once their segment left
the live window, and at the end of the session (they are never part of the recording).

States and events: publish accepted → ``connected`` (+ ``recording`` when recorded); first segment →
status ``active`` + ``active``; publisher gone → ``disconnected``; window over → status ``idle`` +
``idle`` (+ ``video.asset.live_stream_completed`` for the recording).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from vidlake.core.clock import now
from vidlake.core.ids import new_id
from vidlake.db.models import LiveStream, PlaybackId
from vidlake.deliver import live_hook
from vidlake.deliver.resolve import PlaybackTarget
from vidlake.live import control, pipeline, simulcast, streams
from vidlake.live.rtmp import PublishInfo, RtmpServer, RtmpServerConfig, SessionStats, SubprocessTarget, flv
from vidlake.live.rtmp.conn import Peer
from vidlake.live.segmenter import Segmenter
from vidlake.live.simulcast import SimulcastDestination
from vidlake.live.srt import SrtLibraryMissing, SrtServer, SrtServerConfig
from vidlake.live.thumbnails import Thumbnailer
from vidlake.package import hls
from vidlake.package.publish import HlsPublisher
from vidlake.services import Services
from vidlake.storage import keys

log = logging.getLogger(__name__)
T = TypeVar("T")

UNDECIDED_MAX_BYTES = 16 * 1024 * 1024  #: input kept until the passthrough muxer knows the tracks (bytes)
POLL_S = 0.1  #: how often the playlists of a run's ffmpeg (transcoded rungs) are read (seconds)
RUN_PLAYLIST_SIZE = 20  #: segments listed in a run's own rung-0 playlist ``run{n}/v0/index.m3u8``
THUMBNAIL_S = 5.0  #: how often the live thumbnail is refreshed (seconds)


@dataclass
class SegmentEntry:
    """A segment of the live session: ``uri`` relative to the session root, ``duration`` in seconds."""

    uri: str
    duration: float
    discontinuity: bool
    parts: list[hls.Part] = field(default_factory=list)  #: LL-HLS parts (uris relative to the session root)


@dataclass
class LiveSession:
    """One live session of a stream (one live asset when recorded), across reconnects."""

    stream_id: str
    environment_id: str
    stream_key: str
    prefix: str
    root: Path
    plan: pipeline.LivePlan
    asset_id: str | None
    publisher: HlsPublisher
    runs: int = 0
    segments: list[list[SegmentEntry]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    active: bool = False
    connected: bool = False
    master_written: bool = False
    finalize_handle: asyncio.TimerHandle | None = None
    ended: bool = False
    last_stats: SessionStats | None = None
    thumbnail_at: float = -1e9
    thumbnail_proc: subprocess.Popen[bytes] | None = None
    run_segments: dict[tuple[int, int], int] = field(default_factory=dict)  #: (run, rung) → segments so far
    run_playlists: dict[int, list[hls.Segment]] = field(default_factory=dict)  #: run → newest rung-0 segments
    publishing: asyncio.Task[None] | None = None  #: the running upload to remote storage
    publish_again: bool = False
    pending: list[asyncio.Task[Any]] = field(default_factory=list)  #: database updates to wait for
    opened_at: float = field(default_factory=now)  #: Unix seconds (complete requests before it are old)
    parts_run: int | None = None  #: the run cutting rung 0 into LL-HLS parts (None: no parts listed)
    open_parts: list[hls.Part] = field(default_factory=list)  #: parts of rung 0's segment in progress


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
        return health_public(stats or live.last_stats, connected=live.connected)

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
        row = await asyncio.to_thread(self._load_stream, key)
        if row is None:
            return None
        stream_id, env_id, latency_mode, recorded, targets = row
        live = self.sessions.get(stream_id)
        if live is not None and live.ended:
            live = None
        if live is None:
            live = await asyncio.to_thread(self._open_session, stream_id, env_id, key, latency_mode, recorded)
            self.sessions[stream_id] = live
        elif live.finalize_handle is not None:
            live.finalize_handle.cancel()
            live.finalize_handle = None
        live.stream_key = key
        return RunTarget(self, live, targets, input_format=input_format)

    def _load_stream(self, key: str) -> tuple[str, str, str, bool, list[SimulcastDestination]] | None:
        with self.services.db.session() as session:
            stream = streams.by_stream_key(session, key)
            if stream is None or stream.status == "disabled":
                return None
            private = self.services.settings.allow_private_networks
            dests = simulcast.destinations(session, stream.id, allow_private=private)
            return stream.id, stream.environment_id, stream.latency_mode, stream.new_asset_settings is not None, dests

    def _open_session(self, stream_id: str, env_id: str, key: str, latency_mode: str,
                      recorded: bool) -> LiveSession:
        """Start a live session: the recording asset (if recorded) and the output prefix."""
        asset_id: str | None = None
        with self.services.db.session() as session:
            stream = session.get(LiveStream, stream_id)
            assert stream is not None
            if recorded:
                from vidlake.live.recording import create_live_asset

                asset = create_live_asset(session, stream)
                asset_id = asset.id
                prefix = keys.asset_hls(env_id, asset.id, "live")
            else:
                prefix = streams.live_prefix(env_id, stream_id, new_id(16))
            stream.hls_prefix = None
        storage = self.services.storage
        root = storage.local_dir(prefix) or (self.work_root / prefix)
        root.mkdir(parents=True, exist_ok=True)
        live_plan = pipeline.plan(latency_mode, self.rungs)
        return LiveSession(stream_id=stream_id, environment_id=env_id, stream_key=key, prefix=prefix, root=root,
                           plan=live_plan, asset_id=asset_id, publisher=HlsPublisher(root, storage, prefix),
                           segments=[[] for _ in range(live_plan.variant_count)])

    def _track(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run_started(self, live: LiveSession) -> None:
        """A publish of ``live`` was accepted and its pipeline started."""
        live.connected = True
        await asyncio.to_thread(self._db_connected, live)

    def _db_connected(self, live: LiveSession) -> None:
        with self.services.db.session() as session:
            stream = session.get(LiveStream, live.stream_id)
            if stream is None:
                return
            stream.connected = True
            stream.active_asset_id = live.asset_id
            streams.set_status(session, stream, stream.status, "connected")
            if live.asset_id:
                streams.set_status(session, stream, stream.status, "recording")

    async def run_ended(self, live: LiveSession, run: int, stats: SessionStats | None) -> None:
        """The publisher of ``run`` is gone: wait ``reconnect_window`` for it to return.

        Runs as its own task after the connection released the key, so a publisher that reconnects at once
        is not refused as a duplicate.
        """
        latest = run == live.runs - 1
        if latest:
            live.connected = False
            live.last_stats = stats
        window = await asyncio.to_thread(self._db_disconnected, live)
        if live.ended or not latest or live.runs - 1 != run:
            return
        if window is None or window <= 0:
            await self._finalize(live)
            return
        loop = asyncio.get_running_loop()
        live.finalize_handle = loop.call_later(window, lambda: self._track(self._finalize(live)))

    def _db_disconnected(self, live: LiveSession) -> float | None:
        with self.services.db.session() as session:
            stream = session.get(LiveStream, live.stream_id)
            if stream is None:
                return None
            stream.connected = live.connected
            streams.set_status(session, stream, stream.status, "disconnected")
            return None if stream.deleted_at is not None or stream.status == "disabled" else stream.reconnect_window

    async def _finalize(self, live: LiveSession) -> None:
        """End the live session: final playlists, recording asset, status idle."""
        if live.ended:
            return
        live.ended = True
        if live.finalize_handle is not None:
            live.finalize_handle.cancel()
            live.finalize_handle = None
        await asyncio.to_thread(self._finalize_sync, live)
        if self.sessions.get(live.stream_id) is live:
            del self.sessions[live.stream_id]

    def _finalize_sync(self, live: LiveSession) -> None:
        from vidlake.live.recording import finish_recording

        live.parts_run = None
        drop_parts(live)
        if not live.asset_id:  # not recorded: nothing of the session is kept (gone before the stream is idle)
            self.services.storage.delete_prefix(live.prefix + "/")
        with self.services.db.session() as session:
            stream = session.get(LiveStream, live.stream_id)
            if stream is not None:
                stream.hls_prefix = None
                stream.active_asset_id = None
                if live.asset_id:
                    stream.recent_asset_ids = [*(stream.recent_asset_ids or []), live.asset_id][-10:]
                if stream.status == "active":
                    streams.set_status(session, stream, "idle")
        if live.asset_id:
            try:
                finish_recording(self.services, live)
            except Exception:
                log.exception("live %s: finishing the recording failed", live.stream_id)
        if not live.publisher.in_place:  # the local mirror of remote storage
            shutil.rmtree(live.root, ignore_errors=True)

    # ---------------------------------------------------------------------------- segments

    def scan(self, live: LiveSession, run: int, variants: Sequence[int]) -> list[tuple[int, str, float]]:
        """(rung, uri, duration in seconds) of every segment that ffmpeg lists for ``variants`` of ``run``
        and the session does not have yet. Reads files only: safe in a worker thread."""
        found = []
        for i in variants:
            path = live.root / pipeline.variant_dir(run, i) / "index.m3u8"
            try:
                playlist = hls.read(path)
            except (OSError, ValueError):
                continue
            if not isinstance(playlist, hls.MediaPlaylist):
                continue
            for seg in playlist.segments:
                uri = f"{pipeline.variant_dir(run, i)}/{seg.uri}"
                if uri not in live.seen:
                    found.append((i, uri, seg.duration))
        return found

    def add_segments(self, live: LiveSession, run: int, found: Sequence[tuple[int, str, float]], *,
                     keyframe: bytes | None = None, parts: list[hls.Part] | None = None) -> bool:
        """Add segments (rung, uri, duration in seconds) of ``run`` to ``live``; rewrite the playlists of the
        rungs that grew and publish them (in a worker thread when storage is remote); refresh the
        thumbnail (from ``keyframe``, the newest rung-0 segment's first picture, when given). ``parts``:
        the LL-HLS parts of the rung-0 segment in ``found``. Runs on the ingest loop. True if any segment
        was new."""
        changed: set[int] = set()
        for i, uri, duration in found:
            if uri in live.seen:
                continue
            live.seen.add(uri)
            entries = live.segments[i]
            first_of_run = live.run_segments.get((run, i), 0) == 0
            live.run_segments[(run, i)] = live.run_segments.get((run, i), 0) + 1
            entries.append(SegmentEntry(uri, duration, first_of_run and bool(entries),
                                        list(parts) if parts and i == 0 else []))
            changed.add(i)
            if i == 0:
                _expire_parts(live)
        if not changed:
            return False
        write_media_playlists(live, final=False, variants=sorted(changed))
        if not live.master_written:
            hls.write(live.root / "master.m3u8", self._master(live))
            live.master_written = True
        self._publish_soon(live)
        if 0 in changed:
            self._thumbnail(live, keyframe)
        if not live.active:
            live.active = True
            live.pending.append(self._spawn(self._mark_active(live)))
        return True

    async def _mark_active(self, live: LiveSession) -> None:
        """Status ``active`` once viewers can play: with remote storage, after the upload holding the first
        playlists has finished."""
        if live.publishing is not None:
            await asyncio.gather(live.publishing, return_exceptions=True)
        await asyncio.to_thread(self._db_active, live)

    def segment_closed(self, live: LiveSession, run: int, name: str, duration: float,
                       keyframe: bytes | None = None) -> None:
        """The in-process passthrough rung closed segment ``name`` of ``run`` (``duration`` in seconds):
        list it in the live playlists at once, then in ``run{n}/v0/index.m3u8`` (as ffmpeg did, for readers
        of a run's own playlist)."""
        rel = pipeline.variant_dir(run, 0)
        parts: list[hls.Part] = []
        if live.parts_run == run:
            parts, live.open_parts = live.open_parts, []
        self.add_segments(live, run, [(0, f"{rel}/{name}", duration)], keyframe=keyframe, parts=parts)
        own = live.run_playlists.setdefault(run, [])
        own.append(hls.Segment(uri=name, duration=duration))
        del own[:-RUN_PLAYLIST_SIZE]
        write_playlist(live.root / rel / "index.m3u8", hls.MediaPlaylist(
            segments=list(own), version=6, media_sequence=live.run_segments.get((run, 0), 0) - len(own),
            independent_segments=True))

    def part_closed(self, live: LiveSession, run: int, name: str, duration: float, independent: bool) -> None:
        """The in-process passthrough rung of ``run`` closed the LL-HLS part ``name`` (relative to the
        rung's directory; ``duration`` in seconds): list it in ``v0.m3u8`` at once."""
        if live.parts_run != run or live.ended:
            return
        live.open_parts.append(hls.Part(uri=f"{pipeline.variant_dir(run, 0)}/{name}", duration=duration,
                                        independent=independent))
        write_media_playlists(live, final=False, variants=[0])

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _publish_soon(self, live: LiveSession) -> None:
        """Mirror the session's files to remote storage in a worker thread; at most one upload runs per
        session, and one more follows when something changed meanwhile."""
        if live.publisher.in_place:
            return
        if live.publishing is not None and not live.publishing.done():
            live.publish_again = True
            return
        live.publishing = self._spawn(self._publish(live))

    async def _publish(self, live: LiveSession) -> None:
        while True:
            live.publish_again = False
            try:
                await asyncio.to_thread(live.publisher.publish)
            except Exception:
                log.exception("live %s: publishing failed", live.stream_id)
            if not live.publish_again:
                return

    async def settle(self, live: LiveSession) -> None:
        """Wait for the session's pending uploads and database updates."""
        while live.pending:
            await asyncio.gather(*live.pending.copy(), return_exceptions=True)
            live.pending = [t for t in live.pending if not t.done()]
        if live.publishing is not None:
            await asyncio.gather(live.publishing, return_exceptions=True)

    def _thumbnail(self, live: LiveSession, keyframe: bytes | None = None) -> None:
        """Refresh ``thumbnail.jpg`` from the newest passthrough segment every :data:`THUMBNAIL_S` seconds:
        from its first ``keyframe`` by the :class:`Thumbnailer` helper when the segment was muxed here,
        else by a separate ffmpeg decoding the segment's first keyframe (the previous one is reaped, never
        waited for)."""
        if keyframe is not None:
            if time.monotonic() - live.thumbnail_at >= THUMBNAIL_S:
                live.thumbnail_at = time.monotonic()
                live.pending.append(self._spawn(self._thumbnail_from(live, keyframe)))
                live.pending = [t for t in live.pending if not t.done()]
            return
        proc = live.thumbnail_proc
        if proc is not None:
            if proc.poll() is None:
                return
            live.thumbnail_proc = None
            thumb = live.root / "thumbnail.jpg"
            if proc.returncode == 0 and not live.publisher.in_place and thumb.is_file():
                self._spawn(asyncio.to_thread(live.publisher.storage.put_file, f"{live.prefix}/thumbnail.jpg",
                                              thumb, "image/jpeg"))
        if time.monotonic() - live.thumbnail_at < THUMBNAIL_S or not live.segments[0]:
            return
        live.thumbnail_at = time.monotonic()
        segment = live.root / live.segments[0][-1].uri
        argv = pipeline.thumbnail_argv(segment, live.root / "thumbnail.jpg",
                                       ffmpeg=self.services.settings.ffmpeg or None)
        live.thumbnail_proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL)

    async def _thumbnail_from(self, live: LiveSession, keyframe: bytes) -> None:
        thumb = live.root / "thumbnail.jpg"
        if await self.thumbnailer.render(keyframe, thumb) and not live.publisher.in_place:
            await asyncio.to_thread(live.publisher.storage.put_file, f"{live.prefix}/thumbnail.jpg", thumb,
                                    "image/jpeg")

    def write_playlists(self, live: LiveSession, *, final: bool) -> None:
        """Write the media playlists and (once) ``master.m3u8``."""
        write_media_playlists(live, final=final)
        if not live.master_written:
            hls.write(live.root / "master.m3u8", self._master(live))
            live.master_written = True

    def _master(self, live: LiveSession) -> hls.MasterPlaylist:
        stats = self.server.stats(live.stream_key) or live.last_stats
        width = stats.width if stats and stats.width else None
        height = stats.height if stats and stats.height else None
        src_bps = int(stats.bitrate_bps) if stats and stats.bitrate_bps else 2_500_000
        variants = [hls.Variant(uri="v0.m3u8", bandwidth=max(src_bps, 100_000),
                                resolution=(width, height) if width and height else None)]
        for i, rung in enumerate(live.plan.rungs, start=1):
            res = None
            if width and height:
                h = min(rung.height, height)
                res = (round(width * h / height / 2) * 2, h)
            variants.append(hls.Variant(uri=f"v{i}.m3u8", bandwidth=rung.video_bitrate + 160_000, resolution=res))
        return hls.MasterPlaylist(variants=variants, version=6, independent_segments=True)

    async def poll_loop(self, live: LiveSession, run: int, stop: asyncio.Event, variants: Sequence[int]) -> None:
        """Pick up the segments ffmpeg writes for ``variants`` of ``run`` every :data:`POLL_S` seconds
        until ``stop`` is set (then once more)."""
        while True:
            stopped = stop.is_set()
            try:
                found = await asyncio.to_thread(self.scan, live, run, variants)
                self.add_segments(live, run, found)
            except Exception:
                log.exception("live %s: publishing failed", live.stream_id)
            if stopped:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_S)

    def _db_active(self, live: LiveSession) -> None:
        with self.services.db.session() as session:
            stream = session.get(LiveStream, live.stream_id)
            if stream is None:
                return
            stream.hls_prefix = live.prefix
            if stream.status != "active":
                streams.set_status(session, stream, "active")


class RunTarget:
    """The :class:`~vidlake.live.rtmp.PublishTarget` of one publish ("run").

    With FLV input (RTMP) the passthrough rung is muxed in-process (:class:`Segmenter`: each segment is
    listed the moment it is closed) and one ffmpeg writes the transcoded rungs (none runs when there are
    none); with ``input_format="mpegts"`` ffmpeg writes every rung. Each simulcast target gets a
    ``-c copy`` ffmpeg; a failing simulcast never stops the stream. :meth:`on_flv` takes the input bytes
    whatever their format.
    """

    def __init__(self, owner: LiveIngest, live: LiveSession, destinations: list[SimulcastDestination], *,
                 input_format: str = "flv") -> None:
        self.owner = owner
        self.live = live
        self.run = live.runs
        live.runs += 1
        settings = owner.services.settings
        ffmpeg = settings.ffmpeg or None
        log_dir = owner.work_root / "logs" / live.stream_id
        self.segmenter: Segmenter | None = None
        self._reader: flv.FlvStreamReader | None = None
        # LL-HLS parts: in-process rung only, and only with local storage (the remote mirror uploads what
        # playlists list as segments, and a part's round trip there would cost more than it saves).
        part_s = live.plan.part_s if input_format == "flv" and live.publisher.in_place else None
        live.parts_run, live.open_parts = (self.run if part_s else None), []
        if input_format == "flv":
            self.segmenter = Segmenter(live.root / pipeline.variant_dir(self.run, 0), live.plan.segment_s,
                                       self._segment_closed, part_target_s=part_s, on_part=self._part_closed)
            self._reader = flv.FlvStreamReader()
        self.polled = range(0 if self.segmenter is None else 1, live.plan.variant_count)
        self.main: SubprocessTarget | None = None
        if self.polled:
            argv = pipeline.build_argv(live.plan, live.root, self.run, preset=owner.preset,
                                       threads=settings.ffmpeg_threads or None, ffmpeg=ffmpeg,
                                       input_format=input_format, passthrough=self.segmenter is None)
            self.main = SubprocessTarget(argv, stderr_path=log_dir / f"run{self.run}.log")
        self.simulcasts = {d.target_id: SubprocessTarget(
            pipeline.simulcast_argv(d.url, ffmpeg=ffmpeg, input_format=input_format),
            stderr_path=log_dir / f"simulcast-{d.target_id}.log", stop_timeout_s=5) for d in destinations}
        self._stop = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._max_timer: asyncio.TimerHandle | None = None
        self.info: PublishInfo | None = None
        # Until the segmenter knows the tracks, the input is kept: if a codec turns out to be one it cannot
        # mux (HEVC, MP3, Opus...), an ffmpeg -c copy takes over the passthrough rung from the first byte.
        self._undecided: bytearray | None = bytearray() if self.segmenter is not None else None
        self.fallback: SubprocessTarget | None = None
        self._fallback_poller: asyncio.Task[None] | None = None
        self._log_dir = log_dir

    def _segment_closed(self, name: str, duration: float) -> None:
        keyframe = self.segmenter.closed_keyframe if self.segmenter is not None else None
        self.owner.segment_closed(self.live, self.run, name, duration, keyframe)

    def _part_closed(self, name: str, duration: float, independent: bool) -> None:
        self.owner.part_closed(self.live, self.run, name, duration, independent)

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
            await asyncio.to_thread(simulcast.set_status, self.owner.services, list(self.simulcasts), "broadcasting")
            await asyncio.to_thread(simulcast.set_status, self.owner.services, failed, "errored")
        if self.main is not None:
            self._poller = asyncio.create_task(self.owner.poll_loop(self.live, self.run, self._stop, self.polled))
        max_s = await asyncio.to_thread(self._max_duration)
        loop = asyncio.get_running_loop()
        self._max_timer = loop.call_later(max_s, lambda: self.owner._track(self._kick_max()))
        await self.owner.run_started(self.live)

    def _max_duration(self) -> float:
        with self.owner.services.db.session() as session:
            stream = session.get(LiveStream, self.live.stream_id)
            return float(stream.max_continuous_duration) if stream is not None else 43200.0

    async def _kick_max(self) -> None:
        await self.owner.server.kick(self.live.stream_key, "max_continuous_duration")

    def slack_s(self) -> float:
        """How long (seconds of real time) input may wait without delaying an output: until the frame that
        may close the passthrough rung's open segment or part (0 without the in-process segmenter)."""
        if self.segmenter is None or self.fallback is not None:
            return 0.0
        return self.segmenter.slack_ms() / 1000.0

    def write_flv(self, data: bytes) -> Coroutine[Any, Any, None] | None:
        """The connection's synchronous path: mux the passthrough rung at once; return what must be awaited
        for ffmpeg and the simulcasts (``None`` when neither runs)."""
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
                                   preset=self.owner.preset, ffmpeg=self.owner.services.settings.ffmpeg or None,
                                   passthrough=True)
        self.fallback = SubprocessTarget(argv, stderr_path=self._log_dir / f"run{self.run}-passthrough.log")
        return self._start_fallback(buffered, data)

    async def _start_fallback(self, buffered: bytes, data: bytes) -> None:
        assert self.fallback is not None and self.info is not None
        await self.fallback.on_start(self.info)
        self._fallback_poller = asyncio.create_task(self.owner.poll_loop(self.live, self.run, self._stop, [0]))
        await self.fallback.on_flv(buffered)
        if self.main is not None or self.simulcasts:
            await self._to_subprocesses(data, passthrough=False)

    async def on_flv(self, data: bytes) -> None:
        """Mux the passthrough rung, feed ffmpeg (back-pressure) and the simulcasts (a failing one is
        dropped)."""
        wait = self.write_flv(data)
        if wait is not None:
            await wait

    async def on_ts(self, data: bytes) -> None:
        """MPEG-TS from an SRT publisher (``input_format="mpegts"``): to ffmpeg and the simulcasts."""
        await self.on_flv(data)

    async def _to_subprocesses(self, data: bytes, *, passthrough: bool = True) -> None:
        if passthrough and self.fallback is not None:
            await self.fallback.on_flv(data)
        if self.main is not None:
            await self.main.on_flv(data)
        for target_id, sc in list(self.simulcasts.items()):
            try:
                await asyncio.wait_for(sc.on_flv(data), 2.0)
            except Exception:
                log.warning("simulcast %s failed; dropping it", target_id)
                del self.simulcasts[target_id]
                self.owner._track(sc.on_stop("target_error"))
                self.owner._track(asyncio.to_thread(simulcast.set_status, self.owner.services, [target_id],
                                                    "errored"))

    async def on_stop(self, reason: str) -> None:
        """Close the last passthrough segment, stop ffmpeg(s), publish the last segments, tell the owner."""
        if self._max_timer is not None:
            self._max_timer.cancel()
        stats = self.owner.server.stats(self.live.stream_key)
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
            await asyncio.to_thread(simulcast.set_status, self.owner.services, list(self.simulcasts), "idle")
        self._stop.set()
        for poller in (self._poller, self._fallback_poller):
            if poller is not None:
                await poller
        await self.owner.settle(self.live)
        self.owner._track(self.owner.run_ended(self.live, self.run, stats))


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The ingest loop's factory: uvloop's (libuv: less CPU per socket read, and reads are most of the
    ingest's CPU) when installed (``uvicorn[standard]`` brings it on Linux), else asyncio's default."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def write_media_playlists(live: LiveSession, *, final: bool, variants: Sequence[int] | None = None) -> None:
    """Write ``v{i}.m3u8`` (of ``variants``, default all): the sliding window while live, every segment
    (VOD) when ``final``. While a run cuts LL-HLS parts, ``v0.m3u8`` also gets the low-latency tags
    (:func:`_add_parts`)."""
    for i in range(len(live.segments)) if variants is None else variants:
        entries = live.segments[i]
        shown = entries if final else entries[-live.plan.window_segments:]
        skipped = len(entries) - len(shown)
        disc_seq = sum(1 for e in entries[:skipped] if e.discontinuity)
        segs = [hls.Segment(uri=e.uri, duration=e.duration, discontinuity=e.discontinuity) for e in shown]
        extra = [f"#EXT-X-DISCONTINUITY-SEQUENCE:{disc_seq}"] if disc_seq else []
        playlist = hls.MediaPlaylist(segments=segs, version=6, media_sequence=skipped, independent_segments=True,
                                     extra_tags=extra, playlist_type="VOD" if final else None, endlist=final)
        if i == 0 and not final and live.parts_run is not None and live.plan.part_s:
            _add_parts(live, playlist, shown)
        write_playlist(live.root / f"v{i}.m3u8", playlist)


def _add_parts(live: LiveSession, playlist: hls.MediaPlaylist, shown: Sequence[SegmentEntry]) -> None:
    """LL-HLS tags of rung 0 (RFC 8216bis 4.4.3.7-4.4.4.9): blocking reload, PART-HOLD-BACK of
    :data:`~vidlake.live.pipeline.PART_HOLD_BACK_PARTS` part targets, the parts of the segments in the last
    three target durations and those of the segment in progress."""
    part_s = live.plan.part_s
    assert part_s is not None
    playlist.server_control = hls.ServerControl(can_block_reload=True,
                                                part_hold_back=round(pipeline.PART_HOLD_BACK_PARTS * part_s, 3))
    playlist.part_target = part_s
    target = max([math.ceil(e.duration - 1e-3) for e in shown] + [math.ceil(live.plan.segment_s)])
    playlist.target_duration = target
    covered = sum(p.duration for p in live.open_parts)
    for seg, entry in zip(reversed(playlist.segments), reversed(shown), strict=True):
        if covered > 3 * target:
            break
        seg.parts = list(entry.parts)
        covered += entry.duration
    playlist.parts = list(live.open_parts)
    assert live.parts_run is not None
    playlist.parts_discontinuity = bool(live.open_parts) and bool(live.segments[0]) \
        and live.run_segments.get((live.parts_run, 0), 0) == 0


def _expire_parts(live: LiveSession) -> None:
    """Delete the part files of the rung-0 segment that just left the live window."""
    entries = live.segments[0]
    index = len(entries) - live.plan.window_segments - 1
    if index >= 0 and entries[index].parts:
        for part in entries[index].parts:
            with contextlib.suppress(OSError):
                (live.root / part.uri).unlink()
        entries[index].parts = []


def drop_parts(live: LiveSession) -> None:
    """Forget and delete every LL-HLS part file of ``live`` (end of the session: not in the recording)."""
    for entry in live.segments[0] if live.segments else []:
        entry.parts = []
    live.open_parts = []
    for run in range(live.runs):
        shutil.rmtree(live.root / pipeline.variant_dir(run, 0) / "parts", ignore_errors=True)


def write_playlist(path: Path, playlist: hls.Playlist) -> None:
    """Replace ``path`` atomically (through ``.{name}.tmp`` beside it; only the ingest loop writes a live
    session's playlists, so the name can be fixed, which is cheaper than :func:`hls.write`'s)."""
    data = hls.dumps(playlist).encode("utf-8")
    target = str(path)
    slash = target.rfind("/") + 1
    tmp = f"{target[:slash]}.{target[slash:]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)  # (no file object: this runs per part)
    try:
        if os.write(fd, data) != len(data):
            raise OSError(f"short write of {tmp} (disk full?)")
    finally:
        os.close(fd)
    os.replace(tmp, target)


def health_public(stats: SessionStats | None, *, connected: bool) -> dict[str, Any]:
    """Ingest health as the API shows it. Units: bits per second, frames per second, seconds, bytes."""
    if stats is None:
        return {"connected": connected}
    since = round(max(0.0, now() - stats.last_frame_at), 3) if stats.last_frame_at else None
    return {
        "connected": connected,
        "bitrate_bps": round(stats.bitrate_bps),
        "frame_rate": stats.measured_fps or stats.fps,
        "keyframe_interval_s": stats.keyframe_interval_s,
        "video_codec": stats.video_codec,
        "audio_codec": stats.audio_codec,
        "width": stats.width,
        "height": stats.height,
        "bytes_received": stats.bytes_received,
        "seconds_since_last_frame": since,
    }


_CURRENT: list[LiveIngest] = []


def current() -> LiveIngest | None:
    """The live ingest owner of this process (``None`` when ingest is off or runs elsewhere)."""
    return _CURRENT[0] if _CURRENT else None


def _resolve_live(session: Any, pid: PlaybackId) -> PlaybackTarget | None:
    stream = session.get(LiveStream, pid.live_stream_id)
    if stream is None or stream.deleted_at is not None or not stream.hls_prefix:
        return None
    return PlaybackTarget(playback_id=pid.id, policy=pid.policy, environment_id=pid.environment_id,
                          hls_prefix=stream.hls_prefix, complete=False, duration_s=None,
                          live_stream_id=stream.id)


live_hook.register(_resolve_live)

__all__ = [
    "LiveIngest", "LiveSession", "RunTarget", "SegmentEntry", "current", "drop_parts", "health_public",
    "write_media_playlists",
]
