"""The outbound URL guard: the early check and the connect-time check that closes DNS rebinding."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from vidlake.core.errors import InvalidParameters
from vidlake.core.netguard import check_url, guarded_transport, is_public, refused_addresses
from vidlake.vod.pull import PullError, pull


class _Counting(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_port() -> Iterator[int]:
    _Counting.hits = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield int(httpd.server_address[1])
    httpd.shutdown()


def test_check_url_names_the_field_and_problem() -> None:
    with pytest.raises(InvalidParameters, match="url: only http and https"):
        check_url("file:///etc/passwd", field="url", allow_private=False)
    with pytest.raises(InvalidParameters, match=r"input: .*loopback"):
        check_url("http://localhost/x", field="input", allow_private=False)
    assert check_url("http://localhost/x", field="input", allow_private=True) == "http://localhost/x"


def test_guarded_transport_refuses_loopback_at_connect_time(local_port: int) -> None:
    with httpx.Client(transport=guarded_transport(allow_private=False)) as client, \
            pytest.raises(httpx.ConnectError, match="loopback, private or link-local"):
        client.get(f"http://127.0.0.1:{local_port}/")
    assert _Counting.hits == 0
    with httpx.Client(transport=guarded_transport(allow_private=True)) as client:
        assert client.get(f"http://127.0.0.1:{local_port}/").text == "ok"
    assert _Counting.hits == 1


def test_dns_rebinding_is_refused(local_port: int, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attacker's name answers a public address to the early check, then 127.0.0.1 to the connect:
    the download must fail and the loopback service must never see a request."""
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34", "127.0.0.1"])

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            return real(next(answers, "127.0.0.1"), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(PullError, match="loopback, private or link-local"):
        pull(f"http://rebind.example:{local_port}/", tmp_path / "x", allow_private=False, max_bytes=100,
             timeout_s=10)
    assert _Counting.hits == 0


@pytest.mark.parametrize("text", [
    "2002:7f00:1::",               # 6to4 of 127.0.0.1
    "2002:a00:1::1",               # 6to4 of 10.0.0.1
    "2002:a9fe:a9fe::",            # 6to4 of 169.254.169.254 (cloud metadata)
    "fec0::1",                     # site-local
    "feff::1",                     # site-local, top of fec0::/10
    "::ffff:127.0.0.1",            # IPv4-mapped
    "::127.0.0.1",                 # IPv4-compatible
    "::ffff:0:7f00:1",             # SIIT IPv4-translated
    "64:ff9b::7f00:1",             # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",              # NAT64 of 10.0.0.1
    "64:ff9b:1::5db8:d822",        # NAT64 local-use prefix (RFC 8215)
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo whose client is 127.0.0.1
    "ff02::1", "224.0.0.1",        # multicast
    "100.64.0.1", "0.0.0.0", "::", "::1", "fe80::1", "fc00::1", "169.254.169.254",
])
def test_non_public_forms_are_refused(text: str) -> None:
    assert not is_public(ipaddress.ip_address(text))
    assert refused_addresses([text]) == [text]


@pytest.mark.parametrize("text", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946",
                                  "2002:5db8:d822::1", "64:ff9b::5db8:d822", "::ffff:93.184.216.34"])
def test_public_forms_are_allowed(text: str) -> None:
    """6to4/NAT64/mapped forms are decided by the IPv4 address they carry."""
    assert is_public(ipaddress.ip_address(text))


def test_check_url_refuses_6to4_and_site_local_literals() -> None:
    for url in ("http://[2002:7f00:1::]/x", "https://[fec0::1]:8443/x", "http://[64:ff9b::7f00:1]/"):
        with pytest.raises(InvalidParameters, match=r"url: .*loopback, private or link-local"):
            check_url(url, field="url", allow_private=False)


def test_guarded_transport_refuses_6to4_loopback_at_connect_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name whose AAAA answer is 6to4 of 127.0.0.1 is refused when the client connects."""
    real = socket.getaddrinfo

    def six_to_four(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "sixtofour.example":
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2002:7f00:1::", port, 0, 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", six_to_four)
    with httpx.Client(transport=guarded_transport(allow_private=False)) as client, \
            pytest.raises(httpx.ConnectError, match="2002:7f00:1::"):
        client.get("http://sixtofour.example/")


def test_simulcast_targets_use_the_same_guard() -> None:
    with pytest.raises(InvalidParameters, match=r"url: .*loopback"):
        check_url("rtmp://[2002:7f00:1::]:1935/live", field="url", allow_private=False, schemes=("rtmp", "rtmps"))
    with pytest.raises(InvalidParameters, match="only rtmp and rtmps"):
        check_url("http://example.com/live", field="url", allow_private=False, schemes=("rtmp", "rtmps"))
