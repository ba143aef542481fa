"""The ``webhook.deliver`` job: POST one event to one endpoint, signed; non-2xx means retry.

Events of one resource reach an endpoint in the order they happened: a delivery waits while an earlier
event of the same object to the same endpoint is still pending (its job deferred, attempts not counted),
and the earlier delivery, once it ends (delivered or failed), makes the next one due at once; every
:data:`ORDER_WAIT_S` a waiting delivery also looks again by itself. It waits at most
:data:`ORDER_MAX_WAIT_S` after its own event (a delivery whose retries were lost with their worker
stays pending; order then yields to delivery). Events of different resources do not wait for each
other."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import InvalidParameters
from vidlake.core.netguard import check_url, guarded_transport
from vidlake.db.models import Environment, Event, WebhookDelivery, WebhookEndpoint
from vidlake.events.outbox import DELIVER_KIND, DELIVERY_ATTEMPTS, delivery_job_key, event_body
from vidlake.events.signing import HEADER, MUX_HEADER, sign
from vidlake.jobs import queue
from vidlake.jobs.context import JobContext
from vidlake.jobs.errors import JobDeferred, PermanentJobError
from vidlake.jobs.registry import job_kind

TIMEOUT_S = 10.0
ORDER_WAIT_S = 30.0  #: a waiting delivery looks at its resource's earlier events again after this (seconds)
ORDER_MAX_WAIT_S = 6 * 3600.0  #: after this long (seconds since its event) a delivery stops waiting for order


@job_kind(DELIVER_KIND, max_attempts=DELIVERY_ATTEMPTS, timeout_s=60)
def deliver(ctx: JobContext) -> dict[str, Any]:
    """Deliver a webhook (at least once: the receiver should de-duplicate on the event id)."""
    db = ctx.services.db
    with db.session() as session:
        delivery = session.get(WebhookDelivery, ctx.payload["delivery_id"])
        if delivery is None:
            raise PermanentJobError("delivery row is gone")
        if delivery.state == "delivered":
            return {"status": delivery.last_status, "already": True}
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        event = session.get(Event, delivery.event_id)
        if endpoint is None or event is None:
            delivery.state = "failed"
            raise PermanentJobError("endpoint or event deleted")
        if now() - event.created_at < ORDER_MAX_WAIT_S and _earlier_pending(session, delivery, event):
            raise JobDeferred(ORDER_WAIT_S, f"an earlier event of {event.object_type} {event.object_id} is "
                                            "not delivered to this endpoint yet")
        env = session.get(Environment, event.environment_id)
        attempts = _earlier_attempts(delivery, endpoint)
        body = json.dumps(event_body(event, env.name if env else "", attempts), separators=(",", ":")).encode()
        url, secret, event_id = endpoint.url, endpoint.secret, event.id
        delivery.attempts += 1
    try:
        check_url(url, field="url", allow_private=ctx.services.settings.allow_private_networks)
    except InvalidParameters as exc:
        _record(ctx, None, str(exc), final="failed")
        raise PermanentJobError(str(exc)) from exc
    signature = sign(secret, body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Vidlake-Webhooks/1",
        HEADER: signature,
        MUX_HEADER: signature,
        "Vidlake-Event-Id": event_id,
    }
    try:
        allow_private = ctx.services.settings.allow_private_networks
        with httpx.Client(timeout=TIMEOUT_S, follow_redirects=False,
                          transport=guarded_transport(allow_private=allow_private)) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        _record(ctx, None, f"{type(exc).__name__}: {exc}")
        raise
    if not 200 <= response.status_code < 300:
        _record(ctx, response.status_code, f"HTTP {response.status_code}")
        raise RuntimeError(f"webhook endpoint answered HTTP {response.status_code}")
    _record(ctx, response.status_code, None, final="delivered")
    return {"status": response.status_code}


def _wake_next(session: Session, delivery: WebhookDelivery) -> None:
    """Make the next waiting delivery of the same object to the same endpoint due now."""
    event = session.get(Event, delivery.event_id)
    if event is None:
        return
    later = session.scalar(
        select(WebhookDelivery.id).join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == delivery.endpoint_id, WebhookDelivery.state == "pending",
               WebhookDelivery.id != delivery.id, Event.object_id == event.object_id)
        .order_by(Event.created_at, Event.id).limit(1))
    if later is not None:
        queue.run_now(session, delivery_job_key(later))


def _earlier_pending(session: Session, delivery: WebhookDelivery, event: Event) -> bool:
    """True while an event of the same object that happened before ``event`` waits for this endpoint."""
    earlier = (select(WebhookDelivery.id).join(Event, Event.id == WebhookDelivery.event_id)
               .where(WebhookDelivery.endpoint_id == delivery.endpoint_id, WebhookDelivery.state == "pending",
                      WebhookDelivery.id != delivery.id, Event.object_id == event.object_id,
                      or_(Event.created_at < event.created_at,
                          and_(Event.created_at == event.created_at, Event.id < event.id)))
               .limit(1))
    return session.scalar(earlier) is not None


def _earlier_attempts(delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> list[dict[str, Any]]:
    """Mux's ``attempts``: one entry per earlier try of this delivery (only the latest one's answer is
    kept, so earlier entries carry no status)."""
    out: list[dict[str, Any]] = []
    for n in range(delivery.attempts):
        latest = n == delivery.attempts - 1
        out.append({"id": f"{delivery.id}-{n + 1}", "webhook_id": endpoint.id, "address": endpoint.url,
                    "max_attempts": DELIVERY_ATTEMPTS,
                    "response_status_code": delivery.last_status if latest else None})
    return out


def _record(ctx: JobContext, status: int | None, error: str | None, final: str | None = None) -> None:
    with ctx.services.db.session() as session:
        delivery = session.get(WebhookDelivery, ctx.payload["delivery_id"])
        if delivery is None:
            return
        delivery.last_status = status
        delivery.last_error = error
        if final:
            delivery.state = final
            if final == "delivered":
                delivery.delivered_at = now()
        elif ctx.job.attempt >= ctx.job.max_attempts:
            delivery.state = "failed"
        if delivery.state != "pending":
            _wake_next(session, delivery)
