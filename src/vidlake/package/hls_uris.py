"""Rewriting every URI of a parsed HLS playlist (segments, parts, maps, variants, renditions), e.g. to
add a signed playback token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from vidlake.package.hls import MasterPlaylist, Playlist


def rewrite_uris(pl: Playlist, fn: Callable[[str], str]) -> Playlist:
    """A copy of ``pl`` with every URI (segments, parts, EXT-X-MAP, variants, renditions) passed through
    ``fn``, e.g. ``lambda u: f"{u}?token={token}"`` for signed playback."""
    if isinstance(pl, MasterPlaylist):
        return replace(
            pl,
            variants=[replace(v, uri=fn(v.uri)) for v in pl.variants],
            renditions=[replace(r, uri=fn(r.uri) if r.uri else None) for r in pl.renditions],
        )
    return replace(pl, segments=[
        replace(s, uri=fn(s.uri), init_uri=fn(s.init_uri) if s.init_uri else None,
                parts=[replace(p, uri=fn(p.uri)) for p in s.parts]) for s in pl.segments
    ], parts=[replace(p, uri=fn(p.uri)) for p in pl.parts])


def append_query(query: str) -> Callable[[str], str]:
    """A URI rewriter adding ``query`` (``"token=abc"``, already percent-encoded: build it with
    :func:`urllib.parse.urlencode`) with ``?`` or ``&`` as needed."""

    def add(uri: str) -> str:
        return f"{uri}{'&' if '?' in uri else '?'}{query}"

    return add
