"""LL-HLS blocking playlist reload (RFC 8216bis 6.2.5.2).

``?_HLS_msn=N[&_HLS_part=M]`` on a live media playlist answers once the playlist holds segment N (or
part M of it, or anything later). The stored playlist is reread every :data:`BLOCK_POLL_S` seconds on
the event loop (no database session, no worker thread held while waiting); after three target
durations :func:`wait_for` gives up (the route answers 503).
"""

from __future__ import annotations

import asyncio
import math
import time

from starlette.concurrency import run_in_threadpool

from vidlake.core.errors import InvalidParameters, NotFound, ObjectNotFound
from vidlake.package import hls
from vidlake.runtime import Services

BLOCK_POLL_S = 0.03  #: how often a blocking playlist reload rereads the stored playlist (seconds)
ADVANCE_PART_LIMIT = 3  #: parts beyond the last listed one a blocking reload may ask for (RFC 8216bis)


def directive(name: str, value: str | None) -> int | None:
    """A blocking-reload query value: a non-negative decimal integer (400 naming ``name`` otherwise)."""
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidParameters(f"{name}: must be a non-negative integer")
    return int(value)


def directives(hls_msn: str | None, hls_part: str | None) -> tuple[int | None, int | None]:
    """``(_HLS_msn, _HLS_part)`` as integers; a part needs a segment number (400 otherwise)."""
    msn, part = directive("_HLS_msn", hls_msn), directive("_HLS_part", hls_part)
    if part is not None and msn is None:
        raise InvalidParameters("_HLS_part: needs _HLS_msn")
    return msn, part


async def read_playlist(services: Services, key: str) -> str:
    """The stored playlist's text: read on the event loop when storage is on this disk (a small file),
    else in a worker thread. Raises ``NotFound``."""
    try:
        path = services.storage.local_path(key)
        if path is not None:
            try:
                return path.read_text(encoding="utf-8")
            except FileNotFoundError:
                pass
        data = await run_in_threadpool(services.storage.read_bytes, key)
        return data.decode()
    except ObjectNotFound as exc:
        raise NotFound("playlist not found") from exc


async def wait_for(services: Services, key: str, text: str, msn: int, part: int | None) -> str | None:
    """Reread the live playlist at ``key`` until it holds segment ``msn`` (part ``part``); its text, or
    None after three target durations. Raises 400 when the request is beyond what may be waited for."""
    playlist = hls.parse(text)
    if not isinstance(playlist, hls.MediaPlaylist) or playlist.endlist:
        return text
    if msn > playlist.next_msn + 1:
        raise InvalidParameters(f"_HLS_msn: {msn} is more than two segments past the last one "
                                f"({playlist.next_msn - 1})")
    if part is not None and msn == playlist.next_msn and part >= len(playlist.parts) + ADVANCE_PART_LIMIT:
        raise InvalidParameters(f"_HLS_part: {part} is more than {ADVANCE_PART_LIMIT} parts past the last one")
    target = playlist.target_duration or max((math.ceil(s.duration) for s in playlist.segments), default=1)
    deadline = time.monotonic() + 3 * target
    while not playlist.has_part(msn, part):
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(BLOCK_POLL_S)
        new = await read_playlist(services, key)
        if new != text:
            text, parsed = new, hls.parse(new)
            if not isinstance(parsed, hls.MediaPlaylist) or parsed.endlist:
                return text
            playlist = parsed
    return text
