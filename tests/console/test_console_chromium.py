"""The console in headless Debian Chromium: sign in through the form, see the assets list, switch the
language, sign out; screenshots of each page go to ``test-artifacts/console/`` (git-ignored)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import chromium_browser, console_sign_in
from live_support import publish
from media import FileServer, make_av
from services import VidlakeServer
from test_player import wait_asset

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    srv = VidlakeServer(Path(tmp_path_factory.mktemp("console-ui")), workers=1, rtmp=True).start()
    yield srv
    srv.stop()


@pytest.mark.slow
@pytest.mark.parametrize("width", [1200, 390])
def test_sign_in_assets_language_and_sign_out(server: VidlakeServer, width: int) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with server.client() as api:
        r = api.post("/video/v1/assets", json={"input": [{"url": "http://127.0.0.1:9/a.mp4"}],
                                               "passthrough": f"browser-{width}"})
        asset_id = r.json()["data"]["id"]
    with chromium_browser() as browser:
        context: Any = browser.new_context(viewport={"width": width, "height": 800}, locale="en-US")
        page = context.new_page()
        page.goto(f"{server.url}/console")
        assert page.url.endswith("/console/sign-in")
        page.screenshot(path=str(ARTIFACTS / f"sign-in-{width}.png"), full_page=True)
        page.fill("#token-form input[name=token_id]", server.token_id)
        page.fill("#token-form input[name=token_secret]", server.token_secret)
        page.click("#token-form button[type=submit]")
        page.wait_for_url(f"{server.url}/console")
        assert server.token_secret not in page.url
        row = page.locator(f"tr[data-asset-id='{asset_id}']")
        assert row.count() == 1 and f"browser-{width}" in row.inner_text()
        assert page.locator("#sign-out").inner_text() == "Sign out"
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["vidlake_console"]["httpOnly"] and cookies["vidlake_console"]["sameSite"] == "Strict"
        assert page.evaluate("document.cookie").find("vidlake_console") < 0  # not readable by scripts
        page.screenshot(path=str(ARTIFACTS / f"assets-en-{width}.png"), full_page=True)
        page.click("#lang-switch")
        page.wait_for_url(f"{server.url}/console")
        assert page.locator("#sign-out").inner_text() == "退出登录"
        assert page.locator("h1").inner_text() == "视频资源"
        page.screenshot(path=str(ARTIFACTS / f"assets-zh-{width}.png"), full_page=True)
        page.reload()
        assert page.locator("h1").inner_text() == "视频资源"  # remembered in the cookie
        page.click("#sign-out")
        page.wait_for_url(f"{server.url}/console/sign-in")
        page.goto(f"{server.url}/console")
        assert page.url.endswith("/console/sign-in")
        context.close()


@pytest.mark.slow
def test_asset_detail_plays_in_the_console(server: VidlakeServer, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    make_av(tmp_path / "clip.mp4", seconds=6)
    files = FileServer(tmp_path)
    try:
        with server.client() as api:
            r = api.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/clip.mp4"}],
                                                   "playback_policy": ["public"]})
            data = wait_asset(api, r.json()["data"]["id"])
    finally:
        files.close()
    assert data["status"] == "ready", data
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        console_sign_in(page, server.url, server.token_id, server.token_secret)
        page.click(f"tr[data-asset-id='{data['id']}'] a")
        page.wait_for_url(f"{server.url}/console/assets/{data['id']}")
        frame = page.frame_locator("iframe.player")
        frame.locator("video").evaluate("v => { v.muted = true; return v.play(); }")
        player = next(f for f in page.frames if "/player/" in f.url)
        player.wait_for_function("() => window.vidlakePlayer && (window.vidlakePlayer.errors.length > 0"
                                 " || window.vidlakePlayer.video.currentTime > 2)", timeout=60_000)
        state = player.evaluate("() => ({errors: window.vidlakePlayer.errors,"
                                " time: window.vidlakePlayer.video.currentTime})")
        assert state["errors"] == [] and state["time"] > 2, state
        page.screenshot(path=str(ARTIFACTS / "asset-detail.png"), full_page=True)


@pytest.mark.slow
def test_upload_two_files_by_drop_zone_and_they_become_ready(server: VidlakeServer, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    clips = [tmp_path / "first.mp4", tmp_path / "second.mp4"]
    for i, clip in enumerate(clips):
        make_av(clip, seconds=3 + i)
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 900, "height": 700})
        console_sign_in(page, server.url, server.token_id, server.token_secret)
        page.click("#upload-link")
        page.wait_for_url(f"{server.url}/console/upload")
        page.set_input_files("#drop-zone input[type=file]", [str(c) for c in clips])
        page.wait_for_function("() => window.vidlakeUploads.length === 2 && window.vidlakeUploads.every("
                               "u => u.state === 'uploaded' || u.state === 'failed')", timeout=120_000)
        records = page.evaluate("window.vidlakeUploads")
        assert [r["state"] for r in records] == ["uploaded", "uploaded"], records
        page.screenshot(path=str(ARTIFACTS / "upload.png"), full_page=True)
    with server.client() as api:
        for record in records:
            asset_id = ""
            for _ in range(600):
                asset_id = api.get(f"/video/v1/uploads/{record['upload_id']}").json()["data"].get("asset_id", "")
                if asset_id:
                    break
                time.sleep(0.2)
            assert asset_id, record
            assert wait_asset(api, asset_id)["status"] == "ready"


@pytest.mark.slow
def test_create_live_stream_and_see_it_go_active(server: VidlakeServer) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 900, "height": 700})
        console_sign_in(page, server.url, server.token_id, server.token_secret)
        page.goto(f"{server.url}/console/live-streams")
        before = page.locator("tr[data-stream-id]").count()
        page.click("#create-stream button")
        page.wait_for_url(f"{server.url}/console/live-streams")
        rows = page.locator("tr[data-stream-id]")
        assert rows.count() == before + 1
        row = rows.first
        key_el = row.locator("code.stream-key")
        assert not key_el.is_visible()  # hidden until revealed
        row.locator("summary").click()
        key = key_el.inner_text()
        assert key and key_el.is_visible()
        rtmp = f"rtmp://127.0.0.1:{server.rtmp_port}/live"
        assert rtmp in row.inner_text()
        proc = publish(f"{rtmp}/{key}", seconds=20)
        try:
            status = ""
            for _ in range(300):
                page.reload()
                status = page.locator("tr[data-stream-id]").first.locator("td.status").inner_text()
                if status == "active":
                    break
                time.sleep(0.2)
            assert status == "active"
            page.screenshot(path=str(ARTIFACTS / "live-streams-active.png"), full_page=True)
        finally:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("width", [1200, 390])
def test_admin_pages_in_both_languages(server: VidlakeServer, width: int) -> None:
    """Jobs, webhooks, tokens, usage and analytics pages render (screenshots per language and width) and a
    token made through the form works against the API."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": width, "height": 900}, locale="en-US")
        console_sign_in(page, server.url, server.token_id, server.token_secret)
        for lang, heading in (("en", "Access tokens"), ("zh", "访问令牌")):
            if lang == "zh":
                page.click("#lang-switch")
                page.wait_for_url(f"{server.url}/console")
            page.click("#tokens-link")
            page.wait_for_url(f"{server.url}/console/tokens")
            assert page.locator("h1").inner_text() == heading
            page.fill("#create-token input[name=name]", f"browser {lang} {width}")
            page.click("#create-token button")
            secret = page.locator("code.token-secret").inner_text()
            token_id = page.locator("#new-token code").first.inner_text()
            assert httpx.get(f"{server.url}/video/v1/assets", auth=(token_id, secret)).status_code == 200
            page.screenshot(path=str(ARTIFACTS / f"tokens-{lang}-{width}.png"), full_page=True)
            for name in ("jobs", "webhooks", "usage", "analytics"):
                page.click(f"#{name}-link")
                page.wait_for_url(f"{server.url}/console/{name}")
                assert page.locator("h1").count() == 1
                page.screenshot(path=str(ARTIFACTS / f"{name}-{lang}-{width}.png"), full_page=True)
