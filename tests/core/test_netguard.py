"""The outbound URL guard: the early check and the connect-time check that closes DNS rebinding."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from vidlake.core.errors import InvalidParameters
from vidlake.core.netguard import check_url, guarded_transport
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
