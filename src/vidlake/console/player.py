"""The embeddable player page: ``GET /player/{playback_id}``.

An HTML page around one ``<video>`` element driven by hls.js (vendored from npm into
``static/vendor/hls.min.js`` by ``make``; Safari's native HLS is the fallback). No access token is
needed: the page only fetches the public playback URLs (``/{playback_id}.m3u8``, ``thumbnail.jpg``,
``storyboard.vtt``) and passes the ``token`` query parameters through for signed playback ids.

Every page monitors playback with Mux's ``mux-embed`` SDK (vendored as ``static/vendor/mux-embed.js``):
its beacons go to this server's collector (``POST /``, :mod:`vidlake.api.routes.collector`) with the
playback id's environment key, so every view of a Vidlake player shows up in the Data API.

The page may be framed by any site (``Content-Security-Policy: frame-ancestors *``); its scripts come
from this origin only. Registered before the playback router, whose ``/{playback_id}/{name}`` path
would otherwise swallow ``/player/{playback_id}``.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from string import Template
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from vidlake import __version__
from vidlake.analytics.keys import env_key_for
from vidlake.db.models import PlaybackId
from vidlake.runtime import Services

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
CSP_PARTS = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'{beacons}",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors *",
]
CSP = "; ".join(CSP_PARTS).format(beacons="")
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
    monitor: dict[str, str] | None = None,
) -> str:
    """The player page HTML for ``playback_id``.

    ``token`` signs video (audience ``v``); ``thumbnail_token`` (``t``) and ``storyboard_token`` (``s``)
    default to ``token``. ``start_time`` is in seconds from the start of the media. ``monitor``: the
    mux-embed settings (``env_key``, ``beacon_domain``, ``video_id``, ``stream_type``); none: no beacons.
    """
    monitor = monitor or {}
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
        "env_key": monitor.get("env_key", ""),
        "beacon_domain": monitor.get("beacon_domain", ""),
        "video_id": monitor.get("video_id", ""),
        "stream_type": monitor.get("stream_type", ""),
        "version": __version__,
    }
    return TEMPLATE.substitute({k: html.escape(v, quote=True) for k, v in values.items()})


_DOMAIN = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")


def beacon_origin(domain: str) -> str:
    """The origin mux-embed posts to for ``beaconCollectionDomain`` ``domain``: plain http only for
    ``localhost[:port]`` (the SDK's own rule), https otherwise."""
    host = domain.split(":", 1)[0]
    return f"{'http' if host == 'localhost' else 'https'}://{domain}"


def monitoring(request: Request, playback_id: str) -> dict[str, str] | None:
    """mux-embed settings for ``playback_id``'s page (None for an unknown playback id: no beacons)."""
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:  # the page's router mounted on its own (no database)
        return None
    with services.db.session() as session:
        pid = session.get(PlaybackId, playback_id)
        if pid is None:
            return None
        env_key = env_key_for(session, pid.environment_id)
        if env_key is None:
            return None
        video_id, live = (pid.live_stream_id, True) if pid.live_stream_id else (pid.asset_id or "", False)
    domain = services.settings.analytics_beacon_domain or request.headers.get("host", "")
    if not _DOMAIN.match(domain):  # also keeps the CSP header and the page's attribute well-formed
        return None
    return {"env_key": env_key, "beacon_domain": domain, "video_id": video_id or "",
            "stream_type": "live" if live else "on-demand"}


@router.get("/player/{playback_id}", response_class=HTMLResponse, summary="Embeddable player page")
def player_page(
    request: Request,
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
    monitor = monitoring(request, playback_id)
    page = render_page(playback_id, token=token, thumbnail_token=thumbnail_token, storyboard_token=storyboard_token,
                       autoplay=autoplay, muted=muted, loop=loop, start_time=start_time, monitor=monitor)
    headers = dict(PAGE_HEADERS)
    if monitor is not None:
        headers["Content-Security-Policy"] = "; ".join(CSP_PARTS).format(
            beacons=" " + beacon_origin(monitor["beacon_domain"]))
    return HTMLResponse(page, headers=headers)
