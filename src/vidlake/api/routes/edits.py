"""Edits (``/video/v1/edits``): render a timeline document (or a template) into a new asset."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, status

from vidlake.api.deps import PrincipalDep, ServicesDep, SessionDep
from vidlake.api.schemas.common import Page, page_params
from vidlake.api.schemas.edits import EditCreate
from vidlake.edit import edit_json_schema
from vidlake.edit import service as svc

router = APIRouter(prefix="/video/v1/edits", tags=["edits"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_edit(body: EditCreate, principal: PrincipalDep, session: SessionDep,
                services: ServicesDep) -> dict[str, Any]:
    """Validate the document against the library (400 naming every bad field) and queue its render."""
    env_id = principal.environment_id
    if body.template_id is not None:
        template = svc.get_template(session, env_id, body.template_id)
        document = svc.fill_template(template, body.merge or {})
    else:
        document = body.document()
    edit = svc.create_edit(session, services, env_id, document, preview=body.preview,
                           request=body.asset_request(), template_id=body.template_id)
    return {"data": svc.edit_public(session, edit)}


@router.get("/schema")
def edit_schema() -> dict[str, Any]:
    """The JSON Schema of the edit document (``{"timeline": ..., "output": ...}``)."""
    return {"data": edit_json_schema()}


@router.get("")
def list_edits(principal: PrincipalDep, session: SessionDep, page: Page = Depends(page_params),
               asset_id: str | None = None) -> dict[str, Any]:
    """Edits of the environment, newest first (``asset_id``: the edit that made that asset)."""
    rows = svc.list_edits(session, principal.environment_id, page.offset, page.limit, asset_id)
    return {"data": [svc.edit_public(session, e) for e in rows]}


@router.get("/{edit_id}")
def get_edit(edit_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """One edit, with its document and ``details.filter_graph`` once compiled."""
    edit = svc.get_edit(session, principal.environment_id, edit_id)
    return {"data": svc.edit_public(session, edit, details=True)}


@router.post("/{edit_id}/cancel")
def cancel_edit(edit_id: str, principal: PrincipalDep, session: SessionDep,
                services: ServicesDep) -> dict[str, Any]:
    """Cancel a queued or rendering edit (409 once completed or errored)."""
    edit = svc.get_edit(session, principal.environment_id, edit_id)
    svc.cancel_edit(session, services, edit)
    return {"data": svc.edit_public(session, edit)}
