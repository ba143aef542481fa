"""Console live streams page (``/console/live-streams``): list with status, RTMP and SRT ingest URLs,
the stream key behind a reveal, create and reset key (writes: session with write permission + CSRF,
through the same :mod:`vidlake.live.streams` functions as the API)."""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vidlake.api.deps import ServicesDep
from vidlake.api.schemas.live import LiveStreamCreate
from vidlake.console import i18n
from vidlake.console.context import PageContext, page_context
from vidlake.console.pages import _current, _lang, _write_check
from vidlake.live import ingest
from vidlake.live import streams as svc

router = APIRouter(prefix="/console/live-streams", tags=["console"], include_in_schema=False)


def _ingest_urls(services: ServicesDep) -> tuple[str, str]:
    """(RTMP base URL, SRT URL prefix) on the public host; empty when that ingest is off."""
    host = urlsplit(services.settings.public_url).hostname or "127.0.0.1"
    rtmp = f"rtmp://{host}:{services.settings.rtmp_port}/live" if services.settings.rtmp_port else ""
    srt = f"srt://{host}:{services.settings.srt_port}?streamid=" if services.settings.srt_port else ""
    return rtmp, srt


@router.get("", response_class=HTMLResponse)
def live_streams_page(request: Request, services: ServicesDep) -> Response:
    """The environment's live streams, newest first."""
    ctx = page_context(request, services)
    if not isinstance(ctx, PageContext):
        return ctx
    lang, principal, t = ctx.lang, ctx.principal, ctx.t
    rtmp, srt = _ingest_urls(services)
    csrf = ctx.csrf_input()
    rows = []
    with services.db.session() as db:
        for s in svc.list_live_streams(db, principal.environment_id, 0, 100, None):
            key = escape(s.stream_key)
            reset = (f'<form method="post" action="/console/live-streams/{escape(s.id)}/reset-key" class="inline">'
                     f'{csrf}<button type="submit" class="reset-key">{t("reset_key")}</button></form>'
                     if principal.can_write else "")
            urls = "".join(f"<div><code>{escape(u)}</code></div>" for u in (rtmp, srt + key if srt else "") if u)
            rows.append(f'<tr data-stream-id="{escape(s.id)}"><td><code>{escape(s.id)}</code>{urls}</td>'
                        f'<td class="status">{escape(i18n.MESSAGES.get(s.status, {}).get(lang, s.status))}</td>'
                        f'<td><details><summary>{t("reveal")}</summary><code class="stream-key">{key}</code>'
                        f'</details>{reset}</td><td>{escape(i18n.fmt_date(lang, s.created_at))}</td></tr>')
    create = (f'<form method="post" action="/console/live-streams" id="create-stream">{csrf}'
              f'<button type="submit">{t("create_stream")}</button></form>' if principal.can_write else "")
    table = (f'<table><thead><tr><th>ID</th><th>{t("status")}</th><th>{t("stream_key")}</th>'
             f'<th>{t("created")}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
             if rows else f'<p>{t("none")}</p>')
    return ctx.page(f'<h1>{t("live_streams")}</h1>{create}{table}')


@router.post("")
def create_live_stream(request: Request, services: ServicesDep,
                       csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    """A new public, recorded live stream (the API's defaults for ``playback_policy: public``)."""
    current = _current(request, services)
    refused = _write_check(request, _lang(request), current, csrf)
    if refused is not None:
        return refused
    assert current is not None
    body = LiveStreamCreate.model_validate({"playback_policy": ["public"],
                                            "new_asset_settings": {"playback_policy": ["public"]}})
    with services.db.session() as db:
        svc.create_live_stream(db, current[0].environment_id, body.service_request())
    return RedirectResponse("/console/live-streams", status_code=303)


@router.post("/{live_stream_id}/reset-key")
def reset_key(live_stream_id: str, request: Request, services: ServicesDep,
              csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    """New stream key; a publisher on the old key is cut (as ``POST .../reset-stream-key``)."""
    current = _current(request, services)
    refused = _write_check(request, _lang(request), current, csrf)
    if refused is not None:
        return refused
    assert current is not None
    with services.db.session() as db:
        old = svc.reset_stream_key(db, svc.get_live_stream(db, current[0].environment_id, live_stream_id))
    owner = ingest.current()
    if owner is not None:
        owner.kick_key(old)
    return RedirectResponse("/console/live-streams", status_code=303)
