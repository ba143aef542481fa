"""The outbound guard of web input browsers: an HTTP proxy every request of the page goes through.

A web page a customer names may fetch anything (scripts, images, XHR to ``169.254.169.254``...), so the
Chromium of a web input is started with ``--proxy-server`` pointing here and ``--proxy-bypass-list=<-loopback>``
(without it, Chromium sends ``localhost`` around the proxy). Each ``CONNECT host:port`` (HTTPS, WSS) and
each absolute-URI request (plain HTTP) is resolved here and refused with 403 unless every address is
public (:func:`vidlake.core.netguard.resolve_public`, the one decision), or private networks are allowed in
settings; the connection then goes to the address that was checked, so DNS rebinding gains nothing.
Plain HTTP requests are forwarded with ``Connection: close`` (one request per proxy connection, so a
reused connection cannot reach a second, unchecked host). Ports are limited to 80, 443 and, with private
networks allowed, any.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import socketserver
import threading
from urllib.parse import urlsplit

from vidlake.core.netguard import resolve_public

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024  #: a request head larger than this is refused (bytes)
IDLE_TIMEOUT_S = 120.0  #: a relayed connection silent this long in both directions is closed (seconds)
CONNECT_TIMEOUT_S = 10.0  #: connecting upstream (seconds)
PUBLIC_PORTS = (80, 443)


class Refused(Exception):
    """The page asked for a destination the guard refuses (the message says which and why)."""


class GuardProxy(socketserver.ThreadingTCPServer):
    """The proxy on ``127.0.0.1:{port}`` (an ephemeral port); ``allow_private`` as the settings'
    ``allow_private_networks``. ``refused`` counts refused requests (for tests and metrics)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.allow_private = allow_private
        self.refused = 0
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GuardProxy:
        self._thread = threading.Thread(target=self.serve_forever, name="vidlake-webinput-proxy", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.shutdown()
        self.server_close()

    def connect(self, host: str, port: int) -> socket.socket:
        """A connection to ``host:port`` after the checks; raises :class:`Refused`."""
        if not self.allow_private and port not in PUBLIC_PORTS:
            raise Refused(f"port {port} is not allowed (only {PUBLIC_PORTS})")
        if self.allow_private:
            try:
                addrs = [str(i[4][0]) for i in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]
            except (socket.gaierror, UnicodeError, OSError) as exc:
                raise Refused(f"host {host!r} does not resolve") from exc
        else:
            try:
                addrs = resolve_public(host, port)
            except (LookupError, PermissionError) as exc:
                raise Refused(str(exc)) from exc
        last: OSError | None = None
        for addr in addrs:
            try:
                return socket.create_connection((addr, port), timeout=CONNECT_TIMEOUT_S)
            except OSError as exc:
                last = exc
        raise Refused(f"cannot connect to {host}:{port} ({last})")


class _Handler(socketserver.BaseRequestHandler):
    server: GuardProxy

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(30)
        try:
            head, rest = _read_head(client)
            method, target, version, headers = _parse_head(head)
            if method == "CONNECT":
                host, _, port_text = target.rpartition(":")
                upstream = self.server.connect(host.strip("[]"), int(port_text))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
            else:
                parts = urlsplit(target)
                if parts.scheme != "http" or not parts.hostname:
                    raise Refused(f"not an absolute http:// URL: {target[:100]!r}")
                upstream = self.server.connect(parts.hostname, parts.port or 80)
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                kept = [h for h in headers if h.split(":", 1)[0].strip().lower()
                        not in ("connection", "proxy-connection", "keep-alive", "proxy-authorization")]
                request = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
                upstream.sendall(request.encode("latin-1") + rest)
        except Refused as exc:
            self.server.refused += 1
            log.info("web input page refused: %s", exc)
            body = f"refused by Vidlake's outbound guard: {exc}\n".encode()
            with contextlib.suppress(OSError):
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                               + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            return
        except (OSError, ValueError):
            return
        with upstream:
            _relay(client, upstream)


def _read_head(sock: socket.socket) -> tuple[str, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(8192)
        if not chunk:
            raise ValueError("connection closed before the request head")
        data += chunk
        if len(data) > MAX_HEADER_BYTES:
            raise ValueError("request head too large")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def _parse_head(head: str) -> tuple[str, str, str, list[str]]:
    lines = head.split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    return method.upper(), target, version, lines[1:]


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until one side closes or both are idle for ``IDLE_TIMEOUT_S``."""
    a.setblocking(False)
    b.setblocking(False)
    peers = {a: b, b: a}
    while True:
        ready, _, _ = select.select([a, b], [], [], IDLE_TIMEOUT_S)
        if not ready:
            return
        for sock in ready:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not data:
                return
            try:
                peers[sock].setblocking(True)
                peers[sock].sendall(data)
                peers[sock].setblocking(False)
            except OSError:
                return
