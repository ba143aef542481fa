"""Identifiers: random, URL-safe, unguessable."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(length: int = 32) -> str:
    """A random alphanumeric id (about 5.95 bits per character)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_secret() -> str:
    """A token secret: 256 random bits, URL-safe base64."""
    return secrets.token_urlsafe(32)
