"""Console jobs, access tokens, webhooks and usage pages against a real ``vidlake serve``: what each page
lists, its writes (cancel, create and revoke a token, add an endpoint, send a test event, retry a failed
delivery) through the same functions as the API, the outbound guard on endpoints, 中文 strings, and a
read-only sign-in that sees no write action and gets 403 when it tries."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from services import VidlakeServer
from webhook_receiver import Receiver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    srv = VidlakeServer(Path(tmp_path_factory.mktemp("console-system")), workers=1,
                        env={"VIDLAKE_ALLOW_PRIVATE_NETWORKS": "true", "VIDLAKE_JOB_BACKOFF_BASE_S": "0.05",
                             "VIDLAKE_JOB_BACKOFF_MAX_S": "0.1"}).start()
    yield srv
    srv.stop()


@contextmanager
def _session(server: VidlakeServer, token: tuple[str, str], lang: str = "en") -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30, headers={"Accept-Language": lang}) as client:
        r = client.post("/console/sign-in", data={"token_id": token[0], "token_secret": token[1]})
        assert r.status_code == 303, r.text
        yield client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _wait(check: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.3)
    assert check(), "condition not met in time"  # type: ignore[operator]


def test_tokens_created_in_the_console_work_and_revoke(server: VidlakeServer) -> None:
    with _session(server, server.auth) as c:
        page = c.get("/console/tokens").text
        r = c.post("/console/tokens", data={"csrf": _csrf(page), "name": "编辑部", "permission": "read_only"})
        assert r.status_code == 201 and "编辑部" in r.text
        token_id = re.search(r'id="new-token"><p>[^<]+</p><p><code>([^<]+)</code>', r.text).group(1)  # type: ignore[union-attr]
        secret = re.search(r'class="token-secret">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
        assert secret not in c.get("/console/tokens").text  # shown once
        assert httpx.get(f"{server.url}/video/v1/assets", auth=(token_id, secret)).status_code == 200
        with _session(server, (token_id, secret), "zh") as ro:  # read-only, in Chinese
            listing = ro.get("/console/tokens").text
            assert "访问令牌" in listing and 'action="/console/tokens"' not in listing and "吊销" not in listing
            assert ro.post("/console/tokens", data={"csrf": _csrf(listing)}).status_code == 403
            jobs = ro.get("/console/jobs").text
            assert "任务" in jobs and "/cancel" not in jobs
        assert c.post(f"/console/tokens/{token_id}/revoke", data={"csrf": "wrong"}).status_code == 403
        assert c.post(f"/console/tokens/{token_id}/revoke", data={"csrf": _csrf(page)}).status_code == 303
        assert httpx.get(f"{server.url}/video/v1/assets", auth=(token_id, secret)).status_code == 401


def test_webhooks_test_event_log_and_retry(server: VidlakeServer) -> None:
    receiver = Receiver([500] * 12)  # the first delivery fails all its attempts; the retry succeeds
    try:
        with _session(server, server.auth) as c:
            csrf = _csrf(c.get("/console/webhooks").text)
            refused = c.post("/console/webhooks", data={"csrf": csrf, "url": "file:///etc/passwd"})
            assert refused.status_code == 400 and "cannot receive webhooks" in refused.text
            added = c.post("/console/webhooks", data={"csrf": csrf, "url": receiver.url})
            assert added.status_code == 201 and "webhook-secret" in added.text
            webhook_id = re.search(r'data-webhook-id="([^"]+)"', added.text).group(1)  # type: ignore[union-attr]
            assert c.post(f"/console/webhooks/{webhook_id}/test", data={"csrf": csrf}).status_code == 303
            _wait(lambda: 'class="failed"' in c.get("/console/webhooks").text)
            log = c.get("/console/webhooks").text
            delivery = re.search(r'data-delivery-id="([^"]+)" class="failed"', log).group(1)  # type: ignore[union-attr]
            assert "webhook.test" in log and "500" in log
            r = c.post(f"/console/webhooks/deliveries/{delivery}/retry", data={"csrf": csrf})
            assert r.status_code == 303
            _wait(lambda: f'data-delivery-id="{delivery}" class="delivered"' in c.get("/console/webhooks").text)
            headers, body = receiver.calls[-1]
            assert json.loads(body)["type"] == "webhook.test" and "mux-signature" in headers
            assert len(receiver.calls) == 13
            assert c.post("/console/webhooks/deliveries/nope/retry", data={"csrf": csrf}).status_code == 404
            assert c.post(f"/console/webhooks/{webhook_id}/delete", data={"csrf": csrf}).status_code == 303
            assert webhook_id not in c.get("/console/webhooks").text.split("<h2>")[0]
    finally:
        receiver.close()


def test_jobs_list_and_cancel_and_usage(server: VidlakeServer) -> None:
    with server.client() as api:  # an unreachable source: its ingest job retries, then fails
        api.post("/video/v1/assets", json={"input": [{"url": "http://127.0.0.1:9/none.mp4"}]})
    with _session(server, server.auth) as c:
        jobs = c.get("/console/jobs").text
        assert "vod.ingest" in jobs and 'id="jobs"' in jobs
        assert "webhook.deliver" in c.get("/console/jobs?state=succeeded").text
        assert c.get("/console/jobs?state=bogus").status_code == 400
        usage = c.get("/console/usage").text
        assert usage.count("<tr data-day=") == 30 and "Delivered minutes" in usage
        assert c.post("/console/jobs/nope/cancel", data={"csrf": _csrf(jobs)}).status_code == 404
