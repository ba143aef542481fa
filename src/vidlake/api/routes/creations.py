"""Creations (``/video/v1/creations``): one-click videos cut to music, and live highlights."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, status

from vidlake.api.deps import PrincipalDep, ServicesDep, SessionDep
from vidlake.api.schemas.common import Page, page_params
from vidlake.api.schemas.creations import CreationCreate
from vidlake.create import service as svc

router = APIRouter(prefix="/video/v1/creations", tags=["creations"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_creation(body: CreationCreate, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Check the inputs and music against the library (400 naming the field) and queue the creation."""
    creation = svc.create_creation(session, principal.environment_id, body)
    return {"data": svc.creation_public(session, creation)}


@router.get("")
def list_creations(principal: PrincipalDep, session: SessionDep, page: Page = Depends(page_params)) -> dict[str, Any]:
    """Creations of the environment, newest first."""
    rows = svc.list_creations(session, principal.environment_id, page.offset, page.limit)
    for row in rows:
        svc.refresh(session, row)
    return {"data": [svc.creation_public(session, c) for c in rows]}


@router.get("/{creation_id}")
def get_creation(creation_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """One creation with its plan: every candidate shot's scores, the chosen shots and why."""
    creation = svc.get_creation(session, principal.environment_id, creation_id)
    rows = svc.refresh(session, creation)
    return {"data": svc.creation_public(session, creation, edits=list(rows), plan=True)}


@router.post("/{creation_id}/cancel")
def cancel_creation(creation_id: str, principal: PrincipalDep, session: SessionDep,
                    services: ServicesDep) -> dict[str, Any]:
    """Cancel a queued, analysing or rendering creation (409 once completed or errored)."""
    creation = svc.get_creation(session, principal.environment_id, creation_id)
    svc.refresh(session, creation)
    svc.cancel_creation(session, services, creation)
    return {"data": svc.creation_public(session, creation)}
