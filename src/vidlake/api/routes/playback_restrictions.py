"""Playback restrictions (``/video/v1/playback-restrictions``, as Mux): create, list, get, delete, and
replace the ``referrer`` or ``user_agent`` part. Enforcement is ``deliver.restrictions``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import Field, field_validator
from sqlalchemy import select

from vidlake.api.deps import PrincipalDep, SessionDep
from vidlake.api.schemas.common import Page, StrictModel, page_params
from vidlake.api.serialize import ts
from vidlake.core.clock import now
from vidlake.core.ids import new_id
from vidlake.db.models import PlaybackRestriction
from vidlake.db.tenancy import get_owned
from vidlake.deliver.restrictions import DEFAULT_REFERRER, DEFAULT_USER_AGENT, check_domain

router = APIRouter(prefix="/video/v1/playback-restrictions", tags=["playback restrictions"])


class ReferrerRestriction(StrictModel):
    """Allowed Referer domains (``example.com``, ``*.example.com``, ``*``); an empty list allows none."""

    allowed_domains: list[str] = Field(default_factory=lambda: ["*"], max_length=100)
    allow_no_referrer: bool = True

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return [check_domain(d) for d in value]


class UserAgentRestriction(StrictModel):
    """Whether requests without a User-Agent, or with a high-risk one, may play."""

    allow_no_user_agent: bool = True
    allow_high_risk_user_agent: bool = True


class RestrictionCreate(StrictModel):
    """``POST /video/v1/playback-restrictions``; an omitted part restricts nothing."""

    referrer: ReferrerRestriction | None = None
    user_agent: UserAgentRestriction | None = None


def _public(row: PlaybackRestriction) -> dict[str, Any]:
    return {"id": row.id, "created_at": ts(row.created_at), "updated_at": ts(row.updated_at),
            "referrer": {**DEFAULT_REFERRER, **(row.referrer or {})},
            "user_agent": {**DEFAULT_USER_AGENT, **(row.user_agent or {})}}


def _get(session: SessionDep, environment_id: str, restriction_id: str) -> PlaybackRestriction:
    return get_owned(session, PlaybackRestriction, restriction_id, environment_id, "playback restriction")


@router.post("", status_code=status.HTTP_201_CREATED)
def create_restriction(body: RestrictionCreate, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """A new restriction; name it in a token's ``playback_restriction_id`` claim to apply it."""
    row = PlaybackRestriction(id=new_id(), environment_id=principal.environment_id,
                              referrer=body.referrer.model_dump() if body.referrer else {},
                              user_agent=body.user_agent.model_dump() if body.user_agent else {},
                              created_at=now(), updated_at=now())
    session.add(row)
    return {"data": _public(row)}


@router.get("")
def list_restrictions(principal: PrincipalDep, session: SessionDep,
                      page: Page = Depends(page_params)) -> dict[str, Any]:
    """Restrictions of the environment, oldest first."""
    rows = session.scalars(select(PlaybackRestriction)
                           .where(PlaybackRestriction.environment_id == principal.environment_id)
                           .order_by(PlaybackRestriction.created_at, PlaybackRestriction.id)
                           .offset(page.offset).limit(page.limit))
    return {"data": [_public(r) for r in rows]}


@router.get("/{restriction_id}")
def get_restriction(restriction_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """One restriction."""
    return {"data": _public(_get(session, principal.environment_id, restriction_id))}


@router.delete("/{restriction_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_restriction(restriction_id: str, principal: PrincipalDep, session: SessionDep) -> Response:
    """Delete a restriction: tokens that name it stop working (an unknown restriction is refused)."""
    session.delete(_get(session, principal.environment_id, restriction_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{restriction_id}/referrer")
def update_referrer(restriction_id: str, body: ReferrerRestriction, principal: PrincipalDep,
                    session: SessionDep) -> dict[str, Any]:
    """Replace the referrer part."""
    row = _get(session, principal.environment_id, restriction_id)
    row.referrer, row.updated_at = body.model_dump(), now()
    return {"data": _public(row)}


@router.put("/{restriction_id}/user_agent")
def update_user_agent(restriction_id: str, body: UserAgentRestriction, principal: PrincipalDep,
                      session: SessionDep) -> dict[str, Any]:
    """Replace the user agent part."""
    row = _get(session, principal.environment_id, restriction_id)
    row.user_agent, row.updated_at = body.model_dump(), now()
    return {"data": _public(row)}
