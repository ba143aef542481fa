"""The live door of the effects engine: ``effects`` on a live stream (create, PATCH), a real ffmpeg
publisher over RTMP, the effect measured in the pixels of the live HLS and of the recording, the
worker's state in the stream's health, and effects dropped (never the stream) when they fall behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from live_support import create_stream, events, fetch_media_playlist, publish, stream_status, wait_for
from services import VidlakeServer

GREEN = (0, 200, 0)
REPLACE = {"type": "background", "mode": "replace", "color": "#00c800"}


def _green_share(frame: np.ndarray) -> float:
    """Share of pixels within 40 of the replacement green in every channel."""
    diff = np.abs(frame.astype(np.int16) - np.array(GREEN, np.int16)).max(axis=2)
    return float((diff < 40).mean())


def _segment_frames(playlist_url: str, uri: str, dest: Path) -> list[np.ndarray]:
    base = playlist_url.rsplit("/", 1)[0]
    path = dest / uri.replace("/", "_")
    path.write_bytes(httpx.get(f"{base}/{uri}", timeout=10).raise_for_status().content)
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _health(c: httpx.Client, sid: str) -> dict[str, Any]:
    data: dict[str, Any] = c.get(f"/video/v1/live-streams/{sid}/health").json()["data"]
    return data


# -- requests (no publisher) -----------------------------------------------------------------------

def test_effects_on_create_and_patch(live_server: VidlakeServer) -> None:
    with live_server.client() as c:
        stream = create_stream(c, effects=[{"type": "beautify", "smooth": 0.5}])
        assert stream["effects"][0]["type"] == "beautify" and stream["effects"][0]["smooth"] == 0.5
        sid = stream["id"]
        r = c.patch(f"/video/v1/live-streams/{sid}", json={"effects": [REPLACE, {"type": "sharpen"}]})
        assert r.status_code == 200, r.text
        assert [e["type"] for e in r.json()["data"]["effects"]] == ["background", "sharpen"]
        assert [e["type"] for e in stream_status(c, sid)["effects"]] == ["background", "sharpen"]
        r = c.patch(f"/video/v1/live-streams/{sid}", json={"effects": None})
        assert r.status_code == 200 and "effects" not in r.json()["data"]
        r = c.patch(f"/video/v1/live-streams/{sid}", json={"passthrough": "x"})
        assert "effects" not in r.json()["data"]


@pytest.mark.parametrize(("effects", "field", "words"), [
    ([{"type": "glitter"}], "effects[0].type", "must be one of"),
    ([{"type": "stabilize"}], "effects[0].type", "cannot run on a live stream"),
    ([{"type": "beautify", "smooth": 2}], "effects[0].smooth", ""),
    ([{"type": "background", "mode": "replace", "src": "asset:nope"}], "effects[0].src", "cannot use"),
    ([{"type": "lut", "cube": "not a cube"}], "effects[0]", ""),
    ("beautify", "effects", ""),
])
def test_bad_live_effects_name_the_field(live_server: VidlakeServer, effects: Any, field: str, words: str) -> None:
    with live_server.client() as c:
        r = c.post("/video/v1/live-streams", json={"playback_policy": ["public"], "effects": effects})
        assert r.status_code == 400, r.text
        message = r.json()["error"]["messages"][0] if "messages" in r.json()["error"] else r.text
        assert field in r.text and words in r.text, message
        sid = create_stream(c)["id"]
        r = c.patch(f"/video/v1/live-streams/{sid}", json={"effects": effects})
        assert r.status_code == 400 and field in r.text, r.text


# -- publishing ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_live_effects_in_hls_health_and_recording(live_server: VidlakeServer, tmp_path: Path) -> None:
    """testsrc2 holds no person: background replace turns the whole picture green, which the source
    never is; the live HLS, the lower rung and the recording all carry it, and the worker keeps up."""
    with live_server.client() as c:
        stream = create_stream(c, latency_mode="reduced", reconnect_window=0, effects=[REPLACE],
                               new_asset_settings={"playback_policy": ["public"]})
        sid, key, pid = stream["id"], stream["stream_key"], stream["playback_ids"][0]["id"]
        pub = publish(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{key}", seconds=14, size="640x360")
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active", timeout_s=60)
            url, media = wait_for(lambda: (lambda r: r if len(r[1].segments) >= 3 else None)(
                fetch_media_playlist(live_server.url, pid)), "three live segments", timeout_s=90)
            frames = _segment_frames(url, media.segments[-1].uri, tmp_path)
            assert frames and frames[0].shape[:2] == (360, 640)
            shares = [_green_share(f) for f in frames]
            assert min(shares) > 0.9, shares
            master = httpx.get(f"{live_server.url}/{pid}.m3u8", timeout=10).text
            lower = [line for line in master.splitlines() if line and not line.startswith("#")][-1]
            low_url = f"{live_server.url}/{lower}"
            low = httpx.get(low_url, timeout=10).text
            low_uri = [line for line in low.splitlines() if line and not line.startswith("#")][-1]
            assert _green_share(_segment_frames(low_url, low_uri, tmp_path)[0]) > 0.9
            health = wait_for(lambda: (lambda h: h if h.get("effects", {}).get("frames", 0) > 100 else None)(
                _health(c, sid)), "effects status in health")
            effects = health["effects"]
            assert effects["state"] == "applying" and effects["reason"] is None, effects
            assert effects["lag_s"] < 3.0 and effects["fps"] > 0, effects
        finally:
            assert pub.wait(60) == 0
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle", timeout_s=60)
        asset_id = stream_status(c, sid)["recent_asset_ids"][-1]
        asset = wait_for(lambda: (lambda a: a if a["status"] == "ready" else None)(
            c.get(f"/video/v1/assets/{asset_id}").json()["data"]), "recording ready")
        apid = asset["playback_ids"][0]["id"]
    url, vod = fetch_media_playlist(live_server.url, apid)
    first = _segment_frames(url, vod.segments[0].uri, tmp_path) if not vod.segments[0].init_uri else []
    if first:
        assert _green_share(first[len(first) // 2]) > 0.9
    assert "video.live_stream.effects_dropped" not in events(live_server, sid)


@pytest.fixture(scope="module")
def laggy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    """Effects may not fall behind at all: the first late frame drops them."""
    server = VidlakeServer(tmp_path_factory.mktemp("laggy"), rtmp=True, workers=1,
                           env={"VIDLAKE_LIVE_EFFECTS_MAX_LAG_S": "0.001"}).start()
    yield server
    server.stop()


@pytest.mark.slow
def test_effects_that_fall_behind_are_dropped_not_the_stream(laggy_server: VidlakeServer, tmp_path: Path) -> None:
    with laggy_server.client() as c:
        stream = create_stream(c, latency_mode="reduced", reconnect_window=0,
                               effects=[{"type": "beautify", "smooth": 0.6}, REPLACE])
        sid, key, pid = stream["id"], stream["stream_key"], stream["playback_ids"][0]["id"]
        pub = publish(f"rtmp://127.0.0.1:{laggy_server.rtmp_port}/live/{key}", seconds=12, size="640x360")
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active", timeout_s=60)
            health = wait_for(lambda: (lambda h: h if h.get("effects", {}).get("state") == "dropped" else None)(
                _health(c, sid)), "effects dropped", timeout_s=60)
            assert "behind" in health["effects"]["reason"], health
            assert health["connected"] is True
            wait_for(lambda: "video.live_stream.effects_dropped" in events(laggy_server, sid),
                     "effects_dropped event")
            # The stream goes on: later segments keep coming, and show the published picture (not green).
            seen = len(fetch_media_playlist(laggy_server.url, pid)[1].segments)
            url, media = wait_for(lambda: (lambda r: r if len(r[1].segments) >= seen + 2 else None)(
                fetch_media_playlist(laggy_server.url, pid)), "segments after the drop", timeout_s=30)
            frames = _segment_frames(url, media.segments[-1].uri, tmp_path)
            assert max(_green_share(f) for f in frames) < 0.5
        finally:
            assert pub.wait(60) == 0
