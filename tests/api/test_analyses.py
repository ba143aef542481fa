"""Analyses over the API: requested explicitly or automatically when an asset is ready."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from media import FileServer
from services import VidlakeServer
from test_assets import wait_asset

from vidlake.ffmpeg import ffmpeg_exe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cuts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    """Three 2 s shots (red, green, testsrc2) with hard cuts at 2 s and 4 s."""
    root = tmp_path_factory.mktemp("cuts")
    parts = "".join(f"[{i}:v]" for i in range(3))
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y",
                    "-f", "lavfi", "-i", "color=c=red:s=320x240:r=25:d=2",
                    "-f", "lavfi", "-i", "color=c=green:s=320x240:r=25:d=2",
                    "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2",
                    "-f", "lavfi", "-i", "sine=f=300:d=6",
                    "-filter_complex", f"{parts}concat=n=3:v=1:a=0[v]", "-map", "[v]", "-map", "3:a",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    str(root / "cuts.mp4")], check=True, timeout=120)
    server = FileServer(root)
    yield server
    server.close()


def wait_analysis(client: httpx.Client, analysis_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        data = client.get(f"/video/v1/analyses/{analysis_id}").json()["data"]
        if data["status"] in ("completed", "errored"):
            return data
        time.sleep(0.2)
    raise AssertionError(f"analysis did not finish: {data}")


def test_scenes_analysis_finds_the_cuts(server: VidlakeServer, cuts: FileServer) -> None:
    with server.client() as c:
        kinds = c.get("/video/v1/analyses/kinds").json()["data"]
        assert "scenes" in kinds
        asset = c.post("/video/v1/assets", json={"input": [{"url": f"{cuts.url}/cuts.mp4"}],
                                                 "playback_policy": ["public"], "analyses": ["scenes"]}).json()["data"]
        wait_asset(c, asset["id"])
        deadline = time.monotonic() + 60
        listed: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not listed:
            listed = c.get("/video/v1/analyses", params={"asset_id": asset["id"]}).json()["data"]
            time.sleep(0.2)
        assert listed, "the automatic analysis was not queued"
        auto = wait_analysis(c, listed[0]["id"])
        assert auto["status"] == "completed", auto
        starts = sorted(s["start"] for s in auto["results"]["scenes"]["scenes"])
        assert len(starts) == 3 and starts[0] == 0
        assert starts[1] == pytest.approx(2.0, abs=0.1) and starts[2] == pytest.approx(4.0, abs=0.1)
        assert auto["summary"]["scene_count"] == 3

        explicit = c.post("/video/v1/analyses", json={"asset_id": asset["id"], "kinds": ["scenes"]})
        assert explicit.status_code == 201
        assert wait_analysis(c, explicit.json()["data"]["id"])["status"] == "completed"


def test_analysis_requests_are_validated(server: VidlakeServer, cuts: FileServer) -> None:
    with server.client() as c:
        r = c.post("/video/v1/analyses", json={"asset_id": "nope", "kinds": ["scenes"]})
        assert r.status_code == 404
        r = c.post("/video/v1/analyses", json={"asset_id": "x", "kinds": []})
        assert r.status_code == 400 and r.json()["error"]["messages"][0].startswith("kinds:")
        asset = c.post("/video/v1/assets", json={"input": [{"url": f"{cuts.url}/cuts.mp4"}]}).json()["data"]
        wait_asset(c, asset["id"])
        r = c.post("/video/v1/analyses", json={"asset_id": asset["id"], "kinds": ["telepathy"]})
        assert r.status_code == 400 and "unknown kind(s) telepathy" in r.json()["error"]["messages"][0]
        r = c.post("/video/v1/assets", json={"input": [{"url": f"{cuts.url}/cuts.mp4"}], "analyses": "scenes"})
        assert r.status_code == 400 and r.json()["error"]["messages"][0].startswith("analyses:")
        r = c.post("/video/v1/assets", json={"input": [{"url": f"{cuts.url}/cuts.mp4"}], "analyses": ["telepathy"]})
        assert r.status_code == 400 and "unknown kind(s) telepathy" in r.json()["error"]["messages"][0]


def test_shot_quality_per_scene(server: VidlakeServer, cuts: FileServer) -> None:
    from vidlake.analyze.shot_quality import summarize_interval

    with server.client() as c:
        assert "shot_quality" in c.get("/video/v1/analyses/kinds").json()["data"]
        asset = c.post("/video/v1/assets", json={"input": [{"url": f"{cuts.url}/cuts.mp4"}]}).json()["data"]
        wait_asset(c, asset["id"])
        r = c.post("/video/v1/analyses", json={"asset_id": asset["id"], "kinds": ["scenes", "shot_quality"]})
        assert r.status_code == 201
        done = wait_analysis(c, r.json()["data"]["id"])
        assert done["status"] == "completed", done
        quality = done["results"]["shot_quality"]
        assert quality["sample_fps"] == 4.0 and len(quality["times"]) >= 15
        # Per shot: the flat red and green shots have no detail, the testsrc2 shot has.
        scenes = done["results"]["scenes"]["scenes"]
        shots = [summarize_interval(quality, s["start"] + 0.1, s["end"]) for s in scenes]
        assert len(shots) == 3 and all(shot is not None for shot in shots)
        red, green, pattern = (shot["sharpness"] for shot in shots if shot is not None)
        assert red < 0.01 and green < 0.01 and pattern > 0.3


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    """A talking clip, a half-size re-encode of it, and an unrelated clip."""
    import shutil

    root = tmp_path_factory.mktemp("speech")
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("espeak-ng is not installed: run `make test` (it installs Debian's espeak-ng)")
    subprocess.run([espeak, "-v", "en-us+f5", "-s", "140", "-w", str(root / "speech.wav"),
                    "the quick brown fox jumps over the lazy dog"], check=True, timeout=60)
    ff = [ffmpeg_exe(), "-v", "error", "-y"]
    subprocess.run([*ff, "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=4", "-i", str(root / "speech.wav"),
                    "-af", "apad", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", str(root / "talk.mp4")], check=True, timeout=120)
    subprocess.run([*ff, "-i", str(root / "talk.mp4"), "-vf", "scale=320:180", "-c:v", "libx264", "-b:v", "150k",
                    "-c:a", "aac", str(root / "talk-small.mp4")], check=True, timeout=120)
    subprocess.run([*ff, "-f", "lavfi", "-i", "mandelbrot=s=640x360:r=25", "-f", "lavfi", "-i", "sine=f=200",
                    "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    str(root / "other.mp4")], check=True, timeout=120)
    server = FileServer(root)
    yield server
    server.close()


def test_captions_cover_and_near_duplicates(server: VidlakeServer, speech: FileServer) -> None:
    kinds = ["scenes", "cover", "fingerprint", "captions", "loudness"]
    with server.client() as c:
        ids = {}
        for name in ("talk", "talk-small", "other"):
            asset = c.post("/video/v1/assets", json={"input": [{"url": f"{speech.url}/{name}.mp4"}],
                                                     "playback_policy": ["public"]}).json()["data"]
            ids[name] = asset["id"]
        for asset_id in ids.values():
            wait_asset(c, asset_id)
        for name, asset_id in ids.items():
            r = c.post("/video/v1/analyses", json={"asset_id": asset_id, "kinds": kinds})
            assert r.status_code == 201, r.text
            done = wait_analysis(c, r.json()["data"]["id"], timeout_s=240)
            assert done["status"] == "completed", done
            if name == "talk":
                talk = done
        assert "fox" in talk["results"]["captions"]["text"] or "dog" in talk["results"]["captions"]["text"]
        assert 0 <= talk["summary"]["cover_time"] <= 4
        assert talk["results"]["loudness"]["integrated_lufs"] < 0
        asset = c.get(f"/video/v1/assets/{ids['talk']}").json()["data"]
        text = [t for t in asset["tracks"] if t["type"] == "text"]
        assert text and text[0]["text_source"] == "generated_vod" and text[0]["language_code"] == "en"
        pid = asset["playback_ids"][0]["id"]
        master = httpx.get(f"{server.url}/{pid}.m3u8").text
        assert 'TYPE=SUBTITLES' in master and 'SUBTITLES="subs"' in master
        vtt = httpx.get(f"{server.url}/{pid}/text/{text[0]['id']}.vtt")
        assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT") and "-->" in vtt.text
        similar = c.get(f"/video/v1/assets/{ids['talk']}/similar").json()["data"]
        assert similar and similar[0]["asset_id"] == ids["talk-small"]
        assert ids["other"] not in [s["asset_id"] for s in similar]


def test_quality_problems_become_asset_warnings(
    server: VidlakeServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A damaged copy (black opening, letterboxed) gets warnings; the clean clip gets none."""
    root = tmp_path_factory.mktemp("quality")
    ff = [ffmpeg_exe(), "-v", "error", "-y"]
    subprocess.run([*ff, "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=4", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(root / "clean.mp4")], check=True, timeout=120)
    subprocess.run([*ff, "-f", "lavfi", "-i", "color=c=black:s=640x360:r=25:d=2", "-f", "lavfi", "-i",
                    "testsrc2=s=640x270:r=25:d=3", "-filter_complex",
                    "[1:v]pad=640:360:0:45:black[p];[0:v][p]concat=n=2:v=1:a=0[v]", "-map", "[v]", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(root / "damaged.mp4")], check=True, timeout=120)
    files = FileServer(root)
    try:
        with server.client() as c:
            warnings = {}
            for name in ("clean", "damaged"):
                asset = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/{name}.mp4"}],
                                                         "analyses": ["black", "frozen", "letterbox"]}).json()["data"]
                wait_asset(c, asset["id"])
                deadline = time.monotonic() + 60
                listed: list[dict[str, Any]] = []
                while time.monotonic() < deadline:
                    listed = c.get("/video/v1/analyses", params={"asset_id": asset["id"]}).json()["data"]
                    if listed and listed[0]["status"] in ("completed", "errored"):
                        break
                    time.sleep(0.2)
                assert listed and listed[0]["status"] == "completed", listed
                warnings[name] = c.get(f"/video/v1/assets/{asset['id']}").json()["data"].get("warnings", [])
    finally:
        files.close()
    assert warnings["clean"] == []
    assert any(w.startswith("black:") for w in warnings["damaged"]), warnings
    assert any(w.startswith("letterbox:") and "top" in w for w in warnings["damaged"]), warnings


def test_cli_analyze_file_and_asset(
    server: VidlakeServer, cuts: FileServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import json
    import os

    from services import BIN

    env = {**os.environ, "VIDLAKE_URL": server.url, "VIDLAKE_TOKEN_ID": server.token_id,
           "VIDLAKE_TOKEN_SECRET": server.token_secret}
    local = tmp_path_factory.mktemp("cli") / "cuts.mp4"
    local.write_bytes(httpx.get(f"{cuts.url}/cuts.mp4").content)
    out = subprocess.run([str(BIN / "vidlake"), "analyze", str(local), "--kinds", "scenes,black"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["scenes"]["scenes"]) == 3
    bad = subprocess.run([str(BIN / "vidlake"), "analyze", str(local), "--kinds", "telepathy"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "telepathy" in bad.stderr
    with server.client() as c:
        asset = c.post("/video/v1/assets", json={"input": [{"url": f"{cuts.url}/cuts.mp4"}]}).json()["data"]
        wait_asset(c, asset["id"])
    remote = subprocess.run([str(BIN / "vidlake"), "analyze", asset["id"], "--kinds", "scenes"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout)["summary"]["scene_count"] == 3
