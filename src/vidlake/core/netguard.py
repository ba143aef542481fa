"""Outbound URL checks against server-side request forgery (webhooks, URL pulls).

A URL is allowed when its scheme is http(s) and every address its host resolves to is public,
unless private networks are explicitly allowed in settings.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from vidlake.core.errors import InvalidParameters


def _is_private(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or (isinstance(addr, ipaddress.IPv4Address) and addr in ipaddress.ip_network("100.64.0.0/10"))
    )


def check_url(url: str, *, field: str, allow_private: bool, resolve: bool = True) -> str:
    """Validate an outbound URL; returns it. Raises ``InvalidParameters`` naming ``field``."""
    if len(url) > 2048:
        raise InvalidParameters(f"{field}: URL longer than 2048 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidParameters(f"{field}: not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidParameters(f"{field}: only http and https URLs are allowed, not {parts.scheme or 'none'!r}")
    host = parts.hostname
    if not host:
        raise InvalidParameters(f"{field}: URL has no host")
    if parts.username or parts.password:
        raise InvalidParameters(f"{field}: URLs with credentials are not allowed")
    if allow_private or not resolve:
        return url
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidParameters(f"{field}: host {host!r} does not resolve") from exc
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if _is_private(addr):
            raise InvalidParameters(
                f"{field}: {host!r} resolves to a loopback, private or link-local address ({addr}); "
                "set VIDLAKE_ALLOW_PRIVATE_NETWORKS=true to allow it"
            )
    return url
