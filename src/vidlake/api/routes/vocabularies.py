"""Transcription vocabularies (``/video/v1/transcription-vocabularies``): CRUD, Mux's shape."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import Field

from vidlake.api.deps import PrincipalDep, SessionDep
from vidlake.api.schemas.common import Page, StrictModel, page_params
from vidlake.speech import vocabularies as svc

router = APIRouter(prefix="/video/v1/transcription-vocabularies", tags=["transcription vocabularies"])


class VocabularyCreate(StrictModel):
    """``POST``: ``phrases`` bias caption recognition (brand and product names, course terms)."""

    name: str | None = Field(None, max_length=200)
    phrases: list[str] = Field(min_length=1, max_length=svc.MAX_PHRASES)
    passthrough: str | None = Field(None, max_length=255)


class VocabularyUpdate(StrictModel):
    """``PUT``: the fields given replace the stored ones."""

    name: str | None = Field(None, max_length=200)
    phrases: list[str] | None = Field(None, min_length=1, max_length=svc.MAX_PHRASES)
    passthrough: str | None = Field(None, max_length=255)


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: VocabularyCreate, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Create a vocabulary."""
    row = svc.create(session, principal.environment_id, body.name, body.phrases, body.passthrough)
    return {"data": svc.public(row)}


@router.get("")
def list_all(principal: PrincipalDep, session: SessionDep, page: Page = Depends(page_params)) -> dict[str, Any]:
    """The environment's vocabularies, newest first."""
    return {"data": [svc.public(r) for r in svc.list_rows(session, principal.environment_id, page.offset,
                                                           page.limit)]}


@router.get("/{vocabulary_id}")
def get(vocabulary_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """One vocabulary."""
    return {"data": svc.public(svc.get(session, principal.environment_id, vocabulary_id))}


@router.put("/{vocabulary_id}")
def update(vocabulary_id: str, body: VocabularyUpdate, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Replace the given fields (later caption jobs use the new phrases)."""
    row = svc.get(session, principal.environment_id, vocabulary_id)
    svc.update(row, body.model_dump(include=body.model_fields_set))
    return {"data": svc.public(row)}


@router.delete("/{vocabulary_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(vocabulary_id: str, principal: PrincipalDep, session: SessionDep) -> Response:
    """Delete a vocabulary."""
    session.delete(svc.get(session, principal.environment_id, vocabulary_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
