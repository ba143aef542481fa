"""Fonts for text clips and burned captions, shipped by packages the project installs (no system font
is assumed).

Two families, both under the SIL Open Font License 1.1:

* **Source Sans Pro** (Latin, Greek, Cyrillic): the ``font-source-sans-pro`` Python wheel installs its
  TTF files inside its package (``sans``, ``sans-bold``...).
* **Noto Sans CJK** (Chinese simplified and traditional, Japanese kana and kanji, Korean hangul, and
  Latin, digits and punctuation drawn like Source Sans): Debian's ``fonts-noto-cjk`` package, which
  ``make run`` and ``make install-test`` install (``RUNTIME_APT_PACKAGES``). It ships OpenType
  collections (``.ttc``) holding one face per region; ffmpeg's drawtext can only open the first face of
  a collection, so :func:`font_path` copies the wanted face into a standalone ``.otf`` once (about
  0.3 s, 16 MB) in a cache directory (``$XDG_CACHE_HOME/vidlake/fonts``, else ``~/.cache/vidlake/fonts``,
  else the temp dir).

Every face of the Noto collections covers all of CJK; the region (``sc``, ``tc``, ``hk``, ``jp``,
``kr``) picks the regional glyph forms of shared Han characters.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

#: The Debian package carrying the CJK faces.
CJK_APT_PACKAGE = "fonts-noto-cjk"
#: Where Debian installs it.
CJK_FONT_DIR = Path("/usr/share/fonts/opentype/noto")


@dataclass(frozen=True)
class Face:
    """A font face: ``file`` inside the package that ships it (``package`` is a Python module for the
    Latin faces, else ``None`` for the Debian CJK collections), ``index`` of the face in a collection."""

    file: str
    index: int = 0
    package: str | None = None


def _latin(file: str) -> Face:
    return Face(file, package="font_source_sans_pro")


_CJK_INDEX = {"jp": 0, "kr": 1, "sc": 2, "tc": 3, "hk": 4}

#: Timeline font name -> face.
FONT_FACES: dict[str, Face] = {
    "sans": _latin("SourceSansPro-Regular.ttf"),
    "sans-bold": _latin("SourceSansPro-Bold.ttf"),
    "sans-semibold": _latin("SourceSansPro-Semibold.ttf"),
    "sans-light": _latin("SourceSansPro-Light.ttf"),
    "sans-italic": _latin("SourceSansPro-It.ttf"),
    "sans-black": _latin("SourceSansPro-Black.ttf"),
    **{f"sans-{region}{suffix}": Face(f"NotoSansCJK-{weight}.ttc", index)
       for region, index in _CJK_INDEX.items() for suffix, weight in (("", "Regular"), ("-bold", "Bold"))},
}
#: Kept for callers of the first version: timeline font name -> file name.
FONT_FILES: dict[str, str] = {name: face.file for name, face in FONT_FACES.items()}

#: The CJK face drawn instead of a Latin face when a text holds characters the Latin face lacks.
CJK_FALLBACK: dict[str, str] = {
    "sans": "sans-sc", "sans-light": "sans-sc", "sans-italic": "sans-sc",
    "sans-semibold": "sans-sc-bold", "sans-bold": "sans-sc-bold", "sans-black": "sans-sc-bold",
}


class FontNotFoundError(FileNotFoundError):
    """A font name is unknown, or the package that ships its face is not installed (the message names
    the package to install)."""


def _package_file(face: Face) -> Path:
    assert face.package is not None
    try:
        root = resources.files(face.package) / "files" / face.file
    except ModuleNotFoundError as exc:
        raise FontNotFoundError("the font-source-sans-pro Python package is not installed "
                                "(pip install font-source-sans-pro)") from exc
    path = Path(str(root))
    if not path.is_file():
        raise FontNotFoundError(f"font file missing: {path} (reinstall font-source-sans-pro)")
    return path


def _cache_dir() -> Path:
    """A writable directory for faces copied out of collections."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    for candidate in (Path(base) / "vidlake" / "fonts",
                      Path(tempfile.gettempdir()) / f"vidlake-fonts-{os.getuid()}"):
        with contextlib.suppress(OSError):
            candidate.mkdir(parents=True, exist_ok=True)
            if os.access(candidate, os.W_OK):
                return candidate
    raise FontNotFoundError("no writable directory for the CJK font cache (set XDG_CACHE_HOME)")


def _extract(collection: Path, index: int) -> Path:
    """The face ``index`` of ``collection`` as a standalone OpenType file (copied once, atomically)."""
    from fontTools.ttLib import TTFont

    stat = collection.stat()
    tag = hashlib.sha256(f"{collection}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    out = _cache_dir() / f"{collection.stem}-{index}-{tag}.otf"
    if out.is_file():
        return out
    # lazy: tables are copied as raw bytes, nothing is decompiled
    font = TTFont(str(collection), fontNumber=index, lazy=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            font.save(fh)
        os.replace(tmp, out)
    finally:
        font.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return out


def cjk_available() -> bool:
    """Whether the CJK collections of :data:`CJK_APT_PACKAGE` are installed."""
    return all((CJK_FONT_DIR / f).is_file() for f in ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc"))


@lru_cache(maxsize=32)
def font_path(name: str) -> Path:
    """Absolute path of a single-face font file for a timeline font name (see :data:`FONT_FACES`).

    Raises :class:`FontNotFoundError` for an unknown name or a missing package (naming the package)."""
    try:
        face = FONT_FACES[name]
    except KeyError:
        raise FontNotFoundError(f"unknown font {name!r}; known: {', '.join(FONT_FACES)}") from None
    if face.package is not None:
        return _package_file(face)
    collection = CJK_FONT_DIR / face.file
    if not collection.is_file():
        raise FontNotFoundError(
            f"font {name!r} needs the CJK fonts of the Debian package {CJK_APT_PACKAGE}, which is not installed "
            f"({collection} is missing): apt-get install {CJK_APT_PACKAGE} (make run installs it)")
    return _extract(collection, face.index)


@lru_cache(maxsize=32)
def coverage(name: str) -> frozenset[int]:
    """The Unicode code points the face of ``name`` has glyphs for."""
    from fontTools.ttLib import TTFont

    with TTFont(str(font_path(name)), lazy=True) as font:
        return frozenset(font.getBestCmap())


__all__ = ["CJK_APT_PACKAGE", "CJK_FALLBACK", "CJK_FONT_DIR", "FONT_FACES", "FONT_FILES", "Face",
           "FontNotFoundError", "cjk_available", "coverage", "font_path"]
