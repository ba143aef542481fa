"""The embeddable player page: ``GET /player/{playback_id}``.

An HTML page around one ``<video>`` element driven by hls.js (vendored from npm into
``static/vendor/hls.min.js`` by ``make``; Safari's native HLS is the fallback). No access token is
needed: the page only fetches the public playback URLs (``/{playback_id}.m3u8``, ``thumbnail.jpg``,
``storyboard.vtt``) and passes the ``token`` query parameters through for signed playback ids.

The page may be framed by any site (``Content-Security-Policy: frame-ancestors *``); its scripts come
from this origin only. Registered before the playback router, whose ``/{playback_id}/{name}`` path
would otherwise swallow ``/player/{playback_id}``.
"""

from __future__ import annotations

import html
from pathlib import Path
from string import Template
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from vidlake import __version__

router = APIRouter(tags=["player"])

#: Where the page's own scripts, styles and the vendored hls.js live on disk.
STATIC_DIR = Path(__file__).resolve().parent / "static"
#: The vendored hls.js bundle (copied from ``node_modules/hls.js/dist`` by ``make``; git-ignored).
HLS_JS = STATIC_DIR / "vendor" / "hls.min.js"
#: URL prefix the static directory is mounted at (see :func:`static_files`).
STATIC_PREFIX = "/console/static"
TEMPLATE = Template((Path(__file__).resolve().parent / "templates" / "player.html").read_text(encoding="utf-8"))

#: Scripts, styles, playlists and images from this origin only; MSE needs ``blob:`` media and
#: hls.js runs its transmuxer in a ``blob:`` worker. Any site may frame the page.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors *",
])
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

PlaybackIdParam = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="A playback id")]
TokenParam = Annotated[str | None, Query(max_length=8192)]


def _url(path: str, **params: str | int | None) -> str:
    """``path`` with the non-empty ``params`` as a query string."""
    query = urlencode({k: v for k, v in params.items() if v is not None and v != ""})
    return f"{path}?{query}" if query else path


def static_files() -> StaticFiles:
    """The ASGI app serving ``static/`` (mount it at :data:`STATIC_PREFIX`)."""
    return StaticFiles(directory=STATIC_DIR)


def hls_js_present() -> bool:
    """Whether the vendored hls.js bundle exists (``make`` copies it from npm)."""
    return HLS_JS.is_file()


def render_page(
    playback_id: str,
    *,
    token: str | None = None,
    thumbnail_token: str | None = None,
    storyboard_token: str | None = None,
    autoplay: bool = False,
    muted: bool = False,
    loop: bool = False,
    start_time: float = 0.0,
) -> str:
    """The player page HTML for ``playback_id``.

    ``token`` signs video (audience ``v``); ``thumbnail_token`` (``t``) and ``storyboard_token`` (``s``)
    default to ``token``. ``start_time`` is in seconds from the start of the media.
    """
    thumb_token = thumbnail_token or token
    board_token = storyboard_token or token
    values = {
        "playback_id": playback_id,
        "src": _url(f"/{playback_id}.m3u8", token=token),
        "poster": _url(f"/{playback_id}/thumbnail.jpg", token=thumb_token),
        "storyboard": _url(f"/{playback_id}/storyboard.vtt", token=board_token),
        "autoplay": "1" if autoplay else "0",
        "muted": "1" if muted else "0",
        "loop": "1" if loop else "0",
        "start_time": f"{start_time:g}",
        "static": STATIC_PREFIX,
        "version": __version__,
    }
    return TEMPLATE.substitute({k: html.escape(v, quote=True) for k, v in values.items()})


@router.get("/player/{playback_id}", response_class=HTMLResponse, summary="Embeddable player page")
def player_page(
    playback_id: PlaybackIdParam,
    token: TokenParam = None,
    thumbnail_token: TokenParam = None,
    storyboard_token: TokenParam = None,
    autoplay: Annotated[bool, Query(description="Start playing on load (browsers allow it when muted)")] = False,
    muted: Annotated[bool, Query(description="Start muted")] = False,
    loop: Annotated[bool, Query(description="Play again from the start at the end")] = False,
    start_time: Annotated[float, Query(ge=0, le=86400 * 7, description="Seconds")] = 0.0,
) -> HTMLResponse:
    """An HTML page playing ``playback_id``; errors (unknown or unready ids) show on the page."""
    page = render_page(playback_id, token=token, thumbnail_token=thumbnail_token, storyboard_token=storyboard_token,
                       autoplay=autoplay, muted=muted, loop=loop, start_time=start_time)
    return HTMLResponse(page, headers=PAGE_HEADERS)
