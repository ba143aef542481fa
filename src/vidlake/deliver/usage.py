"""Delivery usage: the media seconds the HLS routes serve, counted per process in memory and flushed to
``delivery_usage`` (one row per environment, asset, live stream, hour and resolution tier) by the
maintenance pass, so serving a segment never writes to the database.

A served segment (or LL-HLS part) counts its own media duration, in seconds, as its media playlist
declares it (``EXTINF``, or ``EXT-X-PART`` ``DURATION``): the playlists Vidlake wrote for that output.
Each fetch counts, ranges and repeats included (that is delivery). Files no playlist lists (init
segments, a live segment that left every playlist this process has seen) count 0 seconds.

The durations of an output come from :class:`SegmentIndex`: the master playlist and its media playlists
read once per output (a VOD's are final, so cached while the process lives, up to
:data:`MAX_OUTPUTS`); a live output's are reread on a miss, at most every :data:`LIVE_REREAD_S` seconds.
The resolution tier of a segment is its variant's: the short side of ``RESOLUTION`` (<= 720 pixels:
``tier_720p``, <= 1080: ``tier_1080p``, <= 1440: ``tier_1440p``, larger: ``tier_2160p``), and
``tier_audio_only`` for audio renditions and variants without video.
"""

from __future__ import annotations

import logging
import posixpath
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import ObjectNotFound
from vidlake.db.models import DeliveryUsage, LiveStream
from vidlake.deliver.resolve import PlaybackTarget
from vidlake.jobs import maintenance
from vidlake.package import hls
from vidlake.runtime import Services
from vidlake.vod.audio_tracks import rendition_folder

log = logging.getLogger(__name__)

HOUR_S = 3600  #: the aggregation bucket (seconds)
MAX_OUTPUTS = 512  #: HLS outputs whose segment durations a process keeps
LIVE_REREAD_S = 0.5  #: least time between two rereads of a live output's playlists (seconds)
MAX_LIVE_ENTRIES = 4096  #: segment and part durations kept per live output (older ones dropped first)
FLUSH_EVERY_S = 5.0  #: least time between two flushes of a process's counters (seconds)
TIERS = ("tier_2160p", "tier_1440p", "tier_1080p", "tier_720p", "tier_audio_only")


def tier_of(resolution: tuple[int, int] | None) -> str:
    """The delivery tier of a variant of ``resolution`` (width, height in pixels; None: audio only)."""
    if resolution is None:
        return "tier_audio_only"
    short = min(resolution)
    if short <= 720:
        return "tier_720p"
    if short <= 1080:
        return "tier_1080p"
    return "tier_1440p" if short <= 1440 else "tier_2160p"


@dataclass
class _Output:
    durations: dict[str, tuple[float, str]]  #: path below the prefix -> (seconds, tier)
    read_at: float  #: monotonic seconds


def _media_entries(text: str, directory: str, tier: str) -> dict[str, tuple[float, str]]:
    playlist = hls.parse(text)
    if not isinstance(playlist, hls.MediaPlaylist):
        return {}
    out: dict[str, tuple[float, str]] = {}
    for part in [p for s in playlist.segments for p in s.parts] + list(playlist.parts):
        out[posixpath.normpath(posixpath.join(directory, part.uri.split("?")[0]))] = (part.duration, tier)
    for segment in playlist.segments:
        out[posixpath.normpath(posixpath.join(directory, segment.uri.split("?")[0]))] = (segment.duration, tier)
    return out


def read_durations(services: Services, prefix: str,
                   audio_playlists: tuple[str, ...] = ()) -> dict[str, tuple[float, str]]:
    """Every segment and part the output at ``prefix`` lists: path below ``prefix`` -> (seconds, tier).
    ``audio_playlists``: media playlists (paths below ``prefix``) of alternate audio tracks, which the
    stored master does not list."""
    try:
        master = hls.parse(services.storage.read_bytes(f"{prefix}/master.m3u8").decode())
    except ObjectNotFound:
        return {}
    if not isinstance(master, hls.MasterPlaylist):
        return {}
    media: dict[str, str] = dict.fromkeys(audio_playlists, "tier_audio_only")
    for rendition in master.renditions:
        if rendition.uri and rendition.type == "AUDIO":
            media.setdefault(rendition.uri.split("?")[0], "tier_audio_only")
    for variant in master.variants:
        video = variant.resolution is not None
        media[variant.uri.split("?")[0]] = tier_of(variant.resolution) if video else "tier_audio_only"
    out: dict[str, tuple[float, str]] = {}
    for uri, tier in media.items():
        try:
            text = services.storage.read_bytes(f"{prefix}/{uri}").decode()
        except ObjectNotFound:
            continue
        out.update(_media_entries(text, posixpath.dirname(uri), tier))
    return out


class SegmentIndex:
    """Segment durations per HLS output (see the module docstring), shared by a process's threads."""

    def __init__(self) -> None:
        self._outputs: OrderedDict[str, _Output] = OrderedDict()
        self._lock = threading.Lock()

    def lookup(self, services: Services, target: PlaybackTarget, path: str) -> tuple[float, str] | None:
        """(seconds, tier) of the file ``path`` below the target's HLS prefix, or None if unlisted."""
        audio = tuple(f"{rendition_folder(str(t['id']))}/index.m3u8" for t in target.audio_tracks)
        key = target.hls_prefix + "".join(f"+{a}" for a in audio)  # a track added later: a new entry
        with self._lock:
            known = self._outputs.get(key)
            if known is not None:
                self._outputs.move_to_end(key)
                hit = known.durations.get(path)
                if hit is not None or target.complete or time.monotonic() - known.read_at < LIVE_REREAD_S:
                    return hit
        fresh = read_durations(services, target.hls_prefix, audio)
        with self._lock:
            if known is not None and not target.complete:  # keep what slid out of the live window
                merged = {**known.durations, **fresh}
                fresh = dict(list(merged.items())[-MAX_LIVE_ENTRIES:])
            self._outputs[key] = _Output(fresh, time.monotonic())
            self._outputs.move_to_end(key)
            while len(self._outputs) > MAX_OUTPUTS:
                self._outputs.popitem(last=False)
        return fresh.get(path)


#: (environment_id, asset_id, live_stream_id, hour, tier) -> media seconds not yet flushed.
Key = tuple[str, str, str, int, str]


class UsageCounter:
    """Delivered seconds of this process not yet in the database."""

    def __init__(self) -> None:
        self._pending: dict[Key, float] = {}
        self._lock = threading.Lock()
        self._flushed_at = 0.0
        self.index = SegmentIndex()

    def count(self, services: Services, target: PlaybackTarget, path: str) -> float:
        """Count one delivery of the HLS file ``path`` of ``target``; its media seconds (0 if unlisted)."""
        found = self.index.lookup(services, target, path)
        if found is None or found[0] <= 0:
            return 0.0
        seconds, tier = found
        key = (target.environment_id, target.asset_id or "", target.live_stream_id or "",
               int(now()) // HOUR_S * HOUR_S, tier)
        with self._lock:
            self._pending[key] = self._pending.get(key, 0.0) + seconds
        return seconds

    def take(self) -> dict[Key, float]:
        """The pending counts, leaving none."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return pending

    def give_back(self, pending: dict[Key, float]) -> None:
        """Counts a failed flush could not write, to try again next time."""
        with self._lock:
            for key, seconds in pending.items():
                self._pending[key] = self._pending.get(key, 0.0) + seconds

    def flush(self, services: Services, force: bool = False) -> int:
        """Add the pending counts to ``delivery_usage`` (at most every :data:`FLUSH_EVERY_S` seconds unless
        ``force``); the number of rows touched."""
        if not force and time.monotonic() - self._flushed_at < FLUSH_EVERY_S:
            return 0
        self._flushed_at = time.monotonic()
        pending = self.take()
        if not pending:
            return 0
        try:
            with services.db.session() as session:
                for key, seconds in pending.items():
                    _add(session, _with_live_asset(session, key), seconds)
        except Exception:
            self.give_back(pending)
            raise
        return len(pending)


def _with_live_asset(session: Session, key: Key) -> Key:
    """A live stream's count attributed to the asset it is recording now (as Mux reports a live stream's
    usage on its live assets)."""
    env, asset_id, live_id, hour, tier = key
    if live_id and not asset_id:
        stream = session.get(LiveStream, live_id)
        asset_id = (stream.active_asset_id or "") if stream is not None else ""
    return env, asset_id, live_id, hour, tier


def _add(session: Session, key: Key, seconds: float) -> None:
    """``seconds`` more on the row of ``key`` (made if missing; a concurrent maker wins, then we add)."""
    env, asset_id, live_id, hour, tier = key
    match = ((DeliveryUsage.environment_id == env) & (DeliveryUsage.asset_id == asset_id)
             & (DeliveryUsage.live_stream_id == live_id) & (DeliveryUsage.hour == hour) & (DeliveryUsage.tier == tier))
    if session.scalar(select(DeliveryUsage.id).where(match)) is None:
        nested = session.begin_nested()
        try:
            session.add(DeliveryUsage(environment_id=env, asset_id=asset_id, live_stream_id=live_id, hour=hour,
                                      tier=tier, seconds=seconds))
            session.flush()
            nested.commit()
            return
        except IntegrityError:  # another process made the row first: add to it below
            nested.rollback()
    session.execute(update(DeliveryUsage).where(match).values(seconds=DeliveryUsage.seconds + seconds))


COUNTER = UsageCounter()


def flush_usage(services: Services) -> None:
    """Maintenance hook: flush this process's counters."""
    COUNTER.flush(services)


maintenance.add_hook(flush_usage)
