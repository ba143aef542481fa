"""Typed dependencies: the services, the database session, the calling principal."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from vidlake.auth.tokens import Principal, authenticate
from vidlake.core.errors import Forbidden, Unauthorized
from vidlake.runtime import Services

_READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    """A database session committed when the route function returns, before the response is sent
    (``scope="function"``): a client that reads right after a write sees it, and a failed commit is an
    error response rather than a lost write after a success was already sent."""
    with services.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def parse_basic(header: str | None) -> tuple[str, str]:
    """(id, secret) from an ``Authorization: Basic`` header. Raises ``Unauthorized``."""
    if not header:
        raise Unauthorized("missing Authorization header: use HTTP Basic with your access token id and secret")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Unauthorized("Authorization: only the Basic scheme is supported")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized("Authorization: malformed Basic credentials") from exc
    token_id, sep, secret = decoded.partition(":")
    if not sep or not token_id or not secret:
        raise Unauthorized("Authorization: credentials must be token_id:token_secret")
    return token_id, secret


def get_principal(request: Request, services: ServicesDep) -> Principal:
    """The authenticated caller; read-only tokens may only read."""
    token_id, secret = parse_basic(request.headers.get("authorization"))
    with services.db.session() as session:
        principal = authenticate(session, token_id, secret)
    if principal is None:
        raise Unauthorized("invalid or revoked access token")
    if request.method not in _READ_METHODS and not principal.can_write:
        raise Forbidden("this access token is read-only")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
