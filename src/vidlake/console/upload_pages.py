"""Console upload page (``/console/upload``): drop or choose several files; each gets a direct upload
(``vod.uploads.create_upload``, as ``POST /video/v1/uploads``) from ``POST /console/uploads`` (session
with write permission + ``X-CSRF-Token``), and ``static/console-upload.js`` sends it in resumable
chunks with the vendored @mux/upchunk, with progress and cancel."""

from __future__ import annotations

import json
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from vidlake.api.deps import ServicesDep
from vidlake.console import i18n
from vidlake.console.context import PageContext, page_context
from vidlake.console.pages import _current, _lang, _write_check
from vidlake.console.player import STATIC_PREFIX
from vidlake.vod import uploads

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
#: Chunk size UpChunk sends, in KiB (a multiple of 256 as UpChunk requires).
CHUNK_KIB = 5120
JS_KEYS = ("uploaded", "cancelled", "failed", "cancel")


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, services: ServicesDep) -> Response:
    """The drop zone (write sessions only: read-only ones are sent to the assets list)."""
    ctx = page_context(request, services)
    if not isinstance(ctx, PageContext):
        return ctx
    lang = ctx.lang
    if not ctx.principal.can_write:
        return RedirectResponse("/console", status_code=303)
    messages = escape(json.dumps({k: i18n.t(lang, k) for k in JS_KEYS}, ensure_ascii=False))
    body = (f'<h1>{escape(i18n.t(lang, "upload"))}</h1>'
            f'<label id="drop-zone" class="drop" data-csrf="{escape(ctx.csrf)}" data-chunk-kib="{CHUNK_KIB}" '
            f'data-messages="{messages}">{escape(i18n.t(lang, "drop_here"))}'
            f'<input type="file" id="files" multiple accept="video/*,audio/*"></label><ul id="upload-list"></ul>'
            f'<script src="{STATIC_PREFIX}/vendor/upchunk.js"></script>'
            f'<script src="{STATIC_PREFIX}/console-upload.js"></script>')
    return ctx.page(body)


@router.post("/uploads")
def create_upload(request: Request, services: ServicesDep) -> Response:
    """A direct upload for one file (public playback); answers ``{"id", "url"}``."""
    current = _current(request, services)
    refused = _write_check(request, _lang(request), current, None)
    if refused is not None:
        return refused
    assert current is not None
    public_url = services.settings.public_url
    with services.db.session() as db:
        up = uploads.create_upload(db, current[0].environment_id, {"playback_policy": ["public"]},
                                   public_url=public_url)
        out = {"id": up.id, "url": uploads.upload_url(public_url, up.id)}
    return JSONResponse(out, headers={"Cache-Control": "no-store"})
