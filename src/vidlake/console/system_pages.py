"""Console jobs (``/console/jobs``: newest first, filter by state, cancel) and access tokens
(``/console/tokens``: list, create with the secret shown once, revoke). Writes need write permission
and the session's CSRF token, and call the same functions as the API (``jobs.queue``, ``auth.tokens``)."""

from __future__ import annotations

from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from vidlake.api.deps import ServicesDep
from vidlake.auth import tokens
from vidlake.console.context import PageContext, page_context, write_context
from vidlake.core.errors import VidlakeError
from vidlake.db.models import Job
from vidlake.jobs import queue

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
JobState = Literal["queued", "running", "succeeded", "failed", "cancelled", "dead"]
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled", "dead")
JOBS_SHOWN = 100


def _state(ctx: PageContext, state: str) -> str:
    """A state name in the page's language (the raw name when there is no translation)."""
    try:
        return ctx.t(state)
    except KeyError:
        return escape(state)


@router.get("/jobs")
def jobs_page(request: Request, services: ServicesDep,
              state: Annotated[JobState | None, Query()] = None) -> Response:
    """The environment's latest jobs (kind, state, progress, attempts, error)."""
    ctx = page_context(request, services)
    if not isinstance(ctx, PageContext):
        return ctx
    with services.db.session() as db:
        query = select(Job).where(Job.environment_id == ctx.principal.environment_id)
        if state:
            query = query.where(Job.state == state)
        jobs = list(db.scalars(query.order_by(Job.created_at.desc()).limit(JOBS_SHOWN)))
    filters = " ".join(f'<a href="/console/jobs?state={s}">{_state(ctx, s)}</a>' for s in JOB_STATES)
    rows = []
    for j in jobs:
        cancel = (f'<form method="post" action="/console/jobs/{escape(j.id)}/cancel" class="inline">'
                  f'{ctx.csrf_input()}<button type="submit">{ctx.t("cancel_job")}</button></form>'
                  if ctx.principal.can_write and j.state in ("queued", "running") else "")
        rows.append(f'<tr data-job-id="{escape(j.id)}"><td><code>{escape(j.kind)}</code></td>'
                    f'<td class="status">{_state(ctx, j.state)}</td><td>{100 * j.progress:.0f}%</td>'
                    f'<td>{j.attempts}/{j.max_attempts}</td><td>{escape((j.last_error or "")[:300])}</td>'
                    f'<td>{ctx.date(j.created_at)}</td><td>{cancel}</td></tr>')
    table = (f'<table id="jobs"><thead><tr><th>{ctx.t("kind")}</th><th>{ctx.t("status")}</th>'
             f'<th>{ctx.t("progress")}</th><th>{ctx.t("attempts")}</th><th>{ctx.t("error")}</th>'
             f'<th>{ctx.t("created")}</th><th></th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
             if rows else f'<p>{ctx.t("none")}</p>')
    return ctx.page(f'<h1>{ctx.t("jobs")}</h1><p class="filters"><a href="/console/jobs">{ctx.t("all")}</a> '
                    f'{filters}</p>{table}')


@router.post("/jobs/{job_id}/cancel")
def cancel_job(request: Request, services: ServicesDep, job_id: str,
               csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    """Cancel a job of the environment (at once when queued, at its next heartbeat when running)."""
    ctx = write_context(request, services, csrf)
    if not isinstance(ctx, PageContext):
        return ctx
    try:
        queue.cancel(services.db, job_id[:64], ctx.principal.environment_id)
    except VidlakeError as exc:
        return ctx.page(f'<p class="error">{escape(exc.messages[0])}</p>', exc.status_code)
    return RedirectResponse("/console/jobs", status_code=303)


def _tokens_body(ctx: PageContext, services: ServicesDep, created: tuple[str, str] | None = None) -> str:
    with services.db.session() as db:
        listed = tokens.list_tokens(db, ctx.principal.environment_id)
        rows = []
        for tk in listed:
            revoke = (f'<form method="post" action="/console/tokens/{escape(tk.id)}/revoke" class="inline">'
                      f'{ctx.csrf_input()}<button type="submit">{ctx.t("revoke")}</button></form>'
                      if ctx.principal.can_write and tk.revoked_at is None else "")
            perm = ctx.t("full") if tk.permission == "full" else ctx.t("read_only_perm")
            status = ctx.t("revoked") if tk.revoked_at is not None else ""
            rows.append(f'<tr data-token-id="{escape(tk.id)}"><td><code>{escape(tk.id)}</code></td>'
                        f'<td>{escape(tk.name)}</td><td>{perm}</td><td>{ctx.date(tk.created_at)}</td>'
                        f'<td class="status">{status}</td><td>{revoke}</td></tr>')
    shown = (f'<div class="secret" id="new-token"><p>{ctx.t("secret_once")}</p><p><code>{escape(created[0])}</code>'
             f'</p><p><code class="token-secret">{escape(created[1])}</code></p></div>' if created else "")
    form = (f'<form method="post" action="/console/tokens" id="create-token">{ctx.csrf_input()}'
            f'<label>{ctx.t("name")} <input name="name" maxlength="200"></label>'
            f'<label>{ctx.t("permission")} <select name="permission"><option value="full">{ctx.t("full")}</option>'
            f'<option value="read_only">{ctx.t("read_only_perm")}</option></select></label>'
            f'<button type="submit">{ctx.t("create_token")}</button></form>' if ctx.principal.can_write else "")
    return (f'<h1>{ctx.t("tokens")}</h1>{shown}{form}<table id="tokens"><thead><tr><th>ID</th>'
            f'<th>{ctx.t("name")}</th><th>{ctx.t("permission")}</th><th>{ctx.t("created")}</th><th></th><th></th>'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')


@router.get("/tokens")
def tokens_page(request: Request, services: ServicesDep) -> Response:
    """The environment's access tokens (secrets are never shown again)."""
    ctx = page_context(request, services)
    if not isinstance(ctx, PageContext):
        return ctx
    return ctx.page(_tokens_body(ctx, services))


@router.post("/tokens")
def create_token(request: Request, services: ServicesDep, csrf: Annotated[str, Form(max_length=128)] = "",
                 name: Annotated[str, Form(max_length=200)] = "",
                 permission: Annotated[Literal["full", "read_only"], Form()] = "full") -> Response:
    """A new token; the page that answers shows its secret, once (never in a URL)."""
    ctx = write_context(request, services, csrf)
    if not isinstance(ctx, PageContext):
        return ctx
    with services.db.session() as db:
        token, secret = tokens.create_token(db, ctx.principal.environment_id, name, permission)
        token_id = token.id
    return ctx.page(_tokens_body(ctx, services, (token_id, secret)), 201)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, services: ServicesDep, token_id: str,
                 csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    """Revoke a token of the environment (it stops working at once)."""
    ctx = write_context(request, services, csrf)
    if not isinstance(ctx, PageContext):
        return ctx
    try:
        with services.db.session() as db:
            tokens.revoke_token(db, token_id[:64], ctx.principal.environment_id)
    except VidlakeError as exc:
        return ctx.page(f'<p class="error">{escape(exc.messages[0])}</p>', exc.status_code)
    return RedirectResponse("/console/tokens", status_code=303)
