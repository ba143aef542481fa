"""Cues of a ``caption`` clip: where they come from, what makes them invalid, when they show.

A caption clip's cues are inline (``asset.cues``) or an asset's text track (``asset.src`` +
``track_id``/``language_code``), read as WebVTT through the edit's resolver under the key
:func:`caption_source_key` (the resolver returns a :class:`~vidlake.edit.validate.SourceInfo` whose
``text`` is the track's WebVTT document). Cue times are seconds from the clip's start after
``asset.trim``; the compiler draws a caption clip with one drawtext filter whose text a ``sendcmd``
sets at each cue's start, enabled from the cue's start (inclusive) to its end (exclusive), so
back-to-back cues never share a frame.

Why drawtext and not libass (``subtitles``/``ass``): the same layout code wraps titles and captions
(CJK between characters with kinsoku, Latin at spaces, measured with the face ffmpeg draws with), and
drawtext takes an outline and a background box together with pixel font sizes, where ASS's opaque box
replaces the outline and its font size counts the face's line height, not the em.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vidlake.edit.timeline import MAX_CUE_CHARS, CaptionAsset

#: Cues one caption clip may hold.
MAX_CUES = 2000
#: Bytes of WebVTT a text track may have to be burned in.
MAX_TRACK_BYTES = 2_000_000

_TIMESTAMP = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]\d)[.,](\d{1,3})$")
_TAG = re.compile(r"</?[A-Za-z][^>]*>|<\d[\d:.]*>")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": "\u00a0", "&lrm;": "", "&rlm;": ""}


@dataclass(frozen=True)
class Cue:
    """``text`` shown from ``start`` to ``end`` seconds."""

    start: float
    end: float
    text: str


class CueError(ValueError):
    """A text track that is not valid WebVTT/SRT; the message names the line."""


def caption_source_key(asset: CaptionAsset) -> str:
    """The resolver key of a caption clip's text track: ``asset:<id>/text/<track_id>``,
    ``asset:<id>/text/lang:<code>`` or ``asset:<id>/text/`` (its first text track)."""
    assert asset.src is not None
    selector = asset.track_id or (f"lang:{asset.language_code}" if asset.language_code else "")
    return f"{asset.src}/text/{selector}"


def parse_source_key(key: str) -> tuple[str, str | None, str | None] | None:
    """``(asset_id, track_id, language_code)`` of a :func:`caption_source_key`, else ``None``."""
    match = re.fullmatch(r"asset:([A-Za-z0-9_.\-]+)/text/(lang:)?([A-Za-z0-9_.\-]*)", key)
    if match is None:
        return None
    asset_id, is_lang, selector = match.groups()
    if not selector:
        return asset_id, None, None
    return (asset_id, None, selector) if is_lang else (asset_id, selector, None)


def _seconds(stamp: str, line_no: int) -> float:
    match = _TIMESTAMP.match(stamp.strip())
    if match is None:
        raise CueError(f"line {line_no}: {stamp.strip()!r} is not a timestamp like 00:01:02.500")
    hours, minutes, seconds, frac = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(frac.ljust(3, "0")) / 1000


def _clean(line: str) -> str:
    text = _TAG.sub("", line)
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    return text


def parse_cues(document: str) -> list[Cue]:
    """The cues of a WebVTT (or SRT) document, tags stripped; raises :class:`CueError` naming the line."""
    if len(document.encode()) > MAX_TRACK_BYTES:
        raise CueError(f"the track is larger than {MAX_TRACK_BYTES} bytes")
    lines = document.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cues: list[Cue] = []
    i = 1 if lines and lines[0].startswith("WEBVTT") else 0
    while i < len(lines):
        line = lines[i]
        if "-->" not in line:
            if line.startswith(("NOTE", "STYLE", "REGION")):  # skip the block
                while i < len(lines) and lines[i].strip():
                    i += 1
            i += 1
            continue
        left, _, right = line.partition("-->")
        start = _seconds(left, i + 1)
        end = _seconds(right.strip().split(" ")[0], i + 1)
        i += 1
        text_lines: list[str] = []
        while i < len(lines) and lines[i].strip():
            text_lines.append(_clean(lines[i]).strip())
            i += 1
        cues.append(Cue(start, end, "\n".join(t for t in text_lines if t)))
    return cues


def cue_problems(cues: list[Cue]) -> list[tuple[str, str]]:
    """``(where, message)`` for every invalid cue, ``where`` like ``cues[3].end`` (empty for the list)."""
    problems: list[tuple[str, str]] = []
    if not cues:
        problems.append(("cues", "needs at least one cue"))
    if len(cues) > MAX_CUES:
        problems.append(("cues", f"{len(cues)} cues is above the limit {MAX_CUES}"))
        return problems
    prev_end = 0.0
    for n, cue in enumerate(cues):
        where = f"cues[{n}]"
        if cue.end <= cue.start:
            problems.append((f"{where}.end", f"must be after start ({cue.start:g} s), got {cue.end:g} s"))
        if not cue.text.strip():
            problems.append((f"{where}.text", "must not be blank"))
        elif len(cue.text) > MAX_CUE_CHARS:
            problems.append((f"{where}.text", f"{len(cue.text)} characters is above the limit {MAX_CUE_CHARS}"))
        if n and cue.start < prev_end - 1e-6:
            problems.append((f"{where}.start", f"{cue.start:g} s is before the end of cue [{n - 1}] "
                                               f"({prev_end:g} s); cues must be in time order and not overlap"))
        prev_end = max(prev_end, cue.end)
    return problems


def inline_cues(asset: CaptionAsset) -> list[Cue]:
    """The asset's inline cues as :class:`Cue` values."""
    return [Cue(c.start, c.end, c.text) for c in asset.cues or []]


def clip_windows(cues: list[Cue], clip_start: float, clip_length: float, trim: float) -> list[Cue]:
    """The cues inside a clip, moved to timeline seconds and cut at the clip's edges."""
    out: list[Cue] = []
    for cue in cues:
        start = max(0.0, cue.start - trim)
        end = min(clip_length, cue.end - trim)
        if end - start > 1e-6:
            out.append(Cue(clip_start + start, clip_start + end, cue.text))
    return out


def _sendcmd_arg(text: str) -> str:
    """A ``sendcmd`` argument: every character its tokenizer treats specially gets a backslash."""
    return "".join("\\" + ch if ch in " \f\t\n\r,;'\\[]#" else ch for ch in text)


def sendcmd_commands(target: str, cues: list[tuple[str, str, str]]) -> str:
    """The ``sendcmd`` commands that show each ``(start, end, text)`` cue (seconds as ffmpeg numbers) on
    the drawtext instance ``target``: at the start set its text and enable it, at the end disable it.
    Cues must not overlap (sendcmd runs the intervals in order, so a cue ending where the next starts
    is switched off before the next one is switched on)."""
    return ";\n".join(f"{start}-{end} [enter] {target} text {_sendcmd_arg(text)}, [enter] {target} enable 1, "
                    f"[leave] {target} enable 0" for start, end, text in cues)


__all__ = ["MAX_CUES", "MAX_TRACK_BYTES", "Cue", "CueError", "caption_source_key", "clip_windows", "cue_problems",
           "inline_cues", "parse_cues", "parse_source_key", "sendcmd_commands"]
