"""Tokens, environments, isolation and the error contract, over real HTTP."""

from __future__ import annotations

import httpx
from services import VidlakeServer


def test_healthz_and_openapi(server: VidlakeServer) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"data": {"status": "ok"}}
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert "/system/v1/access-tokens" in spec["paths"]
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_requests_without_or_with_bad_tokens_are_401(server: VidlakeServer) -> None:
    url = f"{server.url}/system/v1/access-tokens"
    for auth, needle in [
        (None, "missing Authorization"),
        (("test-token", "wrong-secret"), "invalid or revoked"),
        (("nobody", "whatever-secret"), "invalid or revoked"),
    ]:
        r = httpx.get(url, auth=auth)
        assert r.status_code == 401
        assert r.json()["error"]["type"] == "unauthorized"
        assert needle in r.json()["error"]["messages"][0]
    r = httpx.get(url, headers={"Authorization": "Basic !!!notbase64"})
    assert r.status_code == 401 and "malformed" in r.json()["error"]["messages"][0]
    r = httpx.get(url, headers={"Authorization": "Bearer abc"})
    assert r.status_code == 401 and "Basic" in r.json()["error"]["messages"][0]


def test_token_lifecycle_and_read_only(server: VidlakeServer) -> None:
    with server.client() as c:
        r = c.post("/system/v1/access-tokens", json={"name": "ro", "permission": "read_only"})
        assert r.status_code == 201, r.text
        ro = r.json()["data"]
        assert ro["secret"] and ro["permission"] == "read_only"
        listed = c.get("/system/v1/access-tokens").json()["data"]
        assert ro["id"] in [t["id"] for t in listed]
        assert all(t["secret"] is None for t in listed)
    ro_auth = (ro["id"], ro["secret"])
    assert httpx.get(f"{server.url}/system/v1/access-tokens", auth=ro_auth).status_code == 200
    r = httpx.post(f"{server.url}/system/v1/access-tokens", json={}, auth=ro_auth)
    assert r.status_code == 403 and r.json()["error"]["type"] == "forbidden"
    with server.client() as c:
        assert c.delete(f"/system/v1/access-tokens/{ro['id']}").status_code == 204
    r = httpx.get(f"{server.url}/system/v1/access-tokens", auth=ro_auth)
    assert r.status_code == 401


def test_environments_are_isolated(server: VidlakeServer) -> None:
    with server.client() as c:
        r = c.post("/system/v1/environments", json={"name": "Tenant B"})
        assert r.status_code == 201, r.text
        other = r.json()["data"]
        mine = c.get("/system/v1/environments").json()["data"]
        hook = c.post("/system/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}).json()["data"]
    b_auth = (other["access_token"]["id"], other["access_token"]["secret"])
    with httpx.Client(base_url=server.url, auth=b_auth) as b:
        envs = b.get("/system/v1/environments").json()["data"]
        assert [e["id"] for e in envs] == [other["id"]]
        assert other["id"] not in [e["id"] for e in mine]
        tokens = b.get("/system/v1/access-tokens").json()["data"]
        assert server.token_id not in [t["id"] for t in tokens]
        # Another environment's resources are simply not found.
        assert b.get(f"/system/v1/webhooks/{hook['id']}").status_code == 404
        assert b.delete(f"/system/v1/webhooks/{hook['id']}").status_code == 404
        assert b.get(f"/system/v1/access-tokens/{server.token_id}").status_code == 404
        assert b.delete(f"/system/v1/access-tokens/{server.token_id}").status_code == 404
        assert b.get("/system/v1/webhooks").json()["data"] == []


def test_bad_input_gets_named_4xx_errors(server: VidlakeServer) -> None:
    with server.client() as c:
        r = c.post("/system/v1/access-tokens", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400
        assert r.json()["error"]["type"] == "invalid_parameters"
        assert "malformed JSON" in r.json()["error"]["messages"][0]
        r = c.post("/system/v1/access-tokens", json={"permission": "god"})
        assert r.status_code == 400 and r.json()["error"]["messages"][0].startswith("permission:")
        r = c.post("/system/v1/access-tokens", json={"name": 5})
        assert r.status_code == 400 and r.json()["error"]["messages"][0].startswith("name:")
        r = c.post("/system/v1/access-tokens", json={"nmae": "typo"})
        assert r.status_code == 400 and r.json()["error"]["messages"] == ["nmae: unknown field"]
        r = c.post("/system/v1/environments", json={})
        assert r.status_code == 400 and r.json()["error"]["messages"] == ["name: is required"]
        r = c.post("/system/v1/access-tokens", content=b'{"name": "' + b"x" * 2_000_000 + b'"}',
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["type"] == "payload_too_large"
        r = c.get("/system/v1/jobs", params={"limit": 1000})
        assert r.status_code == 400 and r.json()["error"]["messages"][0].startswith("limit:")
        r = c.get("/no/such/route")
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
        r = c.put("/system/v1/access-tokens")
        assert r.status_code == 405 and r.json()["error"]["type"] == "method_not_allowed"
        r = c.get("/system/v1/jobs/doesnotexist")
        assert r.status_code == 404 and "doesnotexist" in r.json()["error"]["messages"][0]


def test_metrics(server: VidlakeServer) -> None:
    with server.client() as c:
        c.get("/system/v1/access-tokens")
    text = httpx.get(f"{server.url}/metrics").text
    assert 'vidlake_http_requests_total{method="GET",route="/system/v1/access-tokens",status="200"}' in text
    assert "vidlake_jobs" in text

