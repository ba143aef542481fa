"""A request whose connection went half open (the client vanished: no FIN, no RST reaches the server)
must not hold an upload's lock: the client's next request ends it and goes on, for tus and for
Content-Range chunks. Over real sockets against a real server."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from services import VidlakeServer

TUS_PATCH = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
SIZE = 300_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    srv = VidlakeServer(Path(tmp_path_factory.mktemp("half-open")), workers=0).start()
    yield srv
    srv.stop()


def _upload(server: VidlakeServer) -> dict[str, str]:
    with server.client() as c:
        r = c.post("/video/v1/uploads", json={"new_asset_settings": {"playback_policy": ["public"]}})
    assert r.status_code == 201, r.text
    data: dict[str, str] = r.json()["data"]
    return data


def _ghost(url: str, headers: dict[str, str], body: bytes, sent: int) -> socket.socket:
    """Start a request of ``len(body)`` bytes, send its first ``sent`` bytes, then go silent (kept open)."""
    parts = urlsplit(url)
    headers = dict(headers)
    method = headers.pop("_method", "PATCH")
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
    head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Content-Length": str(len(body))}.items())
    sock.sendall(f"{method} {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}\r\n"
                 .encode() + body[:sent])
    return sock


def _stored(server: VidlakeServer, upload_id: str) -> bytes:
    (path,) = server.data_dir.rglob(f"{upload_id}/source")
    return path.read_bytes()


def test_tus_resume_ends_a_half_open_patch(server: VidlakeServer) -> None:
    data = os.urandom(SIZE)
    up = _upload(server)
    url = up["url"]
    r = httpx.post(url + "/tus", headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(SIZE)})
    assert r.status_code == 201, r.text
    ghost = _ghost(url, {**TUS_PATCH, "Upload-Offset": "0"}, data, 100_000)
    try:
        # what a tus client does next: HEAD, then PATCH from the server's offset (a 409 means look again)
        for _ in range(5):
            offset = int(httpx.head(url, headers={"Tus-Resumable": "1.0.0"}, timeout=10).headers["Upload-Offset"])
            r = httpx.patch(url, content=data[offset:], headers={**TUS_PATCH, "Upload-Offset": str(offset)},
                            timeout=20)  # the ghost would hold the lock for good: a hang fails here
            if r.status_code == 204:
                break
            assert r.status_code == 409, r.text
        assert r.status_code == 204, r.text
        assert r.headers["Upload-Offset"] == str(SIZE)
    finally:
        ghost.close()
    with server.client() as c:
        assert c.get(f"/video/v1/uploads/{up['id']}").json()["data"]["status"] == "asset_created"
    assert hashlib.sha256(_stored(server, up["id"])).digest() == hashlib.sha256(data).digest()


def test_chunk_resend_ends_a_half_open_chunk(server: VidlakeServer) -> None:
    data = os.urandom(SIZE)
    up = _upload(server)
    url = up["url"]
    first = SIZE // 2
    r = httpx.put(url, content=data[:first], headers={"Content-Range": f"bytes 0-{first - 1}/{SIZE}"}, timeout=10)
    assert r.status_code == 308, r.text
    ghost = _ghost(url, {"_method": "PUT", "Content-Range": f"bytes {first}-{SIZE - 1}/{SIZE}"}, data[first:], 5000)
    try:
        status = httpx.put(url, content=b"", headers={"Content-Range": f"bytes */{SIZE}"}, timeout=10)
        assert status.status_code == 308 and status.headers["Range"] == f"bytes=0-{first - 1}"
        r = httpx.put(url, content=data[first:], headers={"Content-Range": f"bytes {first}-{SIZE - 1}/{SIZE}"},
                      timeout=20)
        assert r.status_code == 200, r.text
    finally:
        ghost.close()
    assert hashlib.sha256(_stored(server, up["id"])).digest() == hashlib.sha256(data).digest()

