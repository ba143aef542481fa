"""Recognised words → caption cues → WebVTT, for Latin and CJK text alike.

A cue holds at most :data:`MAX_LINES` lines. A line's width is measured in *line fractions*: a wide
(CJK) character takes ``1/16`` of a line and any other character ``1/42`` (so a line holds about 16
Chinese characters or 42 Latin ones, and mixed text such as "双十一 Sale 50%" in between). A new cue
starts after a sentence end (``.?!。？！…``), at a pause of :data:`PAUSE_S` or more, when the text no
longer fits two lines, or after :data:`MAX_CUE_S`. Lines break between words, and between any two
CJK characters, never inside a Latin word and never before closing punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

#: Characters per line (wide CJK characters, other characters) and lines per cue.
CJK_LINE_CHARS = 16
LATIN_LINE_CHARS = 42
MAX_LINES = 2
#: Longest cue and the shortest one worth holding (seconds).
MAX_CUE_S = 7.0
MIN_CUE_S = 1.0
#: A gap between two words at least this long (seconds) starts a new cue.
PAUSE_S = 0.6

SENTENCE_END = ".?!。？！…"
_CLOSING = ",.;:!?)]}%。，、；：！？）」』】》…\"'”’"
_OPENING = "([{「『【《“‘"


@dataclass(frozen=True)
class Word:
    """One recognised word (a Latin word or one or more CJK characters, punctuation attached):
    ``start``/``end`` in seconds from the start of the media."""

    text: str
    start: float
    end: float


@dataclass
class Transcript:
    """Recognised words in time order; ``duration_s`` of the audio (seconds); ``language`` (Whisper code)."""

    words: list[Word] = field(default_factory=list)
    duration_s: float = 0.0
    language: str = "en"

    @property
    def text(self) -> str:
        """The words joined (spaces between Latin words, none between CJK characters)."""
        return join([w.text for w in self.words])


@dataclass(frozen=True)
class Cue:
    """One caption cue: ``start``/``end`` in seconds and its text ``lines``."""

    start: float
    end: float
    lines: tuple[str, ...]


def is_wide(ch: str) -> bool:
    """Whether ``ch`` is a wide (CJK) character: a full line holds :data:`CJK_LINE_CHARS` of them."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def width(text: str) -> float:
    """The width of ``text`` as a fraction of a line (1.0 = full)."""
    return sum(1 / CJK_LINE_CHARS if is_wide(c) else 1 / LATIN_LINE_CHARS for c in text)


def join(texts: list[str]) -> str:
    """Join word texts: a space between two Latin words, none next to CJK characters or before closing
    punctuation."""
    out = ""
    for text in texts:
        text = text.strip()
        if not text:
            continue
        if out and not (is_wide(out[-1]) or is_wide(text[0]) or text[0] in _CLOSING or out[-1] in _OPENING):
            out += " "
        out += text
    return out


_UNIT = re.compile(r"[^\s\u2E80-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF\uFF00-\uFFEF\u3000-\u303F]+|\S")


def _units(text: str) -> list[str]:
    """Break positions of ``text``: Latin runs stay whole, each CJK character is its own unit, closing
    punctuation sticks to the unit before it."""
    units: list[str] = []
    for m in _UNIT.finditer(text):
        piece = m.group(0)
        attach = piece[0] in _CLOSING and not text[m.start() - 1].isspace()
        if units and (attach or units[-1][-1] in _OPENING):
            units[-1] += piece
        else:
            units.append(piece)
    return units


def wrap(text: str) -> list[str]:
    """``text`` in lines of width at most 1.0; two lines are balanced; a unit wider than a line stays whole."""
    text = " ".join(text.split())
    if width(text) <= 1.0:
        return [text] if text else []
    units = _units(text)
    best: tuple[str, str] | None = None
    for i in range(1, len(units)):
        a, b = join(units[:i]), join(units[i:])
        if width(a) <= 1.0 and width(b) <= 1.0 and (best is None or
                                                   max(width(a), width(b)) < max(width(x) for x in best)):
            best = (a, b)
    if best is not None:
        return list(best)
    lines: list[str] = []
    for unit in units:
        if lines and width(join([lines[-1], unit])) <= 1.0:
            lines[-1] = join([lines[-1], unit])
        else:
            lines.append(unit)
    return lines


def _groups(words: list[Word]) -> Iterator[list[Word]]:
    group: list[Word] = []
    for w in words:
        if group:
            fits = len(wrap(join([x.text for x in [*group, w]]))) <= MAX_LINES
            short = w.end - group[0].start <= MAX_CUE_S
            sentence_end = group[-1].text.rstrip("\"'”’)」』").endswith(tuple(SENTENCE_END))
            if sentence_end or not (fits and short and w.start - group[-1].end < PAUSE_S):
                yield group
                group = []
        group.append(w)
    if group:
        yield group


def to_cues(transcript: Transcript) -> list[Cue]:
    """Group the words of ``transcript`` into cues (limits are the module constants)."""
    groups = list(_groups(transcript.words))
    cues: list[Cue] = []
    for i, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        limit = groups[i + 1][0].start if i + 1 < len(groups) else max(end, transcript.duration_s)
        end = min(max(end, start + MIN_CUE_S), max(limit, end), start + MAX_CUE_S)
        cues.append(Cue(start, max(end, start + 0.001), tuple(wrap(join([w.text for w in group])))))
    return cues


def timestamp(seconds: float) -> str:
    """``HH:MM:SS.mmm`` (WebVTT) for ``seconds``."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cues_to_webvtt(cues: list[Cue], *, escape: bool = True) -> str:
    """A WebVTT document (UTF-8 text) of ``cues``; ``escape=False`` keeps cue markup (``<i>``) as given."""
    parts = ["WEBVTT", ""]
    for n, cue in enumerate(cues, start=1):
        parts += [str(n), f"{timestamp(cue.start)} --> {timestamp(cue.end)}",
                  *((_escape(line) if escape else line) for line in cue.lines), ""]
    return "\n".join(parts) + "\n"


def to_webvtt(transcript: Transcript) -> str:
    """The WebVTT document of ``transcript``'s cues."""
    return cues_to_webvtt(to_cues(transcript))

