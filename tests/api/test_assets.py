"""Assets end to end over real HTTP and real ffmpeg: URL pull → probe → ladder → HLS → playback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from media import FileServer, make_av
from services import VidlakeServer

from vidlake.package import hls

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    root = tmp_path_factory.mktemp("files")
    make_av(root / "clip.mp4", seconds=5)
    (root / "notes.mp4").write_text("this is a text file, not a video\n" * 50)
    (root / "list.mp4").write_text("ffconcat version 1.0\nfile '/etc/passwd'\n")
    server = FileServer(root)
    yield server
    server.close()


def wait_asset(client: httpx.Client, asset_id: str, *, complete: bool = True, timeout_s: float = 180) -> dict[str, Any]:
    """Poll until the asset is errored, or ready (and fully processed when ``complete``)."""
    deadline = time.monotonic() + timeout_s
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        data = client.get(f"/video/v1/assets/{asset_id}").json()["data"]
        if data["status"] == "errored":
            return data
        finished = data["progress"]["state"] == "completed" and data["static_renditions"]["status"] in (
            "ready", "disabled")
        if data["status"] == "ready" and (not complete or finished):
            return data
        time.sleep(0.2)
    raise AssertionError(f"asset {asset_id} did not finish: {data}")


def test_url_asset_to_hls_playback(server: VidlakeServer, files: FileServer, tmp_path: Path) -> None:
    with server.client() as c:
        r = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/clip.mp4"}],
                                             "playback_policy": ["public"], "mp4_support": "capped-1080p",
                                             "passthrough": "order-17"})
        assert r.status_code == 201, r.text
        created = r.json()["data"]
        assert created["status"] == "preparing" and created["passthrough"] == "order-17"
        asset = wait_asset(c, created["id"])
    assert asset["status"] == "ready", asset
    assert abs(asset["duration"] - 5.0) < 0.2
    assert asset["aspect_ratio"] == "16:9" and asset["resolution_tier"] == "720p"
    video = next(t for t in asset["tracks"] if t["type"] == "video")
    audio = next(t for t in asset["tracks"] if t["type"] == "audio")
    assert (video["max_width"], video["max_height"]) == (640, 360) and video["max_frame_rate"] == 25
    assert audio["max_channels"] == 2
    pid = asset["playback_ids"][0]["id"]

    master_resp = httpx.get(f"{server.url}/{pid}.m3u8")
    assert master_resp.status_code == 200
    assert master_resp.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert master_resp.headers["access-control-allow-origin"] == "*"
    master = hls.parse(master_resp.text)
    assert isinstance(master, hls.MasterPlaylist) and master.variants
    for variant in master.variants:
        assert variant.bandwidth > 0 and variant.average_bandwidth and variant.codecs and variant.resolution
        assert variant.frame_rate == 25
        assert variant.codecs.startswith("avc1.")
    # Every entry of every media playlist decodes, and segment boundaries line up across rungs.
    durations: list[list[float]] = []
    uris = [v.uri for v in master.variants] + [r.uri for r in master.renditions if r.uri]
    for uri in uris:
        media_url = f"{server.url}/{uri}"
        media = hls.parse(httpx.get(media_url).text)
        assert isinstance(media, hls.MediaPlaylist) and media.endlist and media.playlist_type == "VOD"
        base = media_url.rsplit("/", 1)[0]
        init = httpx.get(f"{base}/{media.segments[0].init_uri}").content
        for i, seg in enumerate(media.segments):
            resp = httpx.get(f"{base}/{seg.uri}")
            assert resp.status_code == 200 and "immutable" in resp.headers["cache-control"]
            path = tmp_path / f"{abs(hash(uri))}-{i}.mp4"
            path.write_bytes(init + resp.content)
            with av.open(str(path)) as container:
                frames = sum(1 for _ in container.decode(container.streams[0]))
            assert frames > 0
        if uri in [v.uri for v in master.variants]:
            durations.append([round(s.duration, 2) for s in media.segments])
    assert all(d == durations[0] for d in durations), durations

    # Static MP4 with byte ranges.
    mp4 = httpx.get(f"{server.url}/{pid}/capped-1080p.mp4", headers={"Range": "bytes=0-99"})
    assert mp4.status_code == 206 and len(mp4.content) == 100 and mp4.headers["content-type"] == "video/mp4"
    full = httpx.get(f"{server.url}/{pid}/capped-1080p.mp4")
    (tmp_path / "full.mp4").write_bytes(full.content)
    with av.open(str(tmp_path / "full.mp4")) as container:
        assert container.streams.video[0].height == 360 and container.duration / 1e6 == pytest.approx(5, abs=0.2)

    # Images and storyboard.
    thumb = httpx.get(f"{server.url}/{pid}/thumbnail.jpg", params={"time": 1, "width": 160})
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    (tmp_path / "t.jpg").write_bytes(thumb.content)
    with av.open(str(tmp_path / "t.jpg")) as container:
        assert container.streams.video[0].width == 160
    gif = httpx.get(f"{server.url}/{pid}/animated.gif", params={"start": 0, "end": 2, "width": 120})
    assert gif.status_code == 200 and gif.content[:6] in (b"GIF89a", b"GIF87a")
    vtt = httpx.get(f"{server.url}/{pid}/storyboard.vtt")
    assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT") and f"/{pid}/storyboard.jpg#xywh=" in vtt.text
    assert httpx.get(f"{server.url}/{pid}/storyboard.jpg").headers["content-type"] == "image/jpeg"
    bad = httpx.get(f"{server.url}/{pid}/thumbnail.jpg", params={"width": 0})
    assert bad.status_code == 400 and bad.json()["error"]["messages"][0].startswith("width:")


def test_hostile_inputs_end_errored(server: VidlakeServer, files: FileServer) -> None:
    with server.client() as c:
        ids = {}
        for name in ("notes.mp4", "list.mp4", "missing.mp4"):
            r = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/{name}"}],
                                                 "playback_policy": ["public"]})
            assert r.status_code == 201
            ids[name] = r.json()["data"]["id"]
        results = {name: wait_asset(c, asset_id) for name, asset_id in ids.items()}
    for name, data in results.items():
        assert data["status"] == "errored", (name, data)
        assert data["errors"]["type"] == "invalid_input" and data["errors"]["messages"][0]
    assert "404" in results["missing.mp4"]["errors"]["messages"][0]
    assert httpx.get(f"{server.url}/{results['notes.mp4']['playback_ids'][0]['id']}.m3u8").status_code == 412


def test_asset_api_validation_pagination_and_delete(server: VidlakeServer, files: FileServer) -> None:
    with server.client() as c:
        for body, needle in [
            ({}, "input: is required"),
            ({"input": [{"url": "ftp://x/y"}]}, "input[0].url: only http and https"),
            ({"input": [{"url": f"{files.url}/clip.mp4"}], "playback_policy": ["private"]}, "playback_policy[0]"),
            ({"input": [{"url": f"{files.url}/clip.mp4"}], "max_resolution_tier": "8k"}, "max_resolution_tier"),
            ({"input": [{"url": f"{files.url}/clip.mp4"}], "colour": "red"}, "colour: unknown field"),
        ]:
            r = c.post("/video/v1/assets", json=body)
            assert r.status_code == 400, (body, r.text)
            assert r.json()["error"]["messages"][0].startswith(needle), r.json()
        created = [c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/notes.mp4"}]}).json()["data"]["id"]
                   for _ in range(3)]
        page1 = c.get("/video/v1/assets", params={"limit": 2, "page": 1}).json()["data"]
        page2 = c.get("/video/v1/assets", params={"limit": 2, "page": 2}).json()["data"]
        assert len(page1) == 2 and not {a["id"] for a in page1} & {a["id"] for a in page2}
        pid = c.post(f"/video/v1/assets/{created[0]}/playback-ids", json={"policy": "signed"}).json()["data"]
        assert pid["policy"] == "signed"
        assert c.get(f"/video/v1/assets/{created[0]}/playback-ids/{pid['id']}").json()["data"] == pid
        assert c.patch(f"/video/v1/assets/{created[0]}", json={"passthrough": "x"}).json()["data"]["passthrough"] == "x"
        assert c.delete(f"/video/v1/assets/{created[0]}/playback-ids/{pid['id']}").status_code == 204
        assert c.delete(f"/video/v1/assets/{created[0]}").status_code == 204
        assert c.get(f"/video/v1/assets/{created[0]}").status_code == 404
        assert c.delete(f"/video/v1/assets/{created[0]}").status_code == 404


def test_asset_events_reach_webhooks(server: VidlakeServer, files: FileServer) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "events"))
    from test_webhooks import Receiver

    receiver = Receiver([])
    try:
        with server.client() as c:
            hook = c.post("/system/v1/webhooks", json={"url": receiver.url}).json()["data"]
            created = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/clip.mp4"}],
                                                       "playback_policy": ["public"]}).json()["data"]
            wait_asset(c, created["id"])
            deadline = time.monotonic() + 30
            types: list[str] = []
            while time.monotonic() < deadline:
                import json

                types = [json.loads(body)["type"] for _, body in receiver.calls
                         if json.loads(body)["object"]["id"] == created["id"]]
                if "video.asset.ready" in types:
                    break
                time.sleep(0.1)
            c.delete(f"/system/v1/webhooks/{hook['id']}")
        assert types[:2] == ["video.asset.created", "video.asset.ready"], types
    finally:
        receiver.httpd.shutdown()


def test_private_input_urls_are_refused(tmp_path: Path) -> None:
    strict = VidlakeServer(tmp_path / "strict", env={"VIDLAKE_ALLOW_PRIVATE_NETWORKS": "false"}, workers=0).start()
    try:
        for url in ("http://127.0.0.1:8000/x.mp4", "http://169.254.169.254/latest", "http://10.0.0.1/a.mp4",
                    "http://[::1]/v.mp4", "http://localhost/v.mp4"):
            r = httpx.post(f"{strict.url}/video/v1/assets", json={"input": [{"url": url}]}, auth=strict.auth)
            assert r.status_code == 400, (url, r.text)
            assert r.json()["error"]["messages"][0].startswith("input[0].url:")
    finally:
        strict.stop()
