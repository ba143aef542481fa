"""Console pages at ``/console``: sign-in (access token or console user), sign-out, the assets list
and asset deletion. Server-rendered HTML, every string through :mod:`vidlake.console.i18n`; writes
need a session with write permission (else 403) and its CSRF token (else 403). Writes call the same
service functions as the API."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select

from vidlake.api.deps import ServicesDep
from vidlake.auth.tokens import Principal, authenticate
from vidlake.auth.users import authenticate_user, principal_of
from vidlake.console import i18n
from vidlake.console import session as sess
from vidlake.console.player import STATIC_PREFIX
from vidlake.db.models import Asset
from vidlake.vod import assets as asset_svc

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
PAGE_SIZE = 25
HEADERS = {"Content-Security-Policy": "default-src 'self'; frame-src 'self'; img-src 'self' data:; "
           "frame-ancestors 'none'; "
           "form-action 'self'; base-uri 'none'", "X-Frame-Options": "DENY", "Cache-Control": "no-store",
           "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"}


def _lang(request: Request) -> str:
    return i18n.choose(request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language"))


def _layout(lang: str, body: str, principal: Principal | None = None, csrf: str = "") -> str:
    def t(k: str) -> str:
        return escape(i18n.t(lang, k))
    nav = ""
    if principal is not None:
        ro = f' <span class="ro">{t("read_only")}</span>' if not principal.can_write else ""
        upload = f'<a href="/console/upload" id="upload-link">{t("upload")}</a>' if principal.can_write else ""
        nav = (f'<a href="/console">{t("assets")}</a><a href="/console/live-streams">{t("live_streams")}</a>'
               f'<a href="/console/analytics" id="analytics-link">{t("analytics")}</a>'
               f'<a href="/console/jobs" id="jobs-link">{t("jobs")}</a>'
               f'<a href="/console/webhooks" id="webhooks-link">{t("webhooks")}</a>'
               f'<a href="/console/tokens" id="tokens-link">{t("tokens")}</a>'
               f'<a href="/console/usage" id="usage-link">{t("usage")}</a>{upload}{ro}'
               f'<form method="post" action="/console/sign-out" class="inline">'
               f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
               f'<button type="submit" id="sign-out">{t("sign_out")}</button></form>')
    other = "zh" if lang == "en" else "en"
    switch = (f'<a id="lang-switch" href="/console/lang/{other}">{"中文" if other == "zh" else "English"}</a>')
    return (f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{t("title")}</title><link rel="stylesheet" href="{STATIC_PREFIX}/console.css"></head>'
            f'<body><header><strong>{t("title")}</strong> <nav>{nav} {switch}</nav></header>'
            f'<main>{body}</main></body></html>')


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=HEADERS)


def _current(request: Request, services: ServicesDep) -> tuple[Principal, sess.ConsoleSession] | None:
    found = sess.verify(sess.load_key(services.settings.data_dir), request.cookies.get(sess.COOKIE))
    if found is None:
        return None
    with services.db.session() as db:
        principal = principal_of(db, found.subject)
    return (principal, found) if principal is not None else None


def _write_check(request: Request, lang: str, current: tuple[Principal, sess.ConsoleSession] | None,
                 csrf: str | None) -> Response | None:
    """None if the write may go ahead, else the refusal (303 to sign-in, or 403)."""
    if current is None:
        return RedirectResponse("/console/sign-in", status_code=303)
    sent = csrf or request.headers.get("x-csrf-token")
    if not sess.csrf_ok(current[1], sent):
        return _html(_layout(lang, f'<p class="error">{escape(i18n.t(lang, "csrf"))}</p>'), 403)
    if not current[0].can_write:
        return _html(_layout(lang, f'<p class="error">{escape(i18n.t(lang, "forbidden"))}</p>'), 403)
    return None


def _sign_in_page(lang: str, error: bool = False) -> str:
    def t(k: str) -> str:
        return escape(i18n.t(lang, k))
    err = f'<p class="error" id="sign-in-error">{t("bad_credentials")}</p>' if error else ""
    return _layout(lang, (
        f'<h1>{t("sign_in")}</h1>{err}'
        f'<form method="post" action="/console/sign-in" id="token-form"><h2>{t("with_token")}</h2>'
        f'<label>{t("token_id")} <input name="token_id" autocomplete="username"></label>'
        f'<label>{t("token_secret")} <input name="token_secret" type="password" autocomplete="current-password">'
        f'</label><button type="submit">{t("sign_in")}</button></form>'
        f'<form method="post" action="/console/sign-in" id="user-form"><h2>{t("with_user")}</h2>'
        f'<label>{t("email")} <input name="email" type="email" autocomplete="username"></label>'
        f'<label>{t("password")} <input name="password" type="password" autocomplete="current-password"></label>'
        f'<button type="submit">{t("sign_in")}</button></form>'))


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request) -> HTMLResponse:
    """The sign-in page (no secret is ever taken from the URL)."""
    return _html(_sign_in_page(_lang(request)))


@router.post("/sign-in")
def sign_in(request: Request, services: ServicesDep, token_id: Annotated[str, Form(max_length=64)] = "",
            token_secret: Annotated[str, Form(max_length=256)] = "", email: Annotated[str, Form(max_length=254)] = "",
            password: Annotated[str, Form(max_length=1024)] = "") -> Response:
    """Check the credentials; on success set the session cookie and go to the assets list."""
    with services.db.session() as db:
        if token_id and token_secret:
            principal = authenticate(db, token_id, token_secret)
        elif email and password:
            principal = authenticate_user(db, email, password)
        else:
            principal = None
    if principal is None:
        return _html(_sign_in_page(_lang(request), error=True), 401)
    value, _ = sess.issue(sess.load_key(services.settings.data_dir), principal.token_id)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(sess.COOKIE, value, max_age=int(sess.SESSION_S), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/console")
    return response


@router.post("/sign-out")
def sign_out(request: Request, services: ServicesDep, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    """End the session (needs its CSRF token, so that no other site can sign a person out)."""
    current = _current(request, services)
    if current is not None and not sess.csrf_ok(current[1], csrf or request.headers.get("x-csrf-token")):
        return _html(_layout(_lang(request), f'<p class="error">{escape(i18n.t(_lang(request), "csrf"))}</p>'), 403)
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(sess.COOKIE, path="/console")
    return response


@router.get("/lang/{lang}")
def set_lang(lang: str) -> Response:
    """Remember the language in a cookie and go back to the console."""
    response = RedirectResponse("/console", status_code=303)
    if lang in i18n.LANGS:
        response.set_cookie(i18n.LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/console")
    return response


@router.get("", response_class=HTMLResponse)
def assets_page(request: Request, services: ServicesDep, q: Annotated[str, Query(max_length=200)] = "",
                status: Annotated[str, Query(pattern="^(|preparing|ready|errored)$")] = "",
                page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    """The environment's assets: search by title/passthrough/id, filter by status, paginated."""
    lang = _lang(request)
    current = _current(request, services)
    if current is None:
        return RedirectResponse("/console/sign-in", status_code=303)
    principal, found = current

    def t(k: str) -> str:
        return escape(i18n.t(lang, k))
    with services.db.session() as db:
        query = select(Asset).where(Asset.environment_id == principal.environment_id, Asset.deleted_at.is_(None))
        if q:
            like = f"%{q}%"
            query = query.where(or_(Asset.id == q, Asset.passthrough.like(like)))
        if status:
            query = query.where(Asset.status == status)
        rows = list(db.scalars(query.order_by(Asset.created_at.desc(), Asset.id)
                               .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
        more = len(rows) > PAGE_SIZE
        items = []
        for a in rows[:PAGE_SIZE]:
            pids = asset_svc.playback_ids_of(db, a.id)
            thumb = (f'<img src="/{escape(pids[0].id)}/thumbnail.jpg?width=160" alt="" width="80">'
                     if pids and pids[0].policy == "public" and a.status == "ready" else "")
            delete = ""
            if principal.can_write:
                delete = (f'<details><summary>{t("delete")}</summary>{t("confirm_delete")} '
                          f'<form method="post" action="/console/assets/{escape(a.id)}/delete" class="inline">'
                          f'<input type="hidden" name="csrf" value="{escape(found.csrf)}">'
                          f'<button type="submit" class="delete">{t("delete")}</button></form></details>')
            st = escape(i18n.MESSAGES.get(a.status, {}).get(lang, a.status))
            items.append(f'<tr data-asset-id="{escape(a.id)}"><td>{thumb}</td>'
                         f'<td><a href="/console/assets/{escape(a.id)}"><code>{escape(a.id)}</code></a><br>'
                         f'{escape(a.passthrough or "")}</td><td class="status">{st}</td>'
                         f'<td>{escape(i18n.fmt_duration(lang, a.duration))}</td>'
                         f'<td>{escape(i18n.fmt_date(lang, a.created_at))}</td><td>{delete}</td></tr>')
    options = "".join(f'<option value="{s}"{" selected" if s == status else ""}>'
                      f'{t(s) if s else t("all")}</option>' for s in ("", "preparing", "ready", "errored"))
    pager = ""
    if page > 1:
        pager += f'<a href="/console?page={page - 1}&amp;status={status}&amp;q={escape(q)}">{t("prev")}</a> '
    if more:
        pager += f'<a href="/console?page={page + 1}&amp;status={status}&amp;q={escape(q)}">{t("next")}</a>'
    table = (f'<table><thead><tr><th></th><th>ID</th><th>{t("status")}</th><th>{t("duration")}</th>'
             f'<th>{t("created")}</th><th></th></tr></thead><tbody>{"".join(items)}</tbody></table>'
             if items else f'<p>{t("none")}</p>')
    body = (f'<h1>{t("assets")}</h1><form method="get" action="/console" class="filters">'
            f'<input name="q" value="{escape(q)}" placeholder="{t("search")}"><select name="status">{options}'
            f'</select><button type="submit">{t("search")}</button></form>{table}<p class="pager">{pager}</p>')
    return _html(_layout(lang, body, principal, found.csrf))


@router.post("/assets/{asset_id}/delete")
def delete_asset(asset_id: str, request: Request, services: ServicesDep,
                 csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    """Delete an asset through the same service function as ``DELETE /video/v1/assets/{id}``."""
    lang = _lang(request)
    current = _current(request, services)
    refused = _write_check(request, lang, current, csrf)
    if refused is not None:
        return refused
    assert current is not None
    with services.db.session() as db:
        asset_svc.delete_asset(db, services.storage, asset_svc.get_asset(db, current[0].environment_id, asset_id))
    return RedirectResponse("/console", status_code=303)
