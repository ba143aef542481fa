"""Console webhooks (``/console/webhooks``: endpoints, add, delete, send a test event, the delivery log
with retry) and usage (``/console/usage``: encoded, stored and delivered minutes per day, UTC).

Endpoints are checked by the same outbound-connection guard as the API (``core.netguard``); a test event
(``webhook.test``) and a retry go through the outbox and the ``webhook.deliver`` job like any event."""

from __future__ import annotations

import time
from html import escape
from typing import Annotated, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vidlake.api.deps import ServicesDep
from vidlake.console.context import PageContext, page_context, write_context
from vidlake.core.clock import now
from vidlake.core.errors import InvalidParameters
from vidlake.core.ids import new_id, new_secret
from vidlake.core.netguard import check_url
from vidlake.db.models import Asset, DeliveryUsage, Event, WebhookDelivery, WebhookEndpoint
from vidlake.events.outbox import DELIVER_KIND, DELIVERY_ATTEMPTS, emit
from vidlake.jobs.queue import enqueue

_Row = TypeVar("_Row")
router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
MAX_ENDPOINTS = 20
LOG_ROWS = 50
USAGE_DAYS = 30


def _webhooks_body(ctx: PageContext, services: ServicesDep, created: WebhookEndpoint | None = None,
                   error: str = "") -> str:
    env = ctx.principal.environment_id
    write = ctx.principal.can_write
    with services.db.session() as db:
        endpoints = list(db.scalars(select(WebhookEndpoint).where(WebhookEndpoint.environment_id == env)
                                    .order_by(WebhookEndpoint.created_at)))
        log = db.execute(select(WebhookDelivery, Event, WebhookEndpoint.url)
                         .join(Event, Event.id == WebhookDelivery.event_id)
                         .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                         .where(WebhookEndpoint.environment_id == env)
                         .order_by(Event.created_at.desc()).limit(LOG_ROWS)).all()
    rows = "".join(
        f'<tr data-webhook-id="{escape(w.id)}"><td><code>{escape(w.url)}</code></td><td>{ctx.date(w.created_at)}</td>'
        + (f'<td><form method="post" action="/console/webhooks/{escape(w.id)}/test" class="inline">{ctx.csrf_input()}'
           f'<button type="submit" class="send-test">{ctx.t("send_test")}</button></form> '
           f'<form method="post" action="/console/webhooks/{escape(w.id)}/delete" class="inline">{ctx.csrf_input()}'
           f'<button type="submit">{ctx.t("delete")}</button></form></td>' if write else "<td></td>") + "</tr>"
        for w in endpoints)
    deliveries = "".join(
        f'<tr data-delivery-id="{escape(d.id)}" class="{escape(d.state)}"><td>{ctx.date(e.created_at)}</td>'
        f'<td><code>{escape(e.type)}</code></td><td><code>{escape(url)}</code></td>'
        f'<td class="status">{ctx.t(d.state) if d.state in ("pending", "delivered", "failed") else escape(d.state)}'
        f'</td><td>{d.attempts}</td><td>{d.last_status or ""} {escape((d.last_error or "")[:200])}</td><td>'
        + (f'<form method="post" action="/console/webhooks/deliveries/{escape(d.id)}/retry" class="inline">'
           f'{ctx.csrf_input()}<button type="submit" class="retry">{ctx.t("retry")}</button></form>'
           if write and d.state == "failed" else "") + "</td></tr>"
        for d, e, url in log)
    shown = (f'<div class="secret" id="new-webhook"><p>{ctx.t("secret_once")}</p>'
             f'<p><code class="webhook-secret">{escape(created.secret)}</code></p></div>' if created else "")
    problem = f'<p class="error">{escape(error)}</p>' if error else ""
    form = (f'<form method="post" action="/console/webhooks" id="add-webhook">{ctx.csrf_input()}'
            f'<label>URL <input name="url" type="url" maxlength="2000" required></label>'
            f'<button type="submit">{ctx.t("add_webhook")}</button></form>' if write else "")
    return (f'<h1>{ctx.t("webhooks")}</h1>{problem}{shown}{form}<table id="webhooks"><tbody>{rows}</tbody></table>'
            f'<h2>{ctx.t("deliveries")}</h2><table id="deliveries"><thead><tr><th>{ctx.t("created")}</th>'
            f'<th>{ctx.t("event")}</th><th>URL</th><th>{ctx.t("status")}</th><th>{ctx.t("attempts")}</th>'
            f'<th>{ctx.t("error")}</th><th></th></tr></thead><tbody>{deliveries}</tbody></table>')


@router.get("/webhooks")
def webhooks_page(request: Request, services: ServicesDep) -> Response:
    """The environment's endpoints and their latest deliveries."""
    ctx = page_context(request, services)
    return ctx.page(_webhooks_body(ctx, services)) if isinstance(ctx, PageContext) else ctx


@router.post("/webhooks")
def add_webhook(request: Request, services: ServicesDep, csrf: Annotated[str, Form(max_length=128)] = "",
                url: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """A new endpoint; the answer shows its signing secret once."""
    ctx = write_context(request, services, csrf)
    if not isinstance(ctx, PageContext):
        return ctx
    try:
        checked = check_url(url, field="url", allow_private=services.settings.allow_private_networks)
    except InvalidParameters as exc:
        return ctx.page(_webhooks_body(ctx, services, error=f'{ctx.t("bad_url")}: {exc.messages[0]}'), 400)
    with services.db.session() as db:
        count = db.scalar(select(func.count()).select_from(WebhookEndpoint)
                          .where(WebhookEndpoint.environment_id == ctx.principal.environment_id)) or 0
        if count >= MAX_ENDPOINTS:
            return ctx.page(_webhooks_body(ctx, services, error=f"url: at most {MAX_ENDPOINTS} endpoints"), 400)
        endpoint = WebhookEndpoint(id=new_id(), environment_id=ctx.principal.environment_id, url=checked,
                                   secret=new_secret(), created_at=now())
        db.add(endpoint)
        db.flush()
        db.expunge(endpoint)
    return ctx.page(_webhooks_body(ctx, services, created=endpoint), 201)


def _owned(db: Session, model: type[_Row], object_id: str, environment_id: str) -> _Row | None:
    """The row ``object_id`` of ``model`` if it belongs to ``environment_id``."""
    row = db.get(model, object_id[:64])
    return row if row is not None and getattr(row, "environment_id", None) == environment_id else None


@router.post("/webhooks/{webhook_id}/delete")
def delete_webhook(request: Request, services: ServicesDep, webhook_id: str,
                   csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    """Stop delivering to an endpoint."""
    ctx = write_context(request, services, csrf)
    if not isinstance(ctx, PageContext):
        return ctx
    with services.db.session() as db:
        endpoint = _owned(db, WebhookEndpoint, webhook_id, ctx.principal.environment_id)
        if endpoint is not None:
            db.delete(endpoint)
    return RedirectResponse("/console/webhooks", status_code=303)


@router.post("/webhooks/{webhook_id}/test")
def send_test(request: Request, services: ServicesDep, webhook_id: str,
              csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    """A ``webhook.test`` event delivered to this endpoint only."""
    ctx = write_context(request, services, csrf)
    if not isinstance(ctx, PageContext):
        return ctx
    env = ctx.principal.environment_id
    with services.db.session() as db:
        endpoint = _owned(db, WebhookEndpoint, webhook_id, env)
        if endpoint is None:
            return ctx.page(f'<p class="error">{ctx.t("none")}</p>', 404)
        emit(db, env, "webhook.test", "webhook", endpoint.id, {"id": endpoint.id, "sent_from": "console"},
             endpoint_ids=[endpoint.id])
    return RedirectResponse("/console/webhooks", status_code=303)


@router.post("/webhooks/deliveries/{delivery_id}/retry")
def retry_delivery(request: Request, services: ServicesDep, delivery_id: str,
                   csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    """Deliver a failed delivery again (a new ``webhook.deliver`` job for the same delivery)."""
    ctx = write_context(request, services, csrf)
    if not isinstance(ctx, PageContext):
        return ctx
    env = ctx.principal.environment_id
    with services.db.session() as db:
        found = db.execute(select(WebhookDelivery)
                           .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                           .where(WebhookDelivery.id == delivery_id[:64], WebhookEndpoint.environment_id == env)
                           ).scalar_one_or_none()
        if found is None:
            return ctx.page(f'<p class="error">{ctx.t("none")}</p>', 404)
        if found.state == "failed":
            found.state = "pending"
            enqueue(db, DELIVER_KIND, {"delivery_id": found.id}, environment_id=env, max_attempts=DELIVERY_ATTEMPTS)
    return RedirectResponse("/console/webhooks", status_code=303)


@router.get("/usage")
def usage_page(request: Request, services: ServicesDep) -> Response:
    """Per day (UTC) of the last 30: minutes encoded (assets that became ready), stored at the day's end
    (ready assets not deleted by then) and delivered (HLS media served)."""
    ctx = page_context(request, services)
    if not isinstance(ctx, PageContext):
        return ctx
    env = ctx.principal.environment_id
    today = int(time.time()) // 86400 * 86400
    first = today - (USAGE_DAYS - 1) * 86400
    with services.db.session() as db:
        assets = db.execute(select(Asset.duration, Asset.ready_at, Asset.deleted_at).where(
            Asset.environment_id == env, Asset.status == "ready", Asset.ready_at.is_not(None))).all()
        delivered = db.execute(select(DeliveryUsage.hour, func.sum(DeliveryUsage.seconds)).where(
            DeliveryUsage.environment_id == env, DeliveryUsage.hour >= first).group_by(DeliveryUsage.hour)).all()
    by_day: dict[int, float] = {}
    for hour, seconds in delivered:
        by_day[int(hour) // 86400 * 86400] = by_day.get(int(hour) // 86400 * 86400, 0.0) + float(seconds or 0)
    ready = [(float(d or 0.0), float(r), g) for d, r, g in assets if r is not None]
    rows = []
    for day in range(today, first - 1, -86400):
        end = day + 86400
        encoded = sum(d for d, at, _ in ready if day <= at < end)
        stored = sum(d for d, at, gone in ready if at < end and (gone is None or gone >= end))
        rows.append(f'<tr data-day="{day}"><td>{escape(time.strftime("%Y-%m-%d", time.gmtime(day)))}</td>'
                    f'<td class="encoded">{encoded / 60:.1f}</td><td class="stored">{stored / 60:.1f}</td>'
                    f'<td class="delivered">{by_day.get(day, 0.0) / 60:.1f}</td></tr>')
    return ctx.page(f'<h1>{ctx.t("usage")}</h1><table id="usage"><thead><tr><th>{ctx.t("day")}</th>'
                    f'<th>{ctx.t("encoded_minutes")}</th><th>{ctx.t("stored_minutes")}</th>'
                    f'<th>{ctx.t("delivered_minutes")}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
