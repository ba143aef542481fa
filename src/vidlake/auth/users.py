"""Console users: email + password, hashed with argon2id (argon2-cffi's default parameters:
3 passes over 64 MiB, 4 lanes); verification of an unknown email still costs one hash."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from vidlake.auth.tokens import PERMISSIONS, Principal
from vidlake.core.clock import now
from vidlake.core.errors import InvalidParameters, NotFound
from vidlake.core.ids import new_id
from vidlake.db.models import ConsoleUser, Environment

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password")
MIN_PASSWORD = 10


def _norm(email: str) -> str:
    return email.strip().lower()


def create_user(session: Session, environment_id: str, email: str, password: str,
                permission: str = "full") -> ConsoleUser:
    """A new console user; the password is stored only as its argon2id hash."""
    email = _norm(email)
    if "@" not in email or len(email) > 254:
        raise InvalidParameters("email: must be an email address of at most 254 characters")
    if len(password) < MIN_PASSWORD or len(password) > 1024:
        raise InvalidParameters(f"password: must be {MIN_PASSWORD} to 1024 characters")
    if permission not in PERMISSIONS:
        raise InvalidParameters(f"permission: must be one of {', '.join(PERMISSIONS)}")
    if session.get(Environment, environment_id) is None:
        raise NotFound(f"environment {environment_id!r} not found")
    if session.scalar(select(ConsoleUser).where(ConsoleUser.email == email)) is not None:
        raise InvalidParameters(f"email: a user {email!r} exists already")
    user = ConsoleUser(id=new_id(), environment_id=environment_id, email=email,
                       password_hash=_HASHER.hash(password), permission=permission, created_at=now())
    session.add(user)
    session.flush()
    return user


def authenticate_user(session: Session, email: str, password: str) -> Principal | None:
    """The principal of the user with this email and password, or None."""
    if len(email) > 254 or len(password) > 1024:
        return None
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.email == _norm(email)))
    try:
        _HASHER.verify(user.password_hash if user is not None else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled_at is not None:
        return None
    return Principal(token_id=f"user:{user.id}", environment_id=user.environment_id, permission=user.permission)


def principal_of(session: Session, subject: str) -> Principal | None:
    """Re-check a session's subject (``user:ID`` or a token id): None once disabled or revoked."""
    from vidlake.db.models import AccessToken

    if subject.startswith("user:"):
        user = session.get(ConsoleUser, subject[5:])
        if user is None or user.disabled_at is not None:
            return None
        return Principal(token_id=subject, environment_id=user.environment_id, permission=user.permission)
    token = session.get(AccessToken, subject)
    if token is None or token.revoked_at is not None:
        return None
    return Principal(token_id=token.id, environment_id=token.environment_id, permission=token.permission)
