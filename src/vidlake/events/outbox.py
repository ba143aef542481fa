"""Events: stored first (the outbox), then one delivery job per webhook endpoint, in the same
transaction as the state change that caused them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.ids import new_id
from vidlake.db.models import Event, WebhookDelivery, WebhookEndpoint
from vidlake.jobs.queue import enqueue

DELIVER_KIND = "webhook.deliver"
DELIVERY_ATTEMPTS = 12


def delivery_job_key(delivery_id: str) -> str:
    """The idempotency key of the ``webhook.deliver`` job of a delivery (how a delivery finds its job)."""
    return f"webhook.deliver:{delivery_id}"


def emit(
    session: Session, environment_id: str, type_: str, object_type: str, object_id: str, data: dict[str, Any],
    endpoint_ids: list[str] | None = None,
) -> str:
    """Record event ``type_`` about ``object_type``/``object_id`` and queue its deliveries: to every endpoint
    of the environment, or only to ``endpoint_ids`` (those of the environment; a test event)."""
    event = Event(
        id=new_id(), environment_id=environment_id, type=type_, object_type=object_type,
        object_id=object_id, data=data, created_at=now(),
    )
    session.add(event)
    query = select(WebhookEndpoint.id).where(WebhookEndpoint.environment_id == environment_id)
    if endpoint_ids is not None:
        query = query.where(WebhookEndpoint.id.in_(endpoint_ids))
    endpoints = session.scalars(query)
    for endpoint_id in endpoints:
        delivery = WebhookDelivery(id=new_id(), event_id=event.id, endpoint_id=endpoint_id, state="pending")
        session.add(delivery)
        enqueue(session, DELIVER_KIND, {"delivery_id": delivery.id}, environment_id=environment_id,
                max_attempts=DELIVERY_ATTEMPTS, idempotency_key=delivery_job_key(delivery.id))
    return event.id


def event_body(event: Event, environment_name: str, attempts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON body POSTed to webhook endpoints, Mux's envelope: ``created_at`` in ISO 8601 (UTC, as Mux
    sends it), ``data`` the resource as the API returns it, ``attempts`` the earlier delivery attempts."""
    created = datetime.fromtimestamp(event.created_at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "type": event.type,
        "id": event.id,
        "created_at": created,
        "object": {"type": event.object_type, "id": event.object_id},
        "environment": {"id": event.environment_id, "name": environment_name},
        "data": event.data,
        "attempts": attempts or [],
        "accessor_source": None,
        "accessor": None,
        "request_id": None,
    }
