"""The player page: its HTML and headers, and real playback in headless Debian Chromium.

The Chromium cases start a real ``vidlake serve``, pull a 6 s H.264/AAC clip over HTTP, and play it
with hls.js on the page, top level and inside a cross-origin iframe.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import av
import httpx
import jwt
import numpy as np
import pytest
from browser import chromium_browser
from fastapi import FastAPI
from fastapi.testclient import TestClient
from media import FileServer, make_av
from services import VidlakeServer

from vidlake.console import player

#: Generous: two shared cores, and the first segment may still be warming caches.
PLAY_TIMEOUT_MS = 60_000
PLAYED_S = 3.0


# ---- the page itself (fast) ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page_client() -> TestClient:
    app = FastAPI()
    app.include_router(player.router)
    app.mount(player.STATIC_PREFIX, player.static_files())
    return TestClient(app)


def test_page_headers_allow_framing_and_restrict_scripts(page_client: TestClient) -> None:
    r = page_client.get("/player/abc123")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "x-frame-options" not in r.headers
    csp = {d.split()[0]: d.split()[1:] for d in r.headers["content-security-policy"].split("; ")}
    assert csp["frame-ancestors"] == ["*"]
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in r.headers["content-security-policy"]
    assert "<script>" not in r.text  # no inline script: CSP would block it
    assert 'src="/console/static/vendor/hls.min.js' in r.text and 'src="/console/static/player.js' in r.text


def test_page_passes_parameters_escaped(page_client: TestClient) -> None:
    r = page_client.get("/player/abc123", params={"token": 'x"><script>alert(1)</script>', "autoplay": "1",
                                                  "muted": "true", "start_time": "2.5"})
    assert r.status_code == 200
    assert "<script>alert" not in r.text
    assert 'data-src="/abc123.m3u8?token=x%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E"' in r.text
    assert 'data-autoplay="1"' in r.text and 'data-muted="1"' in r.text and 'data-start-time="2.5"' in r.text
    plain = page_client.get("/player/abc123").text
    assert 'data-src="/abc123.m3u8"' in plain and 'data-autoplay="0"' in plain and 'data-muted="0"' in plain
    split = page_client.get("/player/p1", params={"token": "V", "thumbnail_token": "T", "storyboard_token": "S"}).text
    for url in ("/p1.m3u8?token=V", "/p1/thumbnail.jpg?token=T", "/p1/storyboard.vtt?token=S"):
        assert url in split


def test_page_rejects_bad_parameters(page_client: TestClient) -> None:
    assert page_client.get("/player/bad.id").status_code >= 400
    assert page_client.get("/player/abc", params={"start_time": "-1"}).status_code >= 400


def test_static_files_and_vendored_hls_js(page_client: TestClient) -> None:
    for name in ("player.js", "player.css"):
        assert page_client.get(f"/console/static/{name}").status_code == 200
    assert player.hls_js_present(), (f"{player.HLS_JS} is missing: run `make` (it runs `npm ci` and copies "
                                     "node_modules/hls.js/dist/hls.min.js)")
    r = page_client.get("/console/static/vendor/hls.min.js")
    assert r.status_code == 200 and len(r.content) > 100_000 and b"isSupported" in r.content


# ---- real playback in Chromium (slow) --------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    srv = VidlakeServer(Path(tmp_path_factory.mktemp("server")), workers=1).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    root = tmp_path_factory.mktemp("files")
    make_av(root / "clip.mp4", seconds=6)
    (root / "notes.mp4").write_text("this is a text file, not a video\n" * 50)
    server = FileServer(root)
    yield server
    server.close()


def wait_asset(client: httpx.Client, asset_id: str, timeout_s: float = 180) -> dict[str, Any]:
    """Poll until the asset is errored, or ready and fully processed (storyboard and all)."""
    deadline = time.monotonic() + timeout_s
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        data = client.get(f"/video/v1/assets/{asset_id}").json()["data"]
        if data["status"] == "errored":
            return data
        if data["status"] == "ready" and data["progress"]["state"] == "completed":
            return data
        time.sleep(0.2)
    raise AssertionError(f"asset {asset_id} did not finish: {data}")


@pytest.fixture(scope="module")
def asset(server: VidlakeServer, files: FileServer) -> dict[str, Any]:
    with server.client() as c:
        r = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/clip.mp4"}],
                                             "playback_policy": ["public"]})
        assert r.status_code == 201, r.text
        data = wait_asset(c, r.json()["data"]["id"])
    assert data["status"] == "ready", data
    # The poster and the storyboard are made just after the asset reports "completed".
    pid = data["playback_ids"][0]["id"]
    for name in ("storyboard.vtt", "thumbnail.jpg"):
        deadline = time.monotonic() + 60
        while httpx.get(f"{server.url}/{pid}/{name}").status_code != 200:
            assert time.monotonic() < deadline, f"{name} never became available"
            time.sleep(0.2)
    return data


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def embedder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A second web server (another origin) serving pages written into its directory; yields (dir, base URL)."""
    root = tmp_path / "site"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        # "localhost" vs the player's "127.0.0.1": a different site, not only a different port.
        yield root, f"http://localhost:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def _state(frame: Any) -> dict[str, Any]:
    return dict(frame.evaluate(
        "() => { const s = window.vidlakePlayer; return {status: s.status, engine: s.engine, errors: s.errors,"
        " warnings: s.warnings, storyboard: s.storyboard.length, time: s.video.currentTime,"
        " error_text: document.querySelector('.vl-error').hidden ? '' : document.querySelector('.vl-error').innerText}"
        " }"))


def _wait_played(frame: Any) -> dict[str, Any]:
    """Wait until the page played past PLAYED_S seconds or collected an error; return its state."""
    frame.wait_for_function(
        f"() => window.vidlakePlayer && (window.vidlakePlayer.errors.length > 0"
        f" || window.vidlakePlayer.video.currentTime > {PLAYED_S})", timeout=PLAY_TIMEOUT_MS)
    return _state(frame)


def _pixel_std(png: Path) -> float:
    """Standard deviation of the screenshot's pixel values (0..255); ~0 for a blank page."""
    with av.open(str(png)) as container:
        frame = next(container.decode(video=0))
    return float(np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.float32).std())


def _assert_played(state: dict[str, Any]) -> None:
    assert state["errors"] == [], state
    assert state["engine"] == "hls.js", state  # Chromium has MSE: hls.js, not native HLS, must drive it
    assert state["status"] == "ready" and state["time"] > PLAYED_S, state


@pytest.mark.slow
def test_player_plays_in_chromium(server: VidlakeServer, asset: dict[str, Any], chromium: Any,
                                  tmp_path: Path) -> None:
    pid = asset["playback_ids"][0]["id"]
    page = chromium.new_page(viewport={"width": 640, "height": 360})
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    try:
        response = page.goto(f"{server.url}/player/{pid}?muted=1&autoplay=1")
        assert response is not None and response.status == 200
        state = _wait_played(page)
        _assert_played(state)
        assert not any("Content Security Policy" in line for line in console), console

        # Scrubbing preview: hovering the progress bar shows a storyboard tile.
        page.wait_for_function("() => window.vidlakePlayer.storyboard.length > 0", timeout=10_000)
        bar = page.locator(".vl-progress").bounding_box()
        assert bar is not None
        page.mouse.move(bar["x"] + bar["width"] * 0.25, bar["y"] + bar["height"] / 2)
        page.locator(".vl-preview").wait_for(state="visible", timeout=5_000)
        background = page.eval_on_selector(".vl-preview-image", "e => e.style.backgroundImage")
        assert f"/{pid}/storyboard.jpg" in background
        assert page.locator(".vl-preview-time").inner_text() == "0:01"  # 0.25 × 6 s
        # The sprite is scaled once loaded (background-size in px); then the tile must show a picture.
        page.wait_for_function("() => document.querySelector('.vl-preview-image').style.backgroundSize"
                               ".endsWith('px')", timeout=10_000)
        tile = tmp_path / "tile.png"
        page.locator(".vl-preview-image").screenshot(path=str(tile))
        assert _pixel_std(tile) > 10, "the storyboard preview tile is blank"

        shot = tmp_path / "player.png"
        page.screenshot(path=str(shot))
        assert _pixel_std(shot) > 10, "the player screenshot is blank"
    finally:
        page.close()


@pytest.mark.slow
def test_player_plays_inside_a_cross_origin_iframe(server: VidlakeServer, asset: dict[str, Any], chromium: Any,
                                                    embedder: tuple[Path, str], tmp_path: Path) -> None:
    pid = asset["playback_ids"][0]["id"]
    root, base = embedder
    src = f"{server.url}/player/{pid}?muted=1&autoplay=1"
    (root / "embed.html").write_text(
        "<!doctype html><title>embed</title><body style='margin:0;background:#fff'>"
        f"<iframe id='v' src='{src}' width='640' height='360' style='border:0'"
        " allow='autoplay; fullscreen; picture-in-picture' allowfullscreen></iframe></body>")
    page = chromium.new_page(viewport={"width": 700, "height": 400})
    try:
        page.goto(f"{base}/embed.html")
        handle = page.wait_for_selector("#v")
        assert handle is not None
        frame = handle.content_frame()
        assert frame is not None and frame.url.startswith(server.url)
        frame.wait_for_function("() => window.vidlakePlayer !== undefined", timeout=PLAY_TIMEOUT_MS)
        _assert_played(_wait_played(frame))
        shot = tmp_path / "embed.png"
        page.screenshot(path=str(shot))
        assert _pixel_std(shot) > 10, "the embedding page screenshot is blank"
    finally:
        page.close()


@pytest.mark.slow
def test_player_shows_errors_for_unknown_and_unready_ids(server: VidlakeServer, files: FileServer,
                                                          chromium: Any) -> None:
    with server.client() as c:
        r = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/notes.mp4"}],
                                             "playback_policy": ["public"]})
        broken = wait_asset(c, r.json()["data"]["id"])
    assert broken["status"] == "errored"
    page = chromium.new_page()
    try:
        for pid, title in [("doesnotexist0000", "This video does not exist"),
                           (broken["playback_ids"][0]["id"], "This video could not be processed")]:
            page.goto(f"{server.url}/player/{pid}?autoplay=1&muted=1")
            page.wait_for_function("() => window.vidlakePlayer.status === 'error'", timeout=PLAY_TIMEOUT_MS)
            state = _state(page)
            assert title in state["error_text"], state
            assert state["errors"] and state["errors"][0]["kind"] == "playback" and state["engine"] is None
    finally:
        page.close()


@pytest.mark.slow
def test_signed_playback_id_plays_with_token(server: VidlakeServer, asset: dict[str, Any], chromium: Any) -> None:
    with server.client() as c:
        key = c.post("/system/v1/signing-keys").json()["data"]
        r = c.post(f"/video/v1/assets/{asset['id']}/playback-ids", json={"policy": "signed"})
        assert r.status_code == 201, r.text
        pid = r.json()["data"]["id"]
    private = base64.b64decode(key["private_key"])
    exp = int(time.time()) + 600

    def token(aud: str) -> str:
        return jwt.encode({"sub": pid, "aud": aud, "exp": exp}, private, algorithm="RS256",
                          headers={"kid": key["id"]})

    page = chromium.new_page()
    try:
        page.goto(f"{server.url}/player/{pid}?muted=1&autoplay=1")
        page.wait_for_function("() => window.vidlakePlayer.status === 'error'", timeout=PLAY_TIMEOUT_MS)
        assert "needs a valid playback token" in _state(page)["error_text"]

        page.goto(f"{server.url}/player/{pid}?muted=1&autoplay=1&token={token('v')}"
                  f"&thumbnail_token={token('t')}&storyboard_token={token('s')}")
        _assert_played(_wait_played(page))
        page.wait_for_function("() => window.vidlakePlayer.storyboard.length > 0", timeout=10_000)
    finally:
        page.close()
