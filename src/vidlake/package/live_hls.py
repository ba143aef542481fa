"""Live HLS playlists: the sliding-window media playlists of a live session, its LL-HLS parts, and the
cheap atomic playlist write the live loop needs (it rewrites ``v0.m3u8`` at every part).

Pure packaging: what a session is and where its segments come from is :mod:`vidlake.live.session`'s
business; here a rung is a list of :class:`SegmentEntry` (uris relative to the session root, where the
playlists are written), ``window`` the number of segments a live playlist lists.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vidlake.package import hls


@dataclass
class SegmentEntry:
    """A segment of the live session: ``uri`` relative to the session root, ``duration`` in seconds."""

    uri: str
    duration: float
    discontinuity: bool
    parts: list[hls.Part] = field(default_factory=list)  #: LL-HLS parts (uris relative to the session root)


@dataclass(frozen=True)
class LowLatency:
    """What rung 0's LL-HLS tags need: the part target and segment length (seconds), how far behind the
    live edge players stay (``part_hold_back_s``), the parts of the segment in progress and whether that
    segment starts a new run (a discontinuity before its parts)."""

    part_s: float
    segment_s: float
    part_hold_back_s: float
    open_parts: Sequence[hls.Part]
    open_after_discontinuity: bool


def media_playlist(entries: Sequence[SegmentEntry], *, window: int, final: bool,
                   low_latency: LowLatency | None = None) -> hls.MediaPlaylist:
    """One rung's playlist: the last ``window`` segments while live (media and discontinuity sequences
    counting those that slid out), every segment (VOD, ``EXT-X-ENDLIST``) when ``final``."""
    shown = entries if final else entries[-window:]
    skipped = len(entries) - len(shown)
    disc_seq = sum(1 for e in entries[:skipped] if e.discontinuity)
    segs = [hls.Segment(uri=e.uri, duration=e.duration, discontinuity=e.discontinuity) for e in shown]
    extra = [f"#EXT-X-DISCONTINUITY-SEQUENCE:{disc_seq}"] if disc_seq else []
    playlist = hls.MediaPlaylist(segments=segs, version=6, media_sequence=skipped, independent_segments=True,
                                 extra_tags=extra, playlist_type="VOD" if final else None, endlist=final)
    if low_latency is not None and not final:
        add_parts(playlist, shown, low_latency)
    return playlist


def add_parts(playlist: hls.MediaPlaylist, shown: Sequence[SegmentEntry], ll: LowLatency) -> None:
    """LL-HLS tags (RFC 8216bis 4.4.3.7-4.4.4.9): blocking reload, PART-HOLD-BACK, the parts of the
    segments in the last three target durations and those of the segment in progress."""
    playlist.server_control = hls.ServerControl(can_block_reload=True, part_hold_back=round(ll.part_hold_back_s, 3))
    playlist.part_target = ll.part_s
    target = max([math.ceil(e.duration - 1e-3) for e in shown] + [math.ceil(ll.segment_s)])
    playlist.target_duration = target
    covered = sum(p.duration for p in ll.open_parts)
    for seg, entry in zip(reversed(playlist.segments), reversed(shown), strict=True):
        if covered > 3 * target:
            break
        seg.parts = list(entry.parts)
        covered += entry.duration
    playlist.parts = list(ll.open_parts)
    playlist.parts_discontinuity = bool(ll.open_parts) and ll.open_after_discontinuity


def expire_parts(root: Path, entries: Sequence[SegmentEntry], window: int) -> None:
    """Delete the part files (under ``root``) of the segment of ``entries`` that just left the window."""
    index = len(entries) - window - 1
    if index >= 0 and entries[index].parts:
        for part in entries[index].parts:
            with contextlib.suppress(OSError):
                (root / part.uri).unlink()
        entries[index].parts = []


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
