"""Templates (``/video/v1/templates``): edit documents with ``{{placeholders}}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response, status
from sqlalchemy import select

from vidlake.api.deps import PrincipalDep, SessionDep
from vidlake.api.schemas.common import Page, page_params
from vidlake.api.schemas.edits import TemplateCreate
from vidlake.db.models import Template
from vidlake.edit import service as svc

router = APIRouter(prefix="/video/v1/templates", tags=["templates"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_template(body: TemplateCreate, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Store a template; the answer lists its placeholders."""
    template = svc.create_template(session, principal.environment_id, body.name, body.document(),
                                   description=body.description, defaults=body.defaults)
    return {"data": svc.template_public(template)}


@router.get("")
def list_templates(principal: PrincipalDep, session: SessionDep,
                   page: Page = Depends(page_params)) -> dict[str, Any]:
    """Templates of the environment, newest first."""
    rows = session.scalars(select(Template).where(Template.environment_id == principal.environment_id)
                           .order_by(Template.created_at.desc(), Template.id).offset(page.offset).limit(page.limit))
    return {"data": [svc.template_public(t) for t in rows]}


@router.get("/{template_id}")
def get_template(template_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """One template."""
    return {"data": svc.template_public(svc.get_template(session, principal.environment_id, template_id))}


@router.delete("/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_template(template_id: str, principal: PrincipalDep, session: SessionDep) -> Response:
    """Delete a template (edits made from it are kept)."""
    session.delete(svc.get_template(session, principal.environment_id, template_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
