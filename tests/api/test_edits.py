"""Cloud editing end to end over real HTTP: assets → edit (timeline JSON) → render job → new asset.

Two colour assets (red, blue) are cut with a transition under a text title; the rendered asset goes
through the VOD pipeline and a frame sampled at a known time must show the expected colour.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from media import FileServer
from services import VidlakeServer

from vidlake.ffmpeg import ffmpeg_exe

pytestmark = pytest.mark.slow

SECONDS = 3.0


def make_colour(dest: Path, colour: str, freq: int) -> Path:
    """A 3 s 320x240 H.264/AAC MP4 of one solid colour with a sine tone."""
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"color=c={colour}:s=320x240:r=25:d={SECONDS}",
                    "-f", "lavfi", "-i", f"sine=f={freq}:sample_rate=48000:d={SECONDS}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-ac", "2", "-c:a", "aac",
                    "-shortest", str(dest)], check=True, timeout=60)
    return dest


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    root = tmp_path_factory.mktemp("colours")
    make_colour(root / "red.mp4", "red", 440)
    make_colour(root / "blue.mp4", "blue", 660)
    server = FileServer(root)
    yield server
    server.close()


def wait_asset(c: httpx.Client, asset_id: str, timeout_s: float = 180) -> dict[str, Any]:
    """Poll until the asset is errored or fully processed."""
    deadline = time.monotonic() + timeout_s
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        data = c.get(f"/video/v1/assets/{asset_id}").json()["data"]
        if data["status"] == "errored":
            return data
        if data["status"] == "ready" and data["progress"]["state"] == "completed" and \
                data["static_renditions"]["status"] in ("ready", "disabled"):
            return data
        time.sleep(0.2)
    raise AssertionError(f"asset {asset_id} did not finish: {data}")


def wait_edit(c: httpx.Client, edit_id: str, timeout_s: float = 180) -> dict[str, Any]:
    """Poll until the edit leaves queued/rendering."""
    deadline = time.monotonic() + timeout_s
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        data = c.get(f"/video/v1/edits/{edit_id}").json()["data"]
        if data["status"] not in ("queued", "rendering"):
            return data
        time.sleep(0.2)
    raise AssertionError(f"edit {edit_id} did not finish: {data}")


@pytest.fixture(scope="module")
def sources(server: VidlakeServer, files: FileServer) -> dict[str, str]:
    """``{"red": asset_id, "blue": asset_id}``, both ready."""
    ids: dict[str, str] = {}
    with server.client() as c:
        for name in ("red", "blue"):
            r = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/{name}.mp4"}],
                                                 "playback_policy": ["public"]})
            assert r.status_code == 201, r.text
            ids[name] = r.json()["data"]["id"]
        for asset_id in ids.values():
            assert wait_asset(c, asset_id)["status"] == "ready"
    return ids


def cut(red: str, blue: str, **extra: Any) -> dict[str, Any]:
    """Red 0-2 s, then blue 1.5-3.5 s (a 0.5 s fade between), under a white title at the top."""
    return {
        "timeline": {
            "tracks": [
                {"clips": [{"asset": {"type": "text", "text": "TITLE",
                                      "style": {"size": 90, "color": "#ffffff", "font": "sans-black"}},
                            "start": 0, "length": 1.5, "position": "top"}]},
                {"clips": [
                    {"asset": {"type": "video", "src": f"asset:{red}"}, "start": 0, "length": 2},
                    {"asset": {"type": "video", "src": f"asset:{blue}", "trim": 0.5}, "start": 1.5, "length": 2,
                     "transition": {"in": "fade", "duration": 0.5}},
                ]},
            ],
        },
        "output": {"resolution": {"width": 640, "height": 360}, "fps": 25},
        **extra,
    }


def frame_at(path: Path, t: float) -> np.ndarray:
    """The RGB frame shown at ``t`` seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        last = None
        for frame in container.decode(stream):
            if frame.time is not None and frame.time > t:
                break
            last = frame
        assert last is not None
        return last.to_ndarray(format="rgb24")


def test_edit_renders_a_new_asset(server: VidlakeServer, sources: dict[str, str], tmp_path: Path) -> None:
    with server.client() as c:
        r = c.post("/video/v1/edits", json=cut(sources["red"], sources["blue"], preview=True,
                                               passthrough="promo-1", mp4_support="capped-1080p"))
        assert r.status_code == 201, r.text
        created = r.json()["data"]
        assert created["status"] == "queued" and created["preview"] is True
        assert created["duration"] == pytest.approx(3.5)
        edit = wait_edit(c, created["id"])
        assert edit["status"] == "completed", edit
        assert edit["progress"] == 100
        graph = edit["details"]["filter_graph"]
        assert "xfade" in graph or "fade" in graph
        assert "drawtext" in graph
        assert edit["details"]["width"] < 640  # a preview is a low-resolution draft
        asset = wait_asset(c, edit["asset_id"])
        assert asset["status"] == "ready", asset
        assert asset["passthrough"] == "promo-1"
        assert asset["duration"] == pytest.approx(3.5, abs=0.15)
        assert {t["type"] for t in asset["tracks"]} == {"video", "audio"}
        listed = c.get("/video/v1/edits", params={"asset_id": asset["id"]}).json()["data"]
        assert [e["id"] for e in listed] == [edit["id"]]
    pid = asset["playback_ids"][0]["id"]
    mp4 = httpx.get(f"{server.url}/{pid}/capped-1080p.mp4")
    assert mp4.status_code == 200
    path = tmp_path / "out.mp4"
    path.write_bytes(mp4.content)

    early = frame_at(path, 0.8)
    h = early.shape[0]
    bottom = early[h * 2 // 3:].reshape(-1, 3).mean(axis=0)
    assert bottom[0] > 180 and bottom[1] < 60 and bottom[2] < 60, bottom  # red
    top = early[: h // 4].reshape(-1, 3)
    white = int(((top > 200).all(axis=1)).sum())
    assert white > 20, "the title is drawn at the top"
    late = frame_at(path, 3.0)
    assert (late[: h // 4] > 200).all(axis=2).sum() == 0  # the title has ended
    mean = late.reshape(-1, 3).mean(axis=0)
    assert mean[2] > 180 and mean[0] < 60 and mean[1] < 60, mean  # blue

    db = sqlite3.connect(server.data_dir / "vidlake.db")
    try:
        types = {row[0] for row in db.execute("SELECT type FROM events WHERE object_id = ?", (edit["id"],))}
    finally:
        db.close()
    assert {"video.edit.created", "video.edit.completed"} <= types


def errors_of(r: httpx.Response) -> list[str]:
    assert r.status_code == 400, r.text
    body = r.json()["error"]
    assert body["type"] == "invalid_parameters"
    return list(body["messages"])


def test_validation_errors_name_the_field(server: VidlakeServer, sources: dict[str, str]) -> None:
    red, blue = sources["red"], sources["blue"]
    with server.client() as c:
        doc = cut(red, blue)
        doc["timeline"]["tracks"][1]["clips"][0]["start"] = -1
        assert "timeline.tracks[1].clips[0].start: must be >= 0" in errors_of(c.post("/video/v1/edits", json=doc))

        doc = cut("nope", blue)
        messages = errors_of(c.post("/video/v1/edits", json=doc))
        assert any(m.startswith("timeline.tracks[1].clips[0].asset.src: ") and "nope" in m for m in messages)

        doc = cut(red, blue)
        doc["timeline"]["tracks"][1]["clips"][1]["asset"]["trim"] = 1.5  # 1.5 + 2 s > 3 s
        messages = errors_of(c.post("/video/v1/edits", json=doc))
        assert any(m.startswith("timeline.tracks[1].clips[1].length: runs past the end of its source")
                   for m in messages), messages

        doc = cut(red, blue, output={"resolution": {"width": 7680, "height": 4320}, "fps": 25})
        messages = errors_of(c.post("/video/v1/edits", json=doc))
        assert any(m.startswith("output.resolution: width 7680 px is above the limit") for m in messages)

        doc = cut(red, blue, surprise=True)
        messages = errors_of(c.post("/video/v1/edits", json=doc))
        assert any(m.startswith("surprise: ") for m in messages), messages

        doc = cut(red, blue)
        del doc["timeline"]["tracks"][0]["clips"][0]["position"]
        doc["timeline"]["tracks"][0]["clips"][0]["asset"] = {"type": "caption", "cues": [
            {"start": 1, "end": 0.5, "text": "字幕"}]}
        assert errors_of(c.post("/video/v1/edits", json=doc)) == [
            "timeline.tracks[0].clips[0].asset.cues[0].end: must be after start (1 s), got 0.5 s"]
        doc["timeline"]["tracks"][0]["clips"][0]["asset"] = {"type": "caption", "src": f"asset:{red}"}
        messages = errors_of(c.post("/video/v1/edits", json=doc))
        assert messages == [f"timeline.tracks[0].clips[0].asset.src: cannot use source 'asset:{red}/text/': asset "
                            f"'{red}' has no ready text track; its text tracks: none"], messages

        # Every problem is reported at once.
        doc = cut("nope", blue)
        doc["timeline"]["tracks"][1]["clips"][1]["asset"]["trim"] = 1.5
        messages = errors_of(c.post("/video/v1/edits", json=doc))
        assert [m.split(":")[0] for m in messages] == ["timeline.tracks[1].clips[0].asset.src",
                                                       "timeline.tracks[1].clips[1].length"], messages

        r = c.post("/system/v1/environments", json={"name": "Other"})
        assert r.status_code == 201, r.text
        other = r.json()["data"]["access_token"]
    with httpx.Client(base_url=server.url, auth=(other["id"], other["secret"]), timeout=30) as b:
        messages = errors_of(b.post("/video/v1/edits", json=cut(red, blue)))
        assert any(m.startswith("timeline.tracks[1].clips[0].asset.src: ") and red in m for m in messages)
        assert b.get("/video/v1/edits").json()["data"] == []


def test_schema_is_published(server: VidlakeServer) -> None:
    with server.client() as c:
        r = c.get("/video/v1/edits/schema")
    assert r.status_code == 200
    schema = r.json()["data"]
    assert "timeline" in schema["properties"] and "output" in schema["properties"]


def test_templates_and_cancel(server: VidlakeServer, sources: dict[str, str]) -> None:
    doc = cut("{{first}}", "{{second}}")
    doc["timeline"]["tracks"][0]["clips"][0]["asset"]["text"] = "{{title}}"
    doc["timeline"]["tracks"][1]["clips"][0]["asset"]["src"] = "{{first}}"
    doc["timeline"]["tracks"][1]["clips"][1]["asset"]["src"] = "{{second}}"
    doc["timeline"]["tracks"][1]["clips"][1]["length"] = "{{length}}"
    with server.client() as c:
        r = c.post("/video/v1/templates", json={"name": "two cuts", "defaults": {"length": 2}, **doc})
        assert r.status_code == 201, r.text
        template = r.json()["data"]
        assert template["placeholders"] == ["first", "length", "second", "title"]
        assert c.get(f"/video/v1/templates/{template['id']}").json()["data"]["name"] == "two cuts"
        assert template["id"] in [t["id"] for t in c.get("/video/v1/templates").json()["data"]]

        messages = errors_of(c.post("/video/v1/edits", json={"template_id": template["id"],
                                                             "merge": {"first": f"asset:{sources['red']}"}}))
        assert any(m.startswith("merge.second: is required") for m in messages), messages
        assert any(m.startswith("merge.title: is required") for m in messages), messages
        assert not any("merge.length" in m for m in messages)  # it has a default

        merge = {"first": f"asset:{sources['red']}", "second": f"asset:{sources['blue']}", "title": "Hi"}
        r = c.post("/video/v1/edits", json={"template_id": template["id"], "merge": merge})
        assert r.status_code == 201, r.text
        edit = r.json()["data"]
        assert edit["template_id"] == template["id"] and edit["duration"] == pytest.approx(3.5)
        full = c.get(f"/video/v1/edits/{edit['id']}").json()["data"]
        assert full["document"]["timeline"]["tracks"][0]["clips"][0]["asset"]["text"] == "Hi"

        r = c.post(f"/video/v1/edits/{edit['id']}/cancel")
        assert r.status_code == 200, r.text
        assert r.json()["data"]["status"] == "cancelled"
        job_id = _job_of(server, edit["id"])
        deadline = time.monotonic() + 120
        while c.get(f"/system/v1/jobs/{job_id}").json()["data"]["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, "the render job did not stop"
            time.sleep(0.2)
        final = c.get(f"/video/v1/edits/{edit['id']}").json()["data"]
        assert final["status"] == "cancelled" and "asset_id" not in final
        assert c.post(f"/video/v1/edits/{edit['id']}/cancel").json()["data"]["status"] == "cancelled"

        assert c.delete(f"/video/v1/templates/{template['id']}").status_code == 204
        assert c.get(f"/video/v1/templates/{template['id']}").status_code == 404
        r = c.post("/video/v1/edits", json={"template_id": template["id"], "merge": merge})
        assert r.status_code == 404


def _job_of(server: VidlakeServer, edit_id: str) -> str:
    db = sqlite3.connect(server.data_dir / "vidlake.db")
    try:
        row = db.execute("SELECT job_id FROM edits WHERE id = ?", (edit_id,)).fetchone()
    finally:
        db.close()
    assert row is not None and row[0]
    return str(row[0])


def test_cancel_stops_a_running_render(server: VidlakeServer) -> None:
    long_doc = {"timeline": {"tracks": [
        {"clips": [{"asset": {"type": "text", "text": "a long render"}, "start": 0, "length": 120}]},
        {"clips": [{"asset": {"type": "color", "color": "#336699"}, "start": 0, "length": 120,
                    "filter": "blur"}]}]},
        "output": {"resolution": "1080p", "fps": 30}}
    with server.client() as c:
        r = c.post("/video/v1/edits", json=long_doc)
        assert r.status_code == 201, r.text
        edit_id = r.json()["data"]["id"]
        deadline = time.monotonic() + 60
        while c.get(f"/video/v1/edits/{edit_id}").json()["data"]["status"] == "queued":
            assert time.monotonic() < deadline, "the render never started"
            time.sleep(0.1)
        r = c.post(f"/video/v1/edits/{edit_id}/cancel")
        assert r.status_code == 200 and r.json()["data"]["status"] == "cancelled", r.text
        job_id = _job_of(server, edit_id)
        deadline = time.monotonic() + 60
        while (job := c.get(f"/system/v1/jobs/{job_id}").json()["data"])["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, "the render job did not stop"
            time.sleep(0.2)
        assert job["state"] == "cancelled", job
        final = c.get(f"/video/v1/edits/{edit_id}").json()["data"]
        assert final["status"] == "cancelled" and "asset_id" not in final
        assert c.post(f"/video/v1/edits/{edit_id}/cancel").status_code == 200


def test_url_source_that_cannot_be_fetched_ends_errored(server: VidlakeServer) -> None:
    # The test server allows private networks, so the URL passes the request-time check; the pull at
    # render time fails (nothing listens on port 1) and the edit ends errored, naming the field.
    doc = {"timeline": {"tracks": [{"clips": [
        {"asset": {"type": "video", "src": "https://127.0.0.1:1/clip.mp4"}, "start": 0, "length": 1}]}]},
        "output": {"resolution": "360p"}, "preview": True}
    with server.client() as c:
        r = c.post("/video/v1/edits", json=doc)
        assert r.status_code == 201, r.text
        edit = wait_edit(c, r.json()["data"]["id"])
    assert edit["status"] == "errored" and edit["errors"]["type"] == "invalid_edit", edit
    assert edit["errors"]["messages"][0].startswith(
        "timeline.tracks[0].clips[0].asset.src: cannot use source 'https://127.0.0.1:1/clip.mp4'")
    db = sqlite3.connect(server.data_dir / "vidlake.db")
    try:
        types = {row[0] for row in db.execute("SELECT type FROM events WHERE object_id = ?", (edit["id"],))}
    finally:
        db.close()
    assert types == {"video.edit.created", "video.edit.errored"}


def test_edits_asking_for_unbounded_work_are_400(server: VidlakeServer) -> None:
    """Issue 11: one colour clip at scale 10 on a 1600x1600 output made ffmpeg allocate 1.65 GB for two
    frames; the API now refuses it before queueing, naming the clip's scale."""
    clip = {"asset": {"type": "color", "color": "#336699"}, "start": 0, "length": 0.1, "scale": 10}
    doc = {"timeline": {"tracks": [{"clips": [clip]}]},
           "output": {"resolution": {"width": 1600, "height": 1600}, "fps": 30}}
    with server.client() as c:
        errors = errors_of(c.post("/video/v1/edits", json=doc))
    assert any(e.startswith("timeline.tracks[0].clips[0].scale: makes a layer of 256000000 pixels") for e in errors)
