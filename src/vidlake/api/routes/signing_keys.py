"""Signing keys for signed playback (``/system/v1/signing-keys``, as Mux; also under Mux's legacy
``/video/v1/signing-keys`` paths, which mux-python's ``URLSigningKeysApi`` calls)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response, status
from sqlalchemy import select

from vidlake.api.deps import PrincipalDep, SessionDep
from vidlake.api.schemas.common import Page, page_params
from vidlake.db.models import SigningKey
from vidlake.db.tenancy import get_owned
from vidlake.deliver.signing import create_signing_key

router = APIRouter(prefix="/system/v1/signing-keys", tags=["signing keys"])
legacy_router = APIRouter(prefix="/video/v1/signing-keys", tags=["signing keys"])


def _public(key: SigningKey, private_key: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": key.id, "created_at": str(int(key.created_at))}
    if private_key is not None:
        out["private_key"] = private_key
    return out


@legacy_router.post("", status_code=status.HTTP_201_CREATED)
@router.post("", status_code=status.HTTP_201_CREATED)
def create_key(principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """A new RS256 key; ``private_key`` (base64 of the PEM) is in this response only."""
    key, private = create_signing_key(session, principal.environment_id)
    return {"data": _public(key, private)}


@legacy_router.get("")
@router.get("")
def list_keys(principal: PrincipalDep, session: SessionDep, page: Page = Depends(page_params)) -> dict[str, Any]:
    """Keys of the environment."""
    rows = session.scalars(select(SigningKey).where(SigningKey.environment_id == principal.environment_id)
                           .order_by(SigningKey.created_at).offset(page.offset).limit(page.limit))
    return {"data": [_public(k) for k in rows]}


def _get(session: SessionDep, environment_id: str, key_id: str) -> SigningKey:
    return get_owned(session, SigningKey, key_id, environment_id, "signing key")


@legacy_router.get("/{key_id}")
@router.get("/{key_id}")
def get_key(key_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """One key (without its private half)."""
    return {"data": _public(_get(session, principal.environment_id, key_id))}


@legacy_router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_key(key_id: str, principal: PrincipalDep, session: SessionDep) -> Response:
    """Delete a key: tokens signed with it stop working."""
    session.delete(_get(session, principal.environment_id, key_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
