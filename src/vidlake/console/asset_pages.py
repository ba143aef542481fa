"""Console asset detail (``/console/assets/{id}``): the player page (``/player/{playback_id}``) in a
frame, playback ids with an embed code ready to copy, tracks, static MP4 links, errors, and delete
(for sessions with write permission; the delete form posts to ``pages.delete_asset``)."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from vidlake.api.deps import ServicesDep
from vidlake.console import i18n
from vidlake.console.context import PageContext, page_context
from vidlake.vod import assets as asset_svc

router = APIRouter(prefix="/console/assets", tags=["console"], include_in_schema=False)


@router.get("/{asset_id}", response_class=HTMLResponse)
def asset_page(asset_id: str, request: Request, services: ServicesDep) -> Response:
    """One asset of the session's environment (404 page otherwise)."""
    ctx = page_context(request, services)
    if not isinstance(ctx, PageContext):
        return ctx
    lang, principal, t = ctx.lang, ctx.principal, ctx.t
    with services.db.session() as db:
        asset = asset_svc.get_asset(db, principal.environment_id, asset_id)
        data = asset_svc.asset_public(db, asset)
    base = services.settings.public_url.rstrip("/")
    pids = data["playback_ids"]
    public = [p for p in pids if p["policy"] == "public"]
    player = (f'<iframe class="player" src="/player/{escape(public[0]["id"])}" allowfullscreen '
              f'title="{t("player")}"></iframe>' if public and data["status"] == "ready" else "")
    ids = "".join(
        f'<li><code>{escape(p["id"])}</code> ({escape(p["policy"])})<br>{t("embed")}: <textarea readonly '
        f'class="embed" rows="2">{escape(_embed(base, p["id"]))}</textarea></li>' for p in pids)
    tracks = "".join(f'<li>{escape(str(tr.get("type", "")))} {escape(str(tr.get("max_width", "") or ""))}'
                     f'{"x" if tr.get("max_height") else ""}{escape(str(tr.get("max_height", "") or ""))} '
                     f'{escape(str(tr.get("language_code", "") or ""))}</li>' for tr in data["tracks"])
    files = [f for f in data["static_renditions"]["files"] if f.get("status") == "ready"]
    mp4 = "".join(f'<li><a href="/{escape(public[0]["id"])}/{escape(f["name"])}">{escape(f["name"])}</a></li>'
                  for f in files if public)
    errors = "".join(f"<li>{escape(m)}</li>" for m in (data.get("errors") or {}).get("messages", []))
    delete = ""
    if principal.can_write:
        delete = (f'<details class="danger"><summary>{t("delete")}</summary><p>{t("confirm_delete")}</p>'
                  f'<form method="post" action="/console/assets/{escape(asset.id)}/delete">'
                  f'{ctx.csrf_input()}'
                  f'<button type="submit" id="confirm-delete">{t("delete")}</button></form></details>')
    status = escape(i18n.MESSAGES.get(data["status"], {}).get(lang, data["status"]))
    body = (f'<h1><code>{escape(asset.id)}</code></h1><p>{escape(asset.passthrough or "")}</p>'
            f'<p>{t("status")}: <span class="status">{status}</span> · {t("duration")}: '
            f'{escape(i18n.fmt_duration(lang, asset.duration))} · {t("created")}: '
            f'{escape(i18n.fmt_date(lang, asset.created_at))}</p>{player}'
            + (f'<h2>{t("errors")}</h2><ul class="error">{errors}</ul>' if errors else "")
            + f'<h2>{t("playback_ids")}</h2><ul>{ids}</ul>'
            + (f'<h2>{t("tracks")}</h2><ul>{tracks}</ul>' if tracks else "")
            + (f'<h2>{t("static_mp4")}</h2><ul>{mp4}</ul>' if mp4 else "") + delete)
    return ctx.page(body)


def _embed(base: str, playback_id: str) -> str:
    """An ``<iframe>`` of the player page for ``playback_id`` (16:9, fullscreen allowed)."""
    return (f'<iframe src="{base}/player/{playback_id}" style="width:100%;aspect-ratio:16/9;border:0" '
            f'allow="autoplay; fullscreen" allowfullscreen></iframe>')
