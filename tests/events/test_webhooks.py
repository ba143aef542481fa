"""Webhooks over real HTTP: signed, retried after a 500, SSRF targets refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from services import VidlakeServer
from webhook_receiver import Receiver

from vidlake.core.errors import InvalidParameters
from vidlake.core.netguard import check_url
from vidlake.db.session import Database
from vidlake.events import emit
from vidlake.events.signing import sign, verify


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([500, 500, 200])
    yield r
    r.httpd.shutdown()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[VidlakeServer]:
    srv = VidlakeServer(tmp_path / "srv", workers=1).start()
    yield srv
    srv.stop()


@pytest.mark.slow
def test_delivery_is_signed_and_retried_after_500(server: VidlakeServer, receiver: Receiver) -> None:
    with server.client() as c:
        created = c.post("/system/v1/webhooks", json={"url": receiver.url})
        assert created.status_code == 201, created.text
        secret = created.json()["data"]["secret"]
        env_id = c.get("/system/v1/environments").json()["data"][0]["id"]
    db = Database(f"sqlite:///{server.data_dir / 'vidlake.db'}")
    with db.session() as s:
        event_id = emit(s, env_id, "video.asset.ready", "asset", "asset123", {"id": "asset123", "status": "ready"})
    deadline = time.monotonic() + 60
    while len(receiver.calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(receiver.calls) == 3, server.log()[-2000:]
    for headers, body in receiver.calls:
        # Independent check of the scheme: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>")).
        parts = dict(p.split("=", 1) for p in headers["vidlake-signature"].split(","))
        expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(parts["v1"], expected)
        assert abs(int(parts["t"]) - time.time()) < 120
        doc = json.loads(body)
        assert doc["id"] == event_id and doc["type"] == "video.asset.ready"
        assert doc["object"] == {"type": "asset", "id": "asset123"} and doc["data"]["status"] == "ready"
        assert headers["vidlake-event-id"] == event_id
    # Delivered exactly once successfully: no more calls after the 200.
    time.sleep(1.0)
    assert len(receiver.calls) == 3


def test_signature_helpers_roundtrip() -> None:
    body = b'{"a":1}'
    header = sign("s3cret", body)
    assert verify("s3cret", body, header)
    assert not verify("other", body, header)
    assert not verify("s3cret", body + b" ", header)
    assert not verify("s3cret", body, sign("s3cret", body, timestamp=int(time.time()) - 3600))


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/x", "http://localhost:8080/x", "http://10.1.2.3/", "http://192.168.0.1/",
    "http://172.16.5.4/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/",
])
def test_ssrf_targets_refused(url: str) -> None:
    with pytest.raises(InvalidParameters) as info:
        check_url(url, field="url", allow_private=False)
    assert info.value.messages[0].startswith("url:")


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://x", "http://u:p@example.com/"])
def test_non_http_or_credential_urls_refused(url: str) -> None:
    with pytest.raises(InvalidParameters):
        check_url(url, field="url", allow_private=True)


@pytest.mark.slow
def test_api_refuses_private_webhook_targets(tmp_path: Path) -> None:
    srv = VidlakeServer(tmp_path / "strict", env={"VIDLAKE_ALLOW_PRIVATE_NETWORKS": "false"}).start()
    try:
        for target in ("http://127.0.0.1:9/x", "http://169.254.169.254/", "http://[::1]/x"):
            r = httpx.post(f"{srv.url}/system/v1/webhooks", json={"url": target}, auth=srv.auth)
            assert r.status_code == 400, r.text
            assert r.json()["error"]["messages"][0].startswith("url:")
    finally:
        srv.stop()
