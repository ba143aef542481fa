"""Environments (tenant boundaries) and access tokens (HTTP Basic id:secret, secret stored hashed).

Secrets are 256 random bits, so a plain SHA-256 digest is a safe verifier (no password stretching
is needed for high-entropy secrets); comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import InvalidParameters, NotFound
from vidlake.core.ids import new_id, new_secret
from vidlake.db.models import AccessToken, Environment
from vidlake.db.session import Database

Permission = Literal["full", "read_only"]
PERMISSIONS: tuple[str, ...] = ("full", "read_only")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token and its environment."""

    token_id: str
    environment_id: str
    permission: str

    @property
    def can_write(self) -> bool:
        """True for full-permission tokens."""
        return self.permission == "full"


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a token secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_environment(session: Session, name: str) -> Environment:
    """A new environment called ``name``."""
    if not name.strip() or len(name) > 200:
        raise InvalidParameters("name: must be 1 to 200 characters")
    env = Environment(id=new_id(), name=name.strip(), created_at=now())
    session.add(env)
    session.flush()
    return env


def create_token(
    session: Session,
    environment_id: str,
    name: str = "",
    permission: str = "full",
    token_id: str | None = None,
    secret: str | None = None,
) -> tuple[AccessToken, str]:
    """A new token in ``environment_id``; returns it and its secret (shown once, never stored)."""
    if permission not in PERMISSIONS:
        raise InvalidParameters(f"permission: must be one of {', '.join(PERMISSIONS)}")
    if session.get(Environment, environment_id) is None:
        raise NotFound(f"environment {environment_id!r} not found")
    secret = secret or new_secret()
    token = AccessToken(
        id=token_id or str(uuid.uuid4()),
        environment_id=environment_id,
        name=name[:200],
        secret_hash=hash_secret(secret),
        permission=permission,
        created_at=now(),
    )
    session.add(token)
    session.flush()
    return token, secret


def authenticate(session: Session, token_id: str, secret: str) -> Principal | None:
    """The principal for ``token_id``/``secret``, or None if unknown, wrong or revoked."""
    if len(token_id) > 64 or len(secret) > 256:
        return None
    token = session.get(AccessToken, token_id)
    expected = token.secret_hash if token is not None else hash_secret("x")
    ok = hmac.compare_digest(expected, hash_secret(secret))
    if token is None or not ok or token.revoked_at is not None:
        return None
    return Principal(token_id=token.id, environment_id=token.environment_id, permission=token.permission)


def list_tokens(session: Session, environment_id: str | None = None) -> list[AccessToken]:
    """Tokens (optionally of one environment), oldest first."""
    query = select(AccessToken).order_by(AccessToken.created_at)
    if environment_id is not None:
        query = query.where(AccessToken.environment_id == environment_id)
    return list(session.scalars(query))


def revoke_token(session: Session, token_id: str, environment_id: str | None = None) -> AccessToken:
    """Revoke ``token_id`` (idempotent)."""
    token = session.get(AccessToken, token_id)
    if token is None or (environment_id is not None and token.environment_id != environment_id):
        raise NotFound(f"access token {token_id!r} not found")
    if token.revoked_at is None:
        token.revoked_at = now()
    return token


def default_environment(session: Session) -> Environment:
    """The oldest environment, created as "Development" if there is none."""
    env = session.scalar(select(Environment).order_by(Environment.created_at).limit(1))
    return env or create_environment(session, "Development")


def ensure_bootstrap(db: Database, pair: tuple[str, str] | None) -> bool:
    """Create the bootstrap token if no access token exists yet. True if created."""
    if pair is None:
        return False
    with db.session() as session:
        if session.scalar(select(func.count()).select_from(AccessToken)):
            return False
        env = default_environment(session)
        create_token(session, env.id, name="bootstrap", token_id=pair[0], secret=pair[1])
    return True
