"""What one live session puts out: its directory and prefix (:func:`open_session`); while it runs its
segments listed in the playlists, the files mirrored to remote storage, the thumbnail refreshed, the stream
marked ``connected`` and ``active``; at its end the recording (:func:`close_session`).

:class:`SessionOutput` is the :class:`~vidlake.live.run.RunHost` of every run of its session. It runs on
the ingest loop; files are read in worker threads, database updates too (:mod:`vidlake.live.states`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from vidlake.live import pipeline, session, simulcast, states
from vidlake.live.captions import LiveCaptioner
from vidlake.live.recording import finish_recording
from vidlake.live.registry import RegistryViews
from vidlake.live.session import LiveSession
from vidlake.live.stats import SessionStats
from vidlake.live.thumbnails import Thumbnailer
from vidlake.package import hls
from vidlake.package.live_hls import write_playlist
from vidlake.package.publish import HlsPublisher
from vidlake.runtime import Services
from vidlake.speech.engine import get_engine

log = logging.getLogger(__name__)

POLL_S = 0.1  #: how often the playlists of a run's ffmpeg (transcoded rungs) are read (seconds)
RUN_PLAYLIST_SIZE = 20  #: segments listed in a run's own rung-0 playlist ``run{n}/v0/index.m3u8``

#: ``run_ended(live, run, stats)``: the owner's reaction to a run's end (the reconnect window).
RunEnded = Callable[[LiveSession, int, SessionStats | None], Coroutine[Any, Any, None]]


class SessionOutput:
    """The outputs of ``live``. ``server``: where its publisher is (statistics, kick); ``spawn``: the
    owner's task keeper; ``run_ended``: called as a task once a run's outputs are settled."""

    def __init__(self, live: LiveSession, services: Services, server: RegistryViews, thumbnailer: Thumbnailer,
                 spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]], run_ended: RunEnded) -> None:
        self.live = live
        self.services = services
        self.server = server
        self.thumbnailer = thumbnailer
        self.spawn = spawn
        self._run_ended = run_ended
        self.captioner: LiveCaptioner | None = None
        if live.captions is not None:
            settings = services.settings
            self.captioner = LiveCaptioner(
                live.captions, live.root, live.plan.window_segments,
                lambda audio, lang, phrases: get_engine(settings).transcribe(audio, lang, phrases=phrases),
                self._publish_soon, spawn)

    async def close_captions(self) -> None:
        """The session ends: caption what is left, close the subtitle playlist, keep the transcript."""
        if self.captioner is not None:
            await self.captioner.close()
            self.live.caption_vtt = self.captioner.webvtt()

    # ---------------------------------------------------------------------------- RunHost

    def stats(self) -> SessionStats | None:
        """The publisher's statistics now."""
        return self.server.stats(self.live.stream_key)

    async def kick(self, reason: str) -> None:
        """Cut the publisher of the session."""
        await self.server.kick(self.live.stream_key, reason)

    async def simulcast_status(self, target_ids: list[str], status: str) -> None:
        """Record the status of simulcast targets (in a worker thread)."""
        await asyncio.to_thread(simulcast.set_status, self.services, target_ids, status)

    async def effects_dropped(self, run: int, status: dict[str, Any]) -> None:
        """The effects of ``run`` were dropped: ``video.live_stream.effects_dropped`` (in a worker thread)."""
        log.warning("live %s run %d: effects dropped: %s", self.live.stream_id, run, status.get("reason"))
        await asyncio.to_thread(states.effects_dropped, self.services.db, self.live.stream_id, status)

    async def started(self) -> None:
        """A publish was accepted and its pipeline started."""
        self.live.connected = True
        await asyncio.to_thread(states.mark_connected, self.services.db, self.live.stream_id, self.live.asset_id)

    async def ended(self, run: int, stats: SessionStats | None) -> None:
        """A run's processes are down: wait for its uploads and updates, then tell the owner (as a task, so
        that a publisher reconnecting at once is not refused as a duplicate)."""
        await self.settle()
        self.spawn(self._run_ended(self.live, run, stats))

    def segment_closed(self, run: int, name: str, duration: float, keyframe: bytes | None = None) -> None:
        """The in-process passthrough rung closed segment ``name`` of ``run`` (``duration`` in seconds):
        list it in the live playlists at once, then in ``run{n}/v0/index.m3u8`` (as ffmpeg did, for readers
        of a run's own playlist)."""
        live = self.live
        rel = pipeline.variant_dir(run, 0)
        parts: list[hls.Part] = []
        if live.parts_run == run:
            parts, live.open_parts = live.open_parts, []
        self.add_segments(run, [(0, f"{rel}/{name}", duration)], keyframe=keyframe, parts=parts)
        own = live.run_playlists.setdefault(run, [])
        own.append(hls.Segment(uri=name, duration=duration))
        del own[:-RUN_PLAYLIST_SIZE]
        write_playlist(live.root / rel / "index.m3u8", hls.MediaPlaylist(
            segments=list(own), version=6, media_sequence=live.run_segments.get((run, 0), 0) - len(own),
            independent_segments=True))

    def part_closed(self, run: int, name: str, duration: float, independent: bool) -> None:
        """The in-process passthrough rung of ``run`` closed the LL-HLS part ``name`` (relative to the
        rung's directory; ``duration`` in seconds): list it in ``v0.m3u8`` at once."""
        live = self.live
        if live.parts_run != run or live.ended:
            return
        live.open_parts.append(hls.Part(uri=f"{pipeline.variant_dir(run, 0)}/{name}", duration=duration,
                                        independent=independent))
        session.write_media_playlists(live, final=False, variants=[0])

    async def poll(self, run: int, stop: asyncio.Event, variants: Sequence[int]) -> None:
        """Pick up the segments ffmpeg writes for ``variants`` of ``run`` every :data:`POLL_S` seconds
        until ``stop`` is set (then once more)."""
        while True:
            stopped = stop.is_set()
            try:
                found = await asyncio.to_thread(session.scan, self.live, run, variants)
                self.add_segments(run, found)
            except Exception:
                log.exception("live %s: publishing failed", self.live.stream_id)
            if stopped:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_S)

    # ---------------------------------------------------------------------------- segments

    def add_segments(self, run: int, found: Sequence[tuple[int, str, float]], *,
                     keyframe: bytes | None = None, parts: list[hls.Part] | None = None) -> bool:
        """Add segments (rung, uri, duration in seconds) of ``run``; rewrite the playlists of the rungs that
        grew and publish them (in a worker thread when storage is remote); refresh the thumbnail (from
        ``keyframe``, the newest rung-0 segment's first picture, when given). ``parts``: the LL-HLS parts
        of the rung-0 segment in ``found``. True if any segment was new."""
        live = self.live
        before = len(live.segments[0])
        changed = session.add_entries(live, run, found, parts)
        if not changed:
            return False
        if self.captioner is not None:
            for entry in live.segments[0][before:]:
                self.captioner.segment_added(live.root / entry.uri, entry.duration)
        session.write_media_playlists(live, final=False, variants=sorted(changed))
        session.write_master_once(live, self.stats() or live.last_stats)
        self._publish_soon()
        if 0 in changed:
            self._thumbnail(keyframe)
        if not live.active:
            live.active = True
            live.pending.append(self.spawn(self._mark_active()))
        return True

    async def _mark_active(self) -> None:
        """Status ``active`` once viewers can play: with remote storage, after the upload holding the first
        playlists has finished."""
        if self.live.publishing is not None:
            await asyncio.gather(self.live.publishing, return_exceptions=True)
        await asyncio.to_thread(states.mark_active, self.services.db, self.live.stream_id, self.live.prefix)

    def _thumbnail(self, keyframe: bytes | None) -> None:
        """Refresh the thumbnail (:class:`~vidlake.live.thumbnails.LiveThumbnail`): from ``keyframe`` by the
        helper when the segment was muxed here, else by an ffmpeg on the newest passthrough segment."""
        live = self.live
        thumb = live.thumbnail
        assert thumb is not None
        if keyframe is not None:
            if thumb.due():
                live.pending.append(self.spawn(thumb.from_keyframe(self.thumbnailer, keyframe)))
                live.pending = [t for t in live.pending if not t.done()]
            return
        newest = live.root / live.segments[0][-1].uri if live.segments[0] else None
        upload: Awaitable[None] | None = thumb.from_segment(newest, self.services.settings.ffmpeg or None)
        if upload is not None:
            self.spawn(_awaited(upload))

    def _publish_soon(self) -> None:
        """Mirror the session's files to remote storage in a worker thread; at most one upload runs per
        session, and one more follows when something changed meanwhile."""
        live = self.live
        if live.publisher.in_place:
            return
        if live.publishing is not None and not live.publishing.done():
            live.publish_again = True
            return
        live.publishing = self.spawn(self._publish())

    async def _publish(self) -> None:
        live = self.live
        while True:
            live.publish_again = False
            try:
                await asyncio.to_thread(live.publisher.publish)
            except Exception:
                log.exception("live %s: publishing failed", live.stream_id)
            if not live.publish_again:
                return

    async def settle(self) -> None:
        """Wait for the session's pending uploads and database updates."""
        live = self.live
        while live.pending:
            await asyncio.gather(*live.pending.copy(), return_exceptions=True)
            live.pending = [t for t in live.pending if not t.done()]
        if live.publishing is not None:
            await asyncio.gather(live.publishing, return_exceptions=True)


async def _awaited(awaitable: Awaitable[None]) -> None:
    await awaitable


def open_session(services: Services, grant: states.PublishGrant, key: str, rungs: tuple[pipeline.Rung, ...],
                 work_root: Path) -> LiveSession:
    """Start a live session: the recording asset (if recorded), the output prefix and its local directory
    (the storage's own, else a mirror under ``work_root``). Blocks (database)."""
    prefix, asset_id = states.open_session(services.db, grant.stream_id, grant.environment_id, grant.recorded)
    storage = services.storage
    root = storage.local_dir(prefix) or (work_root / prefix)
    root.mkdir(parents=True, exist_ok=True)
    live_plan = pipeline.plan(grant.latency_mode, rungs)
    return LiveSession(stream_id=grant.stream_id, environment_id=grant.environment_id, stream_key=key,
                       prefix=prefix, root=root, plan=live_plan, asset_id=asset_id,
                       publisher=HlsPublisher(root, storage, prefix),
                       segments=[[] for _ in range(live_plan.variant_count)], captions=grant.captions,
                       closed_captions=grant.closed_captions)


def close_session(services: Services, live: LiveSession) -> None:
    """End the outputs of a finished session: parts dropped, an unrecorded session's files deleted, the
    stream idle, the recording finished, the local mirror of remote storage removed. Blocks."""
    live.parts_run = None
    session.drop_parts(live)
    if not live.asset_id:  # not recorded: nothing of the session is kept (gone before the stream is idle)
        services.storage.delete_prefix(live.prefix + "/")
    states.mark_ended(services.db, live.stream_id, live.asset_id)
    if live.asset_id:
        try:
            finish_recording(services, live)
        except Exception:
            log.exception("live %s: finishing the recording failed", live.stream_id)
    if not live.publisher.in_place:
        shutil.rmtree(live.root, ignore_errors=True)
