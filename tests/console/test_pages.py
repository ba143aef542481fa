"""Console sign-in, sessions, CSRF, read-only tokens, language and the assets list, against a real
``vidlake serve`` over HTTP (and a console user made with the real ``vidlake user create``)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from services import VidlakeServer

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    srv = VidlakeServer(Path(tmp_path_factory.mktemp("console")), workers=0, rtmp=True).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def asset_id(server: VidlakeServer) -> str:
    with server.client() as c:  # an unreachable URL: the asset exists (preparing, then errored) at once
        r = c.post("/video/v1/assets", json={"input": [{"url": "http://127.0.0.1:9/none.mp4"}],
                                             "passthrough": "holiday-clip"})
        assert r.status_code == 201, r.text
        return str(r.json()["data"]["id"])


def _token(server: VidlakeServer, permission: str) -> tuple[str, str]:
    with server.client() as c:
        data = c.post("/system/v1/access-tokens", json={"name": "t", "permission": permission}).json()["data"]
    return data["id"], data["secret"]


@contextmanager
def _signed_in(server: VidlakeServer, form: dict[str, str], lang: str = "en") -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30, headers={"Accept-Language": lang}) as client:
        r = client.post("/console/sign-in", data=form)
        assert r.status_code == 303 and r.headers["location"] == "/console", r.text
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
        yield client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_sign_in_refuses_wrong_credentials_and_needs_a_session(server: VidlakeServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/console").status_code == 303
        r = c.post("/console/sign-in", data={"token_id": server.token_id, "token_secret": "wrong-secret"})
        assert r.status_code == 401 and "set-cookie" not in r.headers and "Wrong credentials" in r.text
        forged = c.get("/console", headers={"Cookie": "vidlake_console=eyJzdWIiOiJ4In0.AAAA"})
        assert forged.status_code == 303


def test_token_session_lists_searches_and_deletes_with_csrf(server: VidlakeServer, asset_id: str) -> None:
    with _signed_in(server, {"token_id": server.token_id, "token_secret": server.token_secret}) as c:
        page = c.get("/console")
        assert page.status_code == 200 and asset_id in page.text and "holiday-clip" in page.text
        assert "Sign out" in page.text and 'class="delete"' in page.text
        assert server.token_secret not in page.text
        assert asset_id in c.get("/console", params={"q": "holiday"}).text
        assert asset_id not in c.get("/console", params={"q": "nothing-like-it"}).text
        assert asset_id not in c.get("/console", params={"status": "ready"}).text
        csrf = _csrf(page.text)
        no_csrf = c.post(f"/console/assets/{asset_id}/delete", data={})
        assert no_csrf.status_code == 403
        wrong = c.post(f"/console/assets/{asset_id}/delete", data={"csrf": csrf[:-2] + "xx"})
        assert wrong.status_code == 403
        with server.client() as api:
            assert api.get(f"/video/v1/assets/{asset_id}").status_code == 200  # still there
        ok = c.post(f"/console/assets/{asset_id}/delete", data={"csrf": csrf})
        assert ok.status_code == 303
        with server.client() as api:
            assert api.get(f"/video/v1/assets/{asset_id}").status_code == 404
        out = c.post("/console/sign-out", data={"csrf": csrf})
        assert out.status_code == 303 and 'vidlake_console=""' in out.headers["set-cookie"]


def test_read_only_token_sees_no_write_button_and_gets_403(server: VidlakeServer) -> None:
    with server.client() as api:
        aid = api.post("/video/v1/assets", json={"input": [{"url": "http://127.0.0.1:9/x.mp4"}]}).json()["data"]["id"]
    tid, secret = _token(server, "read_only")
    with _signed_in(server, {"token_id": tid, "token_secret": secret}) as c:
        page = c.get("/console")
        assert aid in page.text and "Read-only" in page.text and 'class="delete"' not in page.text
        r = c.post(f"/console/assets/{aid}/delete", data={"csrf": _csrf(page.text)})  # a forged write
        assert r.status_code == 403 and "read-only" in r.text
    with server.client() as api:
        assert api.get(f"/video/v1/assets/{aid}").status_code == 200
        api.delete(f"/video/v1/assets/{aid}")


def test_revoked_token_ends_its_session(server: VidlakeServer) -> None:
    tid, secret = _token(server, "full")
    with _signed_in(server, {"token_id": tid, "token_secret": secret}) as c:
        assert c.get("/console").status_code == 200
        with server.client() as api:
            assert api.delete(f"/system/v1/access-tokens/{tid}").status_code in (200, 204)
        assert c.get("/console").status_code == 303


def _user_create(server: VidlakeServer, email: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**server.env, "VIDLAKE_USER_PASSWORD": PASSWORD}
    return subprocess.run([str(Path(sys.executable).parent / "vidlake"), "user", "create", email, *args],
                          env=env, capture_output=True, text=True, timeout=120, cwd=server.data_dir)


def test_console_user_from_cli_signs_in_in_chinese(server: VidlakeServer) -> None:
    made = _user_create(server, "Ops@Example.com")
    assert made.returncode == 0, made.stderr + made.stdout
    again = _user_create(server, "ops@example.com")
    assert again.returncode == 1 and "email" in again.stdout + again.stderr
    ro = _user_create(server, "viewer@example.com", "--permission", "read_only")
    assert ro.returncode == 0, ro.stderr
    with sqlite3.connect(server.data_dir / "vidlake.db") as db:
        rows = db.execute("SELECT email, password_hash, permission FROM console_users ORDER BY email").fetchall()
    assert [(r[0], r[2]) for r in rows] == [("ops@example.com", "full"), ("viewer@example.com", "read_only")]
    assert all(r[1].startswith("$argon2id$") and PASSWORD not in r[1] for r in rows)
    with httpx.Client(base_url=server.url, timeout=30) as c:
        bad = c.post("/console/sign-in", data={"email": "ops@example.com", "password": PASSWORD + "x"})
        assert bad.status_code == 401
    with _signed_in(server, {"email": "ops@example.com", "password": PASSWORD}, lang="zh-CN,zh;q=0.9") as c:
        page = c.get("/console")
        assert "退出登录" in page.text and "视频资源" in page.text and 'lang="zh-CN"' in page.text
        switched = c.get("/console/lang/en")
        assert switched.status_code == 303 and "vidlake_lang=en" in switched.headers["set-cookie"]
        english = c.get("/console")
        assert "Sign out" in english.text and "退出登录" not in english.text
    with _signed_in(server, {"email": "viewer@example.com", "password": PASSWORD}) as c:
        page = c.get("/console")
        assert "Read-only" in page.text




def test_live_streams_create_reveal_and_reset_key(server: VidlakeServer) -> None:
    with _signed_in(server, {"token_id": server.token_id, "token_secret": server.token_secret}) as c:
        page = c.get("/console/live-streams")
        assert page.status_code == 200 and 'id="create-stream"' in page.text
        csrf = _csrf(page.text)
        assert c.post("/console/live-streams", data={}).status_code == 403  # no CSRF token
        assert c.post("/console/live-streams", data={"csrf": csrf}).status_code == 303
        with server.client() as api:
            streams = api.get("/video/v1/live-streams").json()["data"]
        assert len(streams) == 1 and streams[0]["status"] == "idle"
        stream = streams[0]
        page = c.get("/console/live-streams")
        assert f'<code class="stream-key">{stream["stream_key"]}</code>' in page.text
        assert f"rtmp://127.0.0.1:{server.rtmp_port}/live" in page.text
        r = c.post(f"/console/live-streams/{stream['id']}/reset-key", data={"csrf": csrf})
        assert r.status_code == 303
        with server.client() as api:
            new_key = api.get(f"/video/v1/live-streams/{stream['id']}").json()["data"]["stream_key"]
        assert new_key != stream["stream_key"] and new_key in c.get("/console/live-streams").text
    tid, secret = _token(server, "read_only")
    with _signed_in(server, {"token_id": tid, "token_secret": secret}) as c:
        page = c.get("/console/live-streams")
        assert stream["id"] in page.text and 'id="create-stream"' not in page.text and "reset-key" not in page.text
        forged = c.post(f"/console/live-streams/{stream['id']}/reset-key", data={"csrf": _csrf(page.text)})
        assert forged.status_code == 403
        assert c.post("/console/live-streams", data={"csrf": _csrf(page.text)}).status_code == 403


def test_asset_detail_shows_playback_ids_and_embed_code(server: VidlakeServer) -> None:
    with server.client() as api:
        data = api.post("/video/v1/assets", json={"input": [{"url": "http://127.0.0.1:9/d.mp4"}],
                                                  "playback_policy": ["public"], "passthrough": "detail"}).json()
    aid, pid = data["data"]["id"], data["data"]["playback_ids"][0]["id"]
    with _signed_in(server, {"token_id": server.token_id, "token_secret": server.token_secret}) as c:
        page = c.get(f"/console/assets/{aid}")
        assert page.status_code == 200 and pid in page.text and "detail" in page.text
        assert f"&lt;iframe src=&quot;{server.url}/player/{pid}&quot;" in page.text  # escaped, copy-ready
        assert 'id="confirm-delete"' in page.text
        assert c.get("/console/assets/not-an-asset").status_code == 404
    tid, secret = _token(server, "read_only")
    with _signed_in(server, {"token_id": tid, "token_secret": secret}) as c:
        page = c.get(f"/console/assets/{aid}")
        assert page.status_code == 200 and pid in page.text and 'id="confirm-delete"' not in page.text


def test_console_upload_endpoint_needs_csrf_and_write_permission(server: VidlakeServer) -> None:
    with _signed_in(server, {"token_id": server.token_id, "token_secret": server.token_secret}) as c:
        page = c.get("/console/upload")
        assert page.status_code == 200 and 'id="drop-zone"' in page.text and "vendor/upchunk.js" in page.text
        csrf = re.search(r'data-csrf="([^"]+)"', page.text)
        assert csrf
        assert c.post("/console/uploads").status_code == 403
        made = c.post("/console/uploads", headers={"X-CSRF-Token": csrf.group(1)})
        assert made.status_code == 200 and made.json()["url"].startswith(server.url)
        with server.client() as api:
            assert api.get(f"/video/v1/uploads/{made.json()['id']}").json()["data"]["status"] == "waiting"
    tid, secret = _token(server, "read_only")
    with _signed_in(server, {"token_id": tid, "token_secret": secret}) as c:
        assert c.get("/console/upload").status_code == 303
        page = c.get("/console")
        assert 'id="upload-link"' not in page.text
        assert c.post("/console/uploads", headers={"X-CSRF-Token": _csrf(page.text)}).status_code == 403
