"""The state of one live session and what is derived from it alone: its segments per rung, its playlists
and LL-HLS parts, its master playlist.

A *live session* is what one live asset spans: it starts with a publish on an idle stream and ends when
the publisher has been gone for ``reconnect_window`` seconds (or on ``complete``/disable/delete). Each
publish inside it is a *run*; the playlists viewers get are written from the runs' segments, with
``EXT-X-DISCONTINUITY`` between runs and a sliding window of
:data:`~vidlake.live.pipeline.LIVE_WINDOW_SECONDS`. In latency mode ``low`` the in-process passthrough
rung is also cut into LL-HLS parts and ``v0.m3u8`` lists them (:mod:`vidlake.package.live_hls`); part
files are deleted once their segment left the live window, and at the end of the session (they are never
part of the recording).

Nothing here touches the database or the network: :mod:`vidlake.live.output` runs a session's outputs,
:mod:`vidlake.live.states` records its state changes.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidlake.core.clock import now
from vidlake.live import pipeline
from vidlake.live.captions import CaptionSettings
from vidlake.live.stats import SessionStats
from vidlake.live.thumbnails import LiveThumbnail
from vidlake.package import hls
from vidlake.package.live_hls import LowLatency, SegmentEntry, expire_parts, media_playlist, write_playlist
from vidlake.package.publish import HlsPublisher


@dataclass(frozen=True)
class ClosedCaptions:
    """A CEA-608 channel carried in the video (``channel`` "CC1".."CC4"), listed in the master playlist."""

    channel: str
    language_code: str
    name: str


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
    thumbnail: LiveThumbnail | None = None  #: set in __post_init__
    run_segments: dict[tuple[int, int], int] = field(default_factory=dict)  #: (run, rung) → segments so far
    run_playlists: dict[int, list[hls.Segment]] = field(default_factory=dict)  #: run → newest rung-0 segments
    publishing: asyncio.Task[None] | None = None  #: the running upload to remote storage
    publish_again: bool = False
    pending: list[asyncio.Task[Any]] = field(default_factory=list)  #: database updates to wait for
    opened_at: float = field(default_factory=now)  #: Unix seconds (complete requests before it are old)
    parts_run: int | None = None  #: the run cutting rung 0 into LL-HLS parts (None: no parts listed)
    open_parts: list[hls.Part] = field(default_factory=list)  #: parts of rung 0's segment in progress
    effects_status: dict[str, Any] | None = None  #: the effects worker's last status (None: no effects)
    captions: CaptionSettings | None = None  #: live captions of the session (listed in the master)
    closed_captions: tuple[ClosedCaptions, ...] = ()  #: CEA-608 channels of the publisher's video
    caption_vtt: str | None = None  #: the whole transcript once the session ended (for the recording)

    def __post_init__(self) -> None:
        if self.thumbnail is None:
            remote = None if self.publisher.in_place else self.publisher.storage
            self.thumbnail = LiveThumbnail(self.root, self.prefix, remote)


def _low_latency(live: LiveSession) -> LowLatency | None:
    part_s = live.plan.part_s
    if live.parts_run is None or not part_s:
        return None
    return LowLatency(part_s=part_s, segment_s=live.plan.segment_s,
                      part_hold_back_s=pipeline.PART_HOLD_BACK_PARTS * part_s, open_parts=live.open_parts,
                      open_after_discontinuity=bool(live.segments[0])
                      and live.run_segments.get((live.parts_run, 0), 0) == 0)


def write_media_playlists(live: LiveSession, *, final: bool, variants: Sequence[int] | None = None) -> None:
    """Write ``v{i}.m3u8`` (of ``variants``, default all): the sliding window while live, every segment
    (VOD) when ``final``. While a run cuts LL-HLS parts, ``v0.m3u8`` also gets the low-latency tags."""
    for i in range(len(live.segments)) if variants is None else variants:
        playlist = media_playlist(live.segments[i], window=live.plan.window_segments, final=final,
                                  low_latency=_low_latency(live) if i == 0 else None)
        write_playlist(live.root / f"v{i}.m3u8", playlist)


def drop_parts(live: LiveSession) -> None:
    """Forget and delete every LL-HLS part file of ``live`` (end of the session: not in the recording)."""
    for entry in live.segments[0] if live.segments else []:
        entry.parts = []
    live.open_parts = []
    for run in range(live.runs):
        shutil.rmtree(live.root / pipeline.variant_dir(run, 0) / "parts", ignore_errors=True)


def scan(live: LiveSession, run: int, variants: Sequence[int]) -> list[tuple[int, str, float]]:
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


def add_entries(live: LiveSession, run: int, found: Sequence[tuple[int, str, float]],
                parts: list[hls.Part] | None = None) -> set[int]:
    """Add segments (rung, uri, duration in seconds) of ``run`` to ``live`` (``parts``: the LL-HLS parts
    of the rung-0 segment among them); the rungs that grew."""
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
            expire_parts(live.root, entries, live.plan.window_segments)
    return changed


def master_playlist(live: LiveSession, stats: SessionStats | None) -> hls.MasterPlaylist:
    """The session's ``master.m3u8``: the passthrough rung at the publisher's size and bit rate (from
    ``stats``), the transcoded rungs below it."""
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
    renditions = []
    if live.captions is not None:
        renditions.append(hls.Rendition(type="SUBTITLES", group_id="subs", name=live.captions.name,
                                        uri=live.captions.playlist, default=False, autoselect=True,
                                        language=live.captions.language_code))
        for variant in variants:
            variant.extra_attributes["SUBTITLES"] = '"subs"'
    for cc in live.closed_captions:
        renditions.append(hls.Rendition(type="CLOSED-CAPTIONS", group_id="cc", name=cc.name,
                                        language=cc.language_code, instream_id=cc.channel,
                                        default=cc is live.closed_captions[0], autoselect=True))
    for variant in variants:
        variant.extra_attributes["CLOSED-CAPTIONS"] = '"cc"' if live.closed_captions else "NONE"
    return hls.MasterPlaylist(variants=variants, renditions=renditions, version=6, independent_segments=True)


def write_master_once(live: LiveSession, stats: SessionStats | None) -> None:
    """Write ``master.m3u8`` unless it was written already."""
    if not live.master_written:
        hls.write(live.root / "master.m3u8", master_playlist(live, stats))
        live.master_written = True


__all__ = ["ClosedCaptions", "LiveSession", "SegmentEntry", "add_entries", "drop_parts", "master_playlist", "scan",
           "write_master_once", "write_media_playlists"]
