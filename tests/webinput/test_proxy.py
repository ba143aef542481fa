"""The outbound guard of web input pages: refused destinations get 403 from the proxy itself (raw
requests and a real Chromium started with the web input's proxy flags); allowed ones are relayed."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from browser import CHROMIUM
from page_server import PageServer

from vidlake.webinput.browser import proxy_flags
from vidlake.webinput.proxy import GuardProxy


@pytest.fixture()
def pages() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.close()


def _ask(proxy: GuardProxy, head: str) -> bytes:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(head.encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
            if head.startswith("CONNECT") and b"\r\n\r\n" in data:
                break
        return data


def test_refused_destinations(pages: PageServer) -> None:
    proxy = GuardProxy(allow_private=False).start()
    try:
        port = pages.url.rsplit(":", 1)[1]
        for head in (f"GET {pages.url}/page.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # loopback, odd port
                     "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n",  # loopback
                     "CONNECT 169.254.169.254:80 HTTP/1.1\r\n\r\n",  # cloud metadata
                     "CONNECT 10.1.2.3:443 HTTP/1.1\r\n\r\n",  # private
                     f"CONNECT localhost:{port} HTTP/1.1\r\n\r\n",
                     "GET ftp://example.com/x HTTP/1.1\r\n\r\n"):
            answer = _ask(proxy, head)
            assert answer.startswith(b"HTTP/1.1 403"), (head, answer[:200])
        assert pages.loads == {}
        assert proxy.refused == 6
    finally:
        proxy.close()


def test_allowed_destinations_are_relayed(pages: PageServer) -> None:
    proxy = GuardProxy(allow_private=True).start()
    try:
        answer = _ask(proxy, f"GET {pages.url}/page.html HTTP/1.1\r\nHost: x\r\nProxy-Connection: keep-alive\r\n\r\n")
        assert answer.startswith(b"HTTP/1.0 200") and b"scoreboard" in answer, answer[:200]
        host_port = pages.url.removeprefix("http://")
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(f"CONNECT {host_port} HTTP/1.1\r\n\r\n".encode())
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            sock.sendall(b"GET /other.html HTTP/1.0\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        assert b"scoreboard" in data
        assert pages.loads == {"/page.html": 1, "/other.html": 1}
    finally:
        proxy.close()


def test_chromium_with_the_web_input_flags_cannot_reach_loopback(pages: PageServer) -> None:
    from playwright.sync_api import sync_playwright

    proxy = GuardProxy(allow_private=False).start()
    try:
        with sync_playwright() as p:
            chromium: Any = p.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox", *proxy_flags(proxy.url)])
            try:
                page = chromium.new_page()
                response = page.goto(f"{pages.url}/page.html")
                assert response is not None and response.status == 403
                assert "outbound guard" in page.content()
                # What the page itself fetches is refused too.
                status = page.evaluate(f"() => fetch('{pages.url}/other.html').then(r => r.status, e => 'error')")
                assert status in (403, "error")
            finally:
                chromium.close()
        assert pages.loads == {}
    finally:
        proxy.close()
