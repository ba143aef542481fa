"""Text layout for titles and burned captions: which face draws a text, and where its lines break.

**Faces.** A text is drawn with its style's font when that face has every character; otherwise with the
font's CJK counterpart (:data:`vidlake.edit.fonts.CJK_FALLBACK`, e.g. ``sans`` -> ``sans-sc``), whose
Latin letters, digits and punctuation are drawn like Source Sans. So "双十一 Sale 50%" is one face
covering both scripts (ffmpeg's drawtext draws one face per filter).

**Line breaking** (:func:`wrap`), at ``max_width`` pixels measured with the face's own metrics (Pillow's
FreeType + HarfBuzz layout, the same engines drawtext uses):

* a line may break at a space (the space is dropped), between two CJK characters (Han, kana, CJK and
  fullwidth punctuation), and between a CJK character and a Latin word; Korean words (hangul, written
  with spaces) break at spaces like Latin words;
* never inside a Latin word or number (``Sale``, ``50%``, ``iPhone15``) unless that word alone is wider
  than ``max_width`` (then it breaks between characters, so nothing is drawn past the limit);
* basic kinsoku: no line starts with closing punctuation, small kana or a prolonged sound mark
  (``。，、！？）」ー`` ...), and no line ends with opening punctuation (``（「『`` ...): such a character
  stays with its neighbour.

``\\n`` always starts a new line. Sizes and widths are pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from vidlake.edit.fonts import CJK_FALLBACK, coverage, font_path

#: Characters that must not start a line (closing brackets and marks, small kana, iteration marks).
NO_START = frozenset(
    "、。，．・：；？！゛゜ヽヾゝゞ々〻ー‐゠–〜～‥…’”）〕］｝〉》」』】〙〗〟｠»›"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"
    ",.!?:;)]}%％"
)
#: Characters that must not end a line (opening brackets and quotes).
NO_END = frozenset("（〔［｛〈《「『【〘〖〝｟«‹‘“([{")

#: Code point ranges whose characters may be broken between (Han ideographs, kana, CJK punctuation).
_CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3100, 0x312F),  # bopomofo
    (0x31F0, 0x31FF),  # katakana phonetic extensions
    (0x3200, 0x33FF),  # enclosed CJK, compatibility
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # halfwidth and fullwidth forms
    (0x20000, 0x3FFFF),  # CJK extensions B..
)


def is_cjk(ch: str) -> bool:
    """Whether a line may break before and after ``ch`` (a CJK character)."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


@lru_cache(maxsize=64)
def _font(path: Path, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size_px, layout_engine=ImageFont.Layout.RAQM)


def measure(text: str, font: str, size_px: int) -> float:
    """Advance width in pixels of one line of ``text`` drawn with face ``font`` at ``size_px``."""
    return float(_font(font_path(font), size_px).getlength(text))


def _needs(text: str) -> set[int]:
    return {ord(ch) for ch in text if not ch.isspace() and ord(ch) >= 0x20}


def face_for(font: str, text: str) -> str:
    """The face that draws ``text``: ``font`` if it has every character, else its CJK counterpart."""
    needed = _needs(text)
    if needed <= coverage(font):
        return font
    return CJK_FALLBACK.get(font, font)


def missing_characters(font: str, text: str) -> list[str]:
    """Characters of ``text`` that no face available for ``font`` can draw (they would show as boxes)."""
    face = face_for(font, text)
    have = coverage(face)
    return sorted({chr(cp) for cp in _needs(text) if cp not in have})


def _atoms(paragraph: str) -> list[str]:
    """Unbreakable pieces: Latin words, single CJK characters (glued by kinsoku), and runs of spaces."""
    atoms: list[str] = []
    word = ""
    for ch in paragraph:
        if ch.isspace() or is_cjk(ch):
            if word:
                atoms.append(word)
                word = ""
            if ch.isspace() and atoms and atoms[-1].isspace():
                atoms[-1] += ch
            else:
                atoms.append(ch)
        else:
            word += ch
    if word:
        atoms.append(word)
    glued: list[str] = []
    for atom in atoms:
        if glued and not atom.isspace() and not glued[-1].isspace() and (
                atom[0] in NO_START or glued[-1][-1] in NO_END):
            glued[-1] += atom
        else:
            glued.append(atom)
    return glued


def wrap(text: str, font: str, size_px: int, max_width_px: float | None) -> list[str]:
    """Lines of ``text`` (face ``font``, ``size_px`` pixels) no wider than ``max_width_px`` pixels
    (``None``: break at ``\\n`` only). See the module docstring for the rules."""
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").split("\n"):
        if max_width_px is None:
            lines.append(paragraph)
            continue
        lines.extend(_wrap_paragraph(paragraph, font, size_px, max_width_px))
    return lines


def _wrap_paragraph(paragraph: str, font: str, size_px: int, limit: float) -> list[str]:
    lines: list[str] = []
    current, pending = "", ""
    for atom in _atoms(paragraph):
        if atom.isspace():
            pending = atom if current else ""
            continue
        candidate = current + pending + atom
        pending = ""
        if measure(candidate, font, size_px) <= limit:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = atom
        if measure(atom, font, size_px) > limit:  # one word wider than the limit: break between characters
            pieces = _hard_break(atom, font, size_px, limit)
            lines.extend(pieces[:-1])
            current = pieces[-1]
    if current or not lines:
        lines.append(current)
    return lines


def _hard_break(word: str, font: str, size_px: int, limit: float) -> list[str]:
    pieces: list[str] = []
    current = ""
    for ch in word:
        if current and measure(current + ch, font, size_px) > limit:
            pieces.append(current)
            current = ch
        else:
            current += ch
    pieces.append(current)
    return pieces


@dataclass(frozen=True)
class TextBlock:
    """A laid-out text: the ``face`` (font name) and its single-face ``font_file``, ``size_px``, the
    wrapped ``lines`` and the widest line's advance ``width_px`` (pixels)."""

    face: str
    font_file: Path
    size_px: int
    lines: tuple[str, ...]
    width_px: float

    @property
    def text(self) -> str:
        """The lines joined with ``\\n`` (what drawtext draws)."""
        return "\n".join(self.lines)


def layout_text(text: str, font: str, size_px: int, max_width_px: float | None) -> TextBlock:
    """Choose the face for ``text`` and wrap it at ``max_width_px`` pixels (``None``: no wrapping).

    Raises :class:`vidlake.edit.fonts.FontNotFoundError` when the face's package is missing."""
    face = face_for(font, text)
    lines = tuple(wrap(text, face, size_px, max_width_px))
    width = max((measure(line, face, size_px) for line in lines), default=0.0)
    return TextBlock(face=face, font_file=font_path(face), size_px=size_px, lines=lines, width_px=width)


__all__ = ["NO_END", "NO_START", "TextBlock", "face_for", "is_cjk", "layout_text", "measure",
           "missing_characters", "wrap"]
