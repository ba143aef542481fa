"""Signed playback: RS256 signing keys and JWT verification, as Mux does it.

A token is a JWT signed with the private half of a signing key the environment created
(``/system/v1/signing-keys``): ``kid`` names the key, in the header or in the claims (Mux's Node SDK
puts it in the claims; both at once must agree); claims ``sub`` = playback id, ``aud`` =
``v`` (video: playlists, segments, MP4), ``t`` (thumbnail), ``g`` (animated GIF/WebP), ``s``
(storyboard), and ``exp`` (Unix seconds). Only RS256 is accepted: ``alg: none`` and HS256 (e.g. keyed
with the public key) are refused before any key is used.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import Forbidden
from vidlake.core.ids import new_id
from vidlake.db.models import SigningKey

AUDIENCES = ("v", "t", "g", "s")
#: Longest token accepted (characters); RS256 tokens with Mux's claims are about 600.
MAX_TOKEN_CHARS = 8192
#: A compact JWS: three base64url parts (the signature may be empty, so that ``alg: none`` is refused by
#: name rather than as malformed).
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def create_signing_key(session: Session, environment_id: str) -> tuple[SigningKey, str]:
    """A new RSA-2048 key; returns the row and the private key as base64 of its PEM (shown once)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    key = SigningKey(id=new_id(), environment_id=environment_id, public_key=public_pem, created_at=now())
    session.add(key)
    return key, base64.b64encode(private_pem).decode()


def check_token(token: str | None) -> str | None:
    """``token`` if it is a well-formed JWT (three base64url parts, a JSON object header), or None when
    absent or empty; raises ``Forbidden`` otherwise, on any playback id: a malformed token is refused,
    never ignored or echoed."""
    if not token:
        return None
    if len(token) > MAX_TOKEN_CHARS:
        raise Forbidden("token: too long")
    if not _COMPACT_JWS.fullmatch(token):
        raise Forbidden("token: malformed JWT")
    _header(token)
    return token


def token_query(token: str | None) -> str:
    """``token=...`` percent-encoded for a URI (empty without a token): the only way a token is put in
    a playlist, WebVTT file or redirect."""
    return urlencode({"token": token}) if token else ""


def _header(token: str) -> dict[str, object]:
    try:
        head = token.split(".", 1)[0]
        padded = head + "=" * (-len(head) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # nested arrays overflow json's stack
        raise Forbidden("token: malformed JWT") from exc
    if not isinstance(value, dict):
        raise Forbidden("token: malformed JWT header")
    return value


def _key_id(token: str, header: dict[str, object]) -> object:
    """``kid`` from the header or the (not yet verified) claims; a conflict between them is refused."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, RecursionError) as exc:
        raise Forbidden("token: malformed JWT") from exc
    in_header, in_claims = header.get("kid"), claims.get("kid")
    if in_header is not None and in_claims is not None and in_header != in_claims:
        raise Forbidden("token: kid in the header and in the claims differ")
    return in_header if in_header is not None else in_claims


def verify_token(session: Session, token: str, *, environment_id: str, playback_id: str,
                 audience: str) -> dict[str, Any]:
    """The claims of ``token`` if it grants ``audience`` on ``playback_id``; raises ``Forbidden`` otherwise."""
    if check_token(token) is None:
        raise Forbidden("token: a signed playback id needs ?token=")
    header = _header(token)  # parsed twice: small (at most 8 KiB), and keeps both functions whole
    alg = header.get("alg")
    if alg != "RS256":
        shown = repr(alg)[:20] if isinstance(alg, str) or alg is None else type(alg).__name__
        raise Forbidden(f"token: alg {shown} is not accepted (RS256 only)")
    kid = _key_id(token, header)
    key = session.get(SigningKey, kid) if isinstance(kid, str) and len(kid) <= 64 else None
    if key is None or key.environment_id != environment_id:
        raise Forbidden("token: unknown signing key (kid)")
    try:
        claims = jwt.decode(token, key.public_key, algorithms=["RS256"], audience=audience,
                            options={"require": ["exp", "sub", "aud"]}, leeway=5)
    except jwt.ExpiredSignatureError as exc:
        raise Forbidden("token: expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise Forbidden(f"token: audience is not {audience!r}") from exc
    except jwt.PyJWTError as exc:
        raise Forbidden(f"token: invalid ({exc})") from exc
    except (ValueError, RecursionError) as exc:  # json inside PyJWT on a hostile payload
        raise Forbidden("token: malformed JWT") from exc
    if claims.get("sub") != playback_id:
        raise Forbidden("token: sub is not this playback id")
    return claims
