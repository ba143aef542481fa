"""Text of ffmpeg filter graphs: numbers, colours, escaped option values, and the named colour filters,
Ken Burns motions and tempo chains a timeline can ask for."""

from __future__ import annotations


def num(value: float) -> str:
    """A compact decimal for ffmpeg options (no exponent)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def color(hex_color: str) -> str:
    """``#rrggbb[aa]`` to ffmpeg's ``0xrrggbb@alpha``."""
    rgb = hex_color[1:7]
    alpha = int(hex_color[7:9], 16) / 255 if len(hex_color) == 9 else 1.0
    return f"0x{rgb}@{num(alpha)}"


def escape_value(value: str) -> str:
    """Escape an option value for a filter graph: first for the filter's own option parser
    (``\\ ' :``), then for the graph parser (``\\ ' [ ] , ;``)."""
    level1 = "".join("\\" + ch if ch in "\\':" else ch for ch in value)
    return "".join("\\" + ch if ch in "\\'[],;" else ch for ch in level1)


def filter_text(name: str, **options: str | float | int) -> str:
    if not options:
        return name
    parts = []
    for key, val in options.items():
        text = val if isinstance(val, str) else num(float(val))
        parts.append(f"{key}={escape_value(text)}")
    return f"{name}=" + ":".join(parts)


#: Colour filters: name -> ffmpeg filter chain.
FILTER_CHAINS: dict[str, str] = {
    "greyscale": "hue=s=0",
    "blur": "gblur=sigma=6",
    "boost": "eq=contrast=1.25:saturation=1.4",
    "contrast": "eq=contrast=1.5",
    "darken": "eq=brightness=-0.15",
    "lighten": "eq=brightness=0.15",
    "muted": "eq=saturation=0.5:contrast=0.9",
    "negative": "negate",
    "sepia": "colorchannelmixer=.393:.769:.189:0:.349:.686:.168:0:.272:.534:.131",
}

#: Ken Burns effects: name -> (zoom expression, x expression, y expression) for zoompan, where
#: ``on`` is the output frame number and ``N`` the clip's frame count.
_CENTER_X = "(iw-iw/zoom)/2"
_CENTER_Y = "(ih-ih/zoom)/2"
EFFECT_EXPRS: dict[str, tuple[str, str, str]] = {
    "zoomIn": ("1+0.25*on/N", _CENTER_X, _CENTER_Y),
    "zoomOut": ("1.25-0.25*on/N", _CENTER_X, _CENTER_Y),
    "slideLeft": ("1.2", "(iw-iw/zoom)*on/N", _CENTER_Y),
    "slideRight": ("1.2", "(iw-iw/zoom)*(1-on/N)", _CENTER_Y),
    "slideUp": ("1.2", _CENTER_X, "(ih-ih/zoom)*on/N"),
    "slideDown": ("1.2", _CENTER_X, "(ih-ih/zoom)*(1-on/N)"),
}


def atempo_chain(speed: float) -> list[str]:
    """atempo accepts 0.5..100 per instance: chain instances for slower speeds."""
    filters: list[str] = []
    remaining = speed
    while remaining < 0.5:
        filters.append("atempo=0.5")
        remaining /= 0.5
    if abs(remaining - 1.0) > 1e-9:
        filters.append(f"atempo={num(remaining)}")
    return filters
