"""What a value written into an HLS playlist may hold: one line, and no ``"`` inside a quoted attribute.

:mod:`vidlake.package.hls` passes every URI, title, verbatim tag and attribute it writes through these
checks, whoever the caller, so a value that came from a request (a query parameter pasted into a URI)
can never add a line or an attribute to a playlist.
"""

from __future__ import annotations

import re


class PlaylistError(ValueError):
    """The text is not a valid HLS playlist, or a value would not stay inside its line or attribute."""


#: Characters no playlist value may hold: line breaks of any kind (``str.splitlines`` splits on all of
#: them, players on CR and LF) and the other control characters.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_ATTR_NAME = re.compile(r"[A-Z0-9-]+")


def line(value: str, what: str) -> str:
    """``value`` if it stays on one line: every URI, title and verbatim tag the writer emits goes
    through here (or :func:`quoted`), so no caller can add lines to a playlist."""
    if _UNSAFE.search(value):
        raise PlaylistError(f"{what} may not contain line breaks or control characters: {value[:80]!r}")
    return value


def quoted(value: str, what: str = "quoted-string") -> str:
    """A quoted attribute value: one line, no ``"``."""
    if '"' in line(value, what):
        raise PlaylistError(f"{what} may not contain quotes: {value[:80]!r}")
    return f'"{value}"'


def enum(value: str, what: str) -> str:
    """An unquoted attribute value (enumerated string, number): one line, no ``,`` or ``"``."""
    if '"' in line(value, what) or "," in value:
        raise PlaylistError(f"{what} may not contain quotes or commas: {value[:80]!r}")
    return value


def attribute(name: str, value: str) -> str:
    """A verbatim ``NAME=value`` attribute: a valid name and a value that is quoted or enumerated."""
    if not _ATTR_NAME.fullmatch(name):
        raise PlaylistError(f"bad attribute name {name[:40]!r}")
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        return f"{name}={quoted(value[1:-1], name)}"
    return f"{name}={enum(value, name)}"
