"""Signed playback: RS256 signing keys and JWT verification, as Mux does it.

A token is a JWT signed with the private half of a signing key the environment created
(``/system/v1/signing-keys``): header ``kid`` names the key; claims ``sub`` = playback id, ``aud`` =
``v`` (video: playlists, segments, MP4), ``t`` (thumbnail), ``g`` (animated GIF/WebP), ``s``
(storyboard), and ``exp`` (Unix seconds). Only RS256 is accepted: ``alg: none`` and HS256 (e.g. keyed
with the public key) are refused before any key is used.
"""

from __future__ import annotations

import base64
import json

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.errors import Forbidden
from vidlake.core.ids import new_id
from vidlake.db.models import SigningKey

AUDIENCES = ("v", "t", "g", "s")


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


def _header(token: str) -> dict[str, object]:
    try:
        head = token.split(".", 1)[0]
        padded = head + "=" * (-len(head) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Forbidden("token: malformed JWT") from exc
    if not isinstance(value, dict):
        raise Forbidden("token: malformed JWT header")
    return value


def verify_token(session: Session, token: str, *, environment_id: str, playback_id: str, audience: str) -> None:
    """Raise ``Forbidden`` unless ``token`` grants ``audience`` on ``playback_id``."""
    if len(token) > 8192:
        raise Forbidden("token: too long")
    header = _header(token)
    if header.get("alg") != "RS256":
        raise Forbidden(f"token: alg {header.get('alg')!r} is not accepted (RS256 only)")
    kid = header.get("kid")
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
    if claims.get("sub") != playback_id:
        raise Forbidden("token: sub is not this playback id")
