"""Environments and access tokens (``/system/v1``)."""

from __future__ import annotations

from fastapi import APIRouter, status

from vidlake.api.deps import PrincipalDep, SessionDep
from vidlake.api.schemas.common import Data
from vidlake.api.schemas.system import (
    AccessTokenCreate,
    AccessTokenPublic,
    EnvironmentCreate,
    EnvironmentCreated,
    EnvironmentPublic,
)
from vidlake.api.serialize import ts
from vidlake.auth import tokens
from vidlake.core.errors import NotFound
from vidlake.db.models import AccessToken, Environment

router = APIRouter(prefix="/system/v1", tags=["system"])


def _token(t: AccessToken, secret: str | None = None) -> AccessTokenPublic:
    return AccessTokenPublic(id=t.id, name=t.name, environment_id=t.environment_id, permission=t.permission,
                             created_at=ts(t.created_at), revoked=t.revoked_at is not None, secret=secret)


def _env(e: Environment) -> EnvironmentPublic:
    return EnvironmentPublic(id=e.id, name=e.name, created_at=ts(e.created_at))


@router.get("/environments")
def list_environments(principal: PrincipalDep, session: SessionDep) -> Data[list[EnvironmentPublic]]:
    """The caller's environment (a token sees only its own)."""
    env = session.get(Environment, principal.environment_id)
    return Data(data=[_env(env)] if env else [])


@router.post("/environments", status_code=status.HTTP_201_CREATED)
def create_environment(
    body: EnvironmentCreate, principal: PrincipalDep, session: SessionDep
) -> Data[EnvironmentCreated]:
    """A new environment and a full-permission token for it (the secret is shown once)."""
    env = tokens.create_environment(session, body.name)
    token, secret = tokens.create_token(session, env.id, name=f"{body.name} admin")
    return Data(data=EnvironmentCreated(**_env(env).model_dump(), access_token=_token(token, secret)))


@router.get("/access-tokens")
def list_access_tokens(principal: PrincipalDep, session: SessionDep) -> Data[list[AccessTokenPublic]]:
    """Tokens of the caller's environment (secrets are never shown again)."""
    return Data(data=[_token(t) for t in tokens.list_tokens(session, principal.environment_id)])


@router.post("/access-tokens", status_code=status.HTTP_201_CREATED)
def create_access_token(
    body: AccessTokenCreate, principal: PrincipalDep, session: SessionDep
) -> Data[AccessTokenPublic]:
    """A new token in the caller's environment; the response holds its secret, once."""
    token, secret = tokens.create_token(session, principal.environment_id, body.name, body.permission)
    return Data(data=_token(token, secret))


@router.get("/access-tokens/{token_id}")
def get_access_token(token_id: str, principal: PrincipalDep, session: SessionDep) -> Data[AccessTokenPublic]:
    """One token of the caller's environment."""
    token = session.get(AccessToken, token_id)
    if token is None or token.environment_id != principal.environment_id:
        raise NotFound(f"access token {token_id!r} not found")
    return Data(data=_token(token))


@router.delete("/access-tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_access_token(token_id: str, principal: PrincipalDep, session: SessionDep) -> None:
    """Revoke a token of the caller's environment (it stops working at once)."""
    tokens.revoke_token(session, token_id, principal.environment_id)
