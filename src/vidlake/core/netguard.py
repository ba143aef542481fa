"""Outbound URL checks against server-side request forgery (webhooks, URL pulls).

A URL is allowed when its scheme is http(s) and every address its host resolves to is public,
unless private networks are explicitly allowed in settings.

:func:`check_url` answers early with a clear error; :func:`guarded_transport` closes the DNS-rebinding
gap behind it: the HTTP client resolves the host once more when it connects, checks *that* answer and
connects to the checked address itself, so a name that resolved to a public address at check time and
to ``127.0.0.1`` a moment later is still refused.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx
from httpcore._backends.base import SOCKET_OPTION

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


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, but every TCP connect resolves the host, checks all its addresses and
    connects to a checked address (never resolving again)."""

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{host!r} does not resolve: {exc}") from exc
        addrs = [str(info[4][0]).split("%")[0] for info in infos]
        for text in addrs:
            if _is_private(ipaddress.ip_address(text)):
                raise httpcore.ConnectError(
                    f"refusing to connect to {host!r}: it resolves to a loopback, private or link-local "
                    f"address ({text}) at connect time")
        return super().connect_tcp(addrs[0], port, timeout=timeout, local_address=local_address,
                                   socket_options=socket_options)


def guarded_transport(*, allow_private: bool) -> httpx.HTTPTransport:
    """An httpx transport for outbound requests to user-given URLs (webhooks, URL pulls).

    With ``allow_private`` false, connections go only to public addresses checked at connect time
    (see the module docstring); TLS still verifies the certificate against the URL's host name."""
    transport = httpx.HTTPTransport()
    if not allow_private:
        # httpx has no public hook for the network backend; the pool's attribute is stable across
        # httpcore 1.x.
        transport._pool._network_backend = _GuardedBackend()
    return transport
