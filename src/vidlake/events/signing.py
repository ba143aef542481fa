"""Webhook signatures: ``Vidlake-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.

The same value goes in Mux's ``Mux-Signature`` header (Mux signs the same way), so receivers written for
Mux (``mux.webhooks.unwrap`` of the Node SDK) verify Vidlake's deliveries unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Vidlake-Signature"
MUX_HEADER = "Mux-Signature"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for ``body``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, tolerance_s: float = 300.0) -> bool:
    """True if ``header`` is a valid, fresh signature of ``body``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))
