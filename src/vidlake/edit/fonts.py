"""Fonts for text clips, shipped by a Python dependency (no system fonts are assumed).

The ``font-source-sans-pro`` wheel (SIL Open Font License) installs Source Sans Pro TTF files
inside its package; :func:`font_path` maps a timeline font name onto one of them.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

#: Timeline font name -> file name inside ``font_source_sans_pro/files``.
FONT_FILES: dict[str, str] = {
    "sans": "SourceSansPro-Regular.ttf",
    "sans-bold": "SourceSansPro-Bold.ttf",
    "sans-semibold": "SourceSansPro-Semibold.ttf",
    "sans-light": "SourceSansPro-Light.ttf",
    "sans-italic": "SourceSansPro-It.ttf",
    "sans-black": "SourceSansPro-Black.ttf",
}


class FontNotFoundError(FileNotFoundError):
    """The bundled font package is missing (``pip install font-source-sans-pro``)."""


@lru_cache(maxsize=16)
def font_path(name: str) -> Path:
    """Absolute path of the TTF file for a timeline font name (see :data:`FONT_FILES`)."""
    try:
        file_name = FONT_FILES[name]
    except KeyError:
        raise FontNotFoundError(f"unknown font {name!r}; known: {', '.join(FONT_FILES)}") from None
    try:
        root = resources.files("font_source_sans_pro") / "files" / file_name
    except ModuleNotFoundError as exc:
        raise FontNotFoundError("the font-source-sans-pro package is not installed") from exc
    path = Path(str(root))
    if not path.is_file():
        raise FontNotFoundError(f"font file missing: {path}")
    return path
