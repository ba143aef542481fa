"""Outbound URL checks against server-side request forgery (webhooks, URL pulls, edit sources,
simulcast targets).

A URL is allowed when its scheme is accepted and every address its host resolves to is public
(:func:`is_public`, the one decision), unless private networks are explicitly allowed in settings.

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

#: IPv6 ranges whose last 32 bits are an IPv4 address that traffic reaches: NAT64's well-known prefix
#: (RFC 6052) and SIIT's IPv4-translated form (RFC 2765). IPv4-mapped, 6to4 and Teredo are read with
#: :mod:`ipaddress`'s own accessors.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
#: IPv6 ranges refused outright although :mod:`ipaddress` calls them global: site-local (deprecated by
#: RFC 3879 but still routed inside some networks) and NAT64's local-use prefix (RFC 8215).
_REFUSED_V6 = (ipaddress.ip_network("fec0::/10"), ipaddress.ip_network("64:ff9b:1::/48"))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and delivers to: IPv4-mapped (``::ffff:a.b.c.d``),
    IPv4-compatible (``::a.b.c.d``), SIIT (``::ffff:0:a.b.c.d``), NAT64 (``64:ff9b::a.b.c.d``), 6to4
    (``2002:AABB:CCDD::``) and Teredo (``2001::/32``: server and client). Empty for a plain address."""
    if addr.ipv4_mapped is not None:
        return [addr.ipv4_mapped]
    if addr.sixtofour is not None:
        return [addr.sixtofour]
    if addr.teredo is not None:
        return list(addr.teredo)
    low = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr in _NAT64 or addr in _TRANSLATED:
        return [low]
    if addr in _COMPATIBLE and int(addr) > 1:  # :: and ::1 are IPv6's own unspecified and loopback
        return [low]
    return []


def is_public(addr: Address) -> bool:
    """True when ``addr`` is a public unicast address: not loopback, private, link-local, site-local,
    shared (100.64.0.0/10), reserved, documentation, multicast or unspecified, and, for IPv6 forms that
    embed IPv4 (see :func:`embedded_ipv4`), when every embedded IPv4 address is public too.

    The one decision every outbound connection goes through (URL pulls, webhooks, edit sources,
    simulcast targets)."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            return False
        inner = embedded_ipv4(addr)
        if inner:
            return all(is_public(v4) for v4 in inner)
        if any(addr in net for net in _REFUSED_V6) or addr.is_site_local:
            return False
    return addr.is_global and not addr.is_multicast and not addr.is_reserved


def refused_addresses(addresses: Iterable[str]) -> list[str]:
    """The addresses among ``addresses`` (textual, optionally with a ``%zone``) that are not public."""
    refused = []
    for text in addresses:
        try:
            addr = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            refused.append(text)
            continue
        if "%" in text or not is_public(addr):
            refused.append(text)
    return refused


def resolve_public(host: str, port: int) -> list[str]:
    """Resolve ``host`` and return its addresses if every one is public; raises ``LookupError`` when it
    does not resolve and ``PermissionError`` naming the first refused address otherwise."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise LookupError(f"host {host!r} does not resolve") from exc
    addrs = [str(info[4][0]) for info in infos]
    refused = refused_addresses(addrs)
    if refused or not addrs:
        raise PermissionError(f"{host!r} resolves to a loopback, private or link-local address "
                              f"({refused[0] if refused else 'none'})")
    return addrs


def check_url(url: str, *, field: str, allow_private: bool, resolve: bool = True,
              schemes: tuple[str, ...] = ("http", "https")) -> str:
    """Validate an outbound URL; returns it. Raises ``InvalidParameters`` naming ``field``.

    ``schemes``: accepted URL schemes (simulcast targets pass ``("rtmp", "rtmps")``)."""
    if len(url) > 2048:
        raise InvalidParameters(f"{field}: URL longer than 2048 characters")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise InvalidParameters(f"{field}: URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidParameters(f"{field}: not a valid URL ({exc})") from exc
    if parts.scheme not in schemes:
        allowed = " and ".join(schemes)
        raise InvalidParameters(f"{field}: only {allowed} URLs are allowed, not {parts.scheme or 'none'!r}")
    host = parts.hostname
    if not host:
        raise InvalidParameters(f"{field}: URL has no host")
    if parts.username or parts.password:
        raise InvalidParameters(f"{field}: URLs with credentials are not allowed")
    if allow_private or not resolve:
        return url
    default_port = {"https": 443, "http": 80, "rtmp": 1935, "rtmps": 443}.get(parts.scheme, 80)
    try:
        resolve_public(host, port or default_port)
    except LookupError as exc:
        raise InvalidParameters(f"{field}: {exc}") from exc
    except PermissionError as exc:
        raise InvalidParameters(f"{field}: {exc}; set VIDLAKE_ALLOW_PRIVATE_NETWORKS=true to allow it") from exc
    return url


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, but every TCP connect resolves the host, checks all its addresses and
    connects to a checked address (never resolving again)."""

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        try:
            addrs = resolve_public(host, port)
        except LookupError as exc:
            raise httpcore.ConnectError(f"{exc}") from exc
        except PermissionError as exc:
            raise httpcore.ConnectError(f"refusing to connect: {exc} at connect time") from exc
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
