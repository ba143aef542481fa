"""Webhook endpoints of an environment (``/system/v1/webhooks``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status
from sqlalchemy import func, select

from vidlake.api.deps import PrincipalDep, ServicesDep, SessionDep
from vidlake.api.schemas.common import Data, Page, page_params
from vidlake.api.schemas.system import WebhookCreate, WebhookPublic
from vidlake.api.serialize import ts
from vidlake.core.clock import now
from vidlake.core.errors import InvalidParameters
from vidlake.core.ids import new_id, new_secret
from vidlake.core.netguard import check_url
from vidlake.db.models import WebhookEndpoint
from vidlake.db.tenancy import get_owned

router = APIRouter(prefix="/system/v1/webhooks", tags=["webhooks"])

MAX_ENDPOINTS = 20


def _public(w: WebhookEndpoint, secret: str | None = None) -> WebhookPublic:
    return WebhookPublic(id=w.id, url=w.url, created_at=ts(w.created_at), secret=secret)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_webhook(
    body: WebhookCreate, principal: PrincipalDep, session: SessionDep, services: ServicesDep
) -> Data[WebhookPublic]:
    """Register an endpoint. Loopback, private and link-local targets are refused unless allowed."""
    url = check_url(body.url, field="url", allow_private=services.settings.allow_private_networks)
    count = session.scalar(select(func.count()).select_from(WebhookEndpoint)
                           .where(WebhookEndpoint.environment_id == principal.environment_id))
    if (count or 0) >= MAX_ENDPOINTS:
        raise InvalidParameters(f"url: at most {MAX_ENDPOINTS} webhook endpoints per environment")
    endpoint = WebhookEndpoint(id=new_id(), environment_id=principal.environment_id, url=url,
                               secret=new_secret(), created_at=now())
    session.add(endpoint)
    return Data(data=_public(endpoint, endpoint.secret))


@router.get("")
def list_webhooks(principal: PrincipalDep, session: SessionDep,
                  page: Page = Depends(page_params)) -> Data[list[WebhookPublic]]:
    """Endpoints of the caller's environment."""
    rows = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.environment_id == principal.environment_id)
                           .order_by(WebhookEndpoint.created_at).offset(page.offset).limit(page.limit))
    return Data(data=[_public(w) for w in rows])


def _get(session: SessionDep, environment_id: str, webhook_id: str) -> WebhookEndpoint:
    return get_owned(session, WebhookEndpoint, webhook_id, environment_id, "webhook")


@router.get("/{webhook_id}")
def get_webhook(webhook_id: str, principal: PrincipalDep, session: SessionDep) -> Data[WebhookPublic]:
    """One endpoint."""
    return Data(data=_public(_get(session, principal.environment_id, webhook_id)))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: str, principal: PrincipalDep, session: SessionDep) -> None:
    """Stop delivering to an endpoint."""
    session.delete(_get(session, principal.environment_id, webhook_id))
