"""Subtitle files: SRT and WebVTT → validated cues → one normalised WebVTT document.

:func:`decode` turns bytes into text: a UTF-8/UTF-16 byte-order mark wins, then strict UTF-8, then
GB18030 (a superset of GBK and GB2312, which Chinese subtitle tools still write). Bytes that are none
of these, or that hold NUL or other control characters, are not a subtitle file. :func:`parse` reads
either format (WebVTT when the text starts with ``WEBVTT``) and raises :class:`SubtitleError` naming
the first bad line: a broken timestamp, a cue that ends before it starts, a cue that starts before
the previous one (out of order) or while it still shows (overlap), a file with no cue.
:func:`check_language` refuses text whose script does not match the track's language.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from vidlake.speech.cues import Cue, cues_to_webvtt, is_wide
from vidlake.speech.languages import engine_language

#: Most cues and characters per cue accepted.
MAX_CUES = 50_000
MAX_CUE_CHARS = 1000
_TIME = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})[.,](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAG = re.compile(r"<(/?)([a-z]+)?[^<>]*>", re.IGNORECASE)
_ALLOWED_TAGS = {"b", "i", "u", "c", "v", "ruby", "rt", "lang"}


class SubtitleError(ValueError):
    """The subtitle file is unusable; ``str(exc)`` names the line (1-based) where it can."""


@dataclass(frozen=True)
class Subtitles:
    """A parsed file: its ``format`` (``srt`` or ``webvtt``), source ``encoding`` and ``cues``."""

    format: str
    encoding: str
    cues: list[Cue]

    def to_webvtt(self) -> str:
        """The cues as one normalised WebVTT document (UTF-8 text)."""
        return cues_to_webvtt(self.cues, escape=False)


def decode(data: bytes) -> tuple[str, str]:
    """``(text, encoding)`` of a subtitle file's bytes. Raises :class:`SubtitleError` for binary data."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return _text(data.decode(name), name), name
            except UnicodeDecodeError as exc:
                raise SubtitleError(f"not valid {name} text (byte {exc.start})") from exc
    if b"\x00" in data:
        raise SubtitleError("not a text file (it holds NUL bytes): give an SRT or WebVTT file")
    for name in ("utf-8", "gb18030"):
        try:
            return _text(data.decode(name), name), name
        except UnicodeDecodeError:
            continue
    raise SubtitleError("not text in UTF-8, UTF-16 or GB18030/GBK: give an SRT or WebVTT file")


def _text(text: str, encoding: str) -> str:
    match = _CONTROL.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise SubtitleError(f"line {line}: control character {match.group(0)!r}: not a subtitle text file "
                            f"(read as {encoding})")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _seconds(groups: tuple[str | None, ...]) -> float | None:
    h, m, s, ms = groups
    if int(m or 0) > 59 or int(s or 0) > 59:
        return None
    return int(h or 0) * 3600 + int(m or 0) * 60 + int(s or 0) + int((ms or "0").ljust(3, "0")) / 1000


def _clean_line(line: str) -> str:
    """Keep WebVTT/SRT styling tags (``<i>``, ``<b>``...), escape every other ``<`` and bare ``&``."""
    out, pos = "", 0
    for m in _TAG.finditer(line):
        out += _escape(line[pos:m.start()])
        name = (m.group(2) or "").lower()
        out += m.group(0) if name in _ALLOWED_TAGS or re.fullmatch(r"<\d[\d:.]*>", m.group(0)) else _escape(m.group(0))
        pos = m.end()
    return (out + _escape(line[pos:])).replace("-->", "→")


def _escape(text: str) -> str:
    text = re.sub(r"&(?!(?:amp|lt|gt|nbsp|lrm|rlm|#\d+|#x[0-9a-fA-F]+);)", "&amp;", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def parse(data: bytes) -> Subtitles:
    """Parse an SRT or WebVTT file. Raises :class:`SubtitleError` naming the line."""
    text, encoding = decode(data)
    lines = text.split("\n")
    webvtt = lines[0].lstrip("\ufeff").startswith("WEBVTT")
    if webvtt and not re.match(r"^WEBVTT([ \t].*)?$", lines[0].lstrip("\ufeff")):
        raise SubtitleError("line 1: a WebVTT file starts with 'WEBVTT'")
    cues: list[Cue] = []
    i = 1 if webvtt else 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        block_start = i
        block: list[str] = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        if webvtt and re.match(r"^(NOTE|STYLE|REGION)(\s|$)", block[0]):
            continue
        timing_at = 0 if "-->" in block[0] else 1
        if timing_at >= len(block) or "-->" not in block[timing_at]:
            at = min(timing_at, len(block) - 1)
            raise SubtitleError(f"line {block_start + at + 1}: expected a cue timing 'start --> end', got "
                                f"{block[at][:80]!r}")
        line_no = block_start + timing_at + 1
        match = _TIMING.match(block[timing_at])
        start = _seconds(match.groups()[:4]) if match else None
        end = _seconds(match.groups()[4:8]) if match else None
        if start is None or end is None:
            raise SubtitleError(f"line {line_no}: broken timestamp {block[timing_at].strip()[:80]!r} "
                                "(expected HH:MM:SS,mmm --> HH:MM:SS,mmm)")
        if end <= start:
            raise SubtitleError(f"line {line_no}: the cue ends ({end:.3f} s) before it starts ({start:.3f} s)")
        if cues and start < cues[-1].start:
            raise SubtitleError(f"line {line_no}: cue out of order: starts at {start:.3f} s, before the "
                                f"previous cue ({cues[-1].start:.3f} s)")
        if cues and start < cues[-1].end - 0.0005:
            raise SubtitleError(f"line {line_no}: cue overlaps the previous one (starts at {start:.3f} s, "
                                f"the previous ends at {cues[-1].end:.3f} s)")
        payload = tuple(_clean_line(line.strip()) for line in block[timing_at + 1:])
        if sum(len(p) for p in payload) > MAX_CUE_CHARS:
            raise SubtitleError(f"line {line_no}: cue text longer than {MAX_CUE_CHARS} characters")
        cues.append(Cue(start, end, payload))
        if len(cues) > MAX_CUES:
            raise SubtitleError(f"line {line_no}: more than {MAX_CUES} cues")
    if not cues:
        raise SubtitleError("no cue found: give an SRT or WebVTT file with at least one cue")
    return Subtitles("webvtt" if webvtt else "srt", encoding, cues)


def check_language(subs: Subtitles, language_code: str) -> None:
    """Refuse cue text whose script does not match ``language_code`` (Chinese/Japanese/Korean text in a
    track marked as a Latin-script language, or the other way round). Raises :class:`SubtitleError`."""
    text = re.sub(r"<[^>]*>", "", "".join("".join(c.lines) for c in subs.cues))
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < 20:
        return
    wide = sum(1 for ch in letters if is_wide(ch)) / len(letters)
    lang = engine_language(language_code) or language_code.split("-")[0].lower()
    if lang in ("zh", "ja", "ko", "yue") and wide < 0.3:
        raise SubtitleError(f"language_code {language_code!r} but only {wide:.0%} of the letters are CJK")
    if lang in ("en", "es", "fr", "de", "it", "pt", "nl", "sv", "da", "no", "fi", "pl", "cs", "ro", "tr") \
            and wide > 0.3:
        raise SubtitleError(f"language_code {language_code!r} but {wide:.0%} of the letters are CJK")
