"""Console sessions: a signed cookie (HMAC-SHA256 over ``{sub, csrf, exp}``), HttpOnly and
SameSite=Strict, whose CSRF token every write must echo (synchronizer: the form field ``csrf``
or the ``X-CSRF-Token`` header). The signing key is 256 random bits in ``{data_dir}/console_session.key``
(mode 0600), shared by every process on the data dir. Sessions last :data:`SESSION_S` seconds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from vidlake.core.clock import now

COOKIE = "vidlake_console"
SESSION_S = 12 * 3600.0


@dataclass(frozen=True)
class ConsoleSession:
    """A verified session: who (``user:ID`` or a token id) and its CSRF token."""

    subject: str
    csrf: str
    expires_at: float


def load_key(data_dir: Path) -> bytes:
    """The signing key, created on first use."""
    path = data_dir / "console_session.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600) if not path.exists() else -1
        if fd >= 0:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
    return path.read_bytes()


def _sign(key: bytes, body: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode().rstrip("=")


def issue(key: bytes, subject: str) -> tuple[str, ConsoleSession]:
    """A new cookie value and its session."""
    sess = ConsoleSession(subject=subject, csrf=secrets.token_urlsafe(24), expires_at=now() + SESSION_S)
    body = base64.urlsafe_b64encode(json.dumps(
        {"sub": sess.subject, "csrf": sess.csrf, "exp": sess.expires_at}).encode())
    return f"{body.decode()}.{_sign(key, body)}", sess


def verify(key: bytes, value: str | None) -> ConsoleSession | None:
    """The session in a cookie value, or None if missing, forged or expired."""
    if not value or len(value) > 2048 or "." not in value:
        return None
    body, _, sig = value.rpartition(".")
    if not hmac.compare_digest(_sign(key, body.encode()), sig):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
        sess = ConsoleSession(subject=str(data["sub"]), csrf=str(data["csrf"]), expires_at=float(data["exp"]))
    except (ValueError, KeyError, TypeError):
        return None
    return sess if sess.expires_at > now() else None


def csrf_ok(sess: ConsoleSession, sent: str | None) -> bool:
    """Whether a write carries the session's CSRF token."""
    return bool(sent) and hmac.compare_digest(sess.csrf, sent or "")
