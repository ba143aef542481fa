"""Live clipping end to end: a real ffmpeg publisher over RTMP into a recorded live stream of a real
``vidlake serve``, then an edit whose clip takes 2 s of the recording (``"src": "live:<id>"``)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from live_support import create_stream, publish, wait_for
from services import VidlakeServer

from vidlake.core.errors import InvalidParameters
from vidlake.core.settings import Settings
from vidlake.db.migrate import upgrade
from vidlake.db.models import Environment
from vidlake.edit.service import LibraryResolver, check_document
from vidlake.ffmpeg import ffmpeg_exe
from vidlake.live import streams
from vidlake.live.recording import create_live_asset
from vidlake.startup import build_services
from vidlake.storage import keys


@pytest.fixture(scope="module")
def rtmp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    server = VidlakeServer(tmp_path_factory.mktemp("edit-live"), rtmp=True, workers=1).start()
    yield server
    server.stop()


def clip_edit(src: str, trim: float, length: float, *, preview: bool = True) -> dict[str, Any]:
    """A request (or, ``preview=False``, a bare document) with one clip of ``src``."""
    return {"timeline": {"tracks": [{"clips": [
                {"asset": {"type": "video", "src": src, "trim": trim}, "start": 0, "length": length}]}]},
            "output": {"resolution": {"width": 320, "height": 180}, "fps": 25},
            **({"preview": True} if preview else {})}



def errors_of(r: httpx.Response) -> str:
    assert r.status_code == 400, r.text
    return str(r.json()["error"]["messages"])


@pytest.mark.slow
def test_live_source_errors(rtmp_server: VidlakeServer) -> None:
    with rtmp_server.client() as c:
        text = errors_of(c.post("/video/v1/edits", json=clip_edit("live:nope", 0, 1)))
        assert "timeline.tracks[0].clips[0].asset.src" in text and "no live stream 'nope'" in text
        plain = create_stream(c)
        text = errors_of(c.post("/video/v1/edits", json=clip_edit(f"live:{plain['id']}", 0, 1)))
        assert "timeline.tracks[0].clips[0].asset.src" in text and "not recorded" in text
        idle = create_stream(c, new_asset_settings={"playback_policy": ["public"]})
        text = errors_of(c.post("/video/v1/edits", json=clip_edit(f"live:{idle['id']}", 0, 1)))
        assert "has not recorded anything yet" in text


@pytest.mark.slow
def test_clip_from_live_recording(rtmp_server: VidlakeServer, tmp_path: Path) -> None:
    with rtmp_server.client() as c:
        stream = create_stream(c, reconnect_window=0, new_asset_settings={"playback_policy": ["public"]})
        sid, src = stream["id"], f"live:{stream['id']}"
        pub = publish(f"rtmp://127.0.0.1:{rtmp_server.rtmp_port}/live/{stream['stream_key']}", seconds=6)
        try:
            wait_for(lambda: c.get(f"/video/v1/live-streams/{sid}").json()["data"]["status"] == "active",
                     "stream active")
            # Only ~6 s are ever published: 30 s is past what is recorded, reported at the clip's length.
            text = errors_of(c.post("/video/v1/edits", json=clip_edit(src, 1, 30)))
            assert "timeline.tracks[0].clips[0].length" in text and "runs past the end" in text
            # Accepted once 3 s are recorded (from the DVR window while live, else from the recording).
            created = wait_for(lambda: (lambda r: r.json()["data"] if r.status_code == 201 else None)(
                c.post("/video/v1/edits", json=clip_edit(src, 1, 2))), "3 s recorded")
        finally:
            assert pub.wait(60) == 0, pub.stderr.read() if pub.stderr else ""
        assert created["duration"] == pytest.approx(2.0)
        edit = wait_for(lambda: (lambda e: e if e["status"] not in ("queued", "rendering") else None)(
            c.get(f"/video/v1/edits/{created['id']}").json()["data"]), "edit rendered")
        assert edit["status"] == "completed", edit
        asset = wait_for(lambda: (lambda a: a if a["status"] != "preparing" else None)(
            c.get(f"/video/v1/assets/{edit['asset_id']}").json()["data"]), "edit asset ready")
        assert asset["status"] == "ready", asset
        assert asset["duration"] == pytest.approx(2.0, abs=0.15)
        clip = download(rtmp_server, asset["playback_ids"][0]["id"], tmp_path / "clip.mp4")
        wait_for(lambda: c.get(f"/video/v1/live-streams/{sid}").json()["data"]["status"] == "idle", "idle")
        recording_id = c.get(f"/video/v1/live-streams/{sid}").json()["data"]["recent_asset_ids"][-1]
        recording = wait_for(lambda: (lambda a: a if a["status"] != "preparing" else None)(
            c.get(f"/video/v1/assets/{recording_id}").json()["data"]), "recording ready")
        source = download(rtmp_server, recording["playback_ids"][0]["id"], tmp_path / "recording.mp4")
    frames = decoded(clip)
    assert 28 <= len(frames) <= 32  # ~2 s; a preview renders at most 15 frames per second
    height, width = frames[0][1].shape[:2]
    # The clip starts 1 s into the recording (trim 1): its first picture matches the recording at 1 s.
    recorded = decoded(source, width, height)
    at_1 = min(recorded, key=lambda f: abs(f[0] - recorded[0][0] - 1.0))[1]
    at_0, at_2 = recorded[0][1], min(recorded, key=lambda f: abs(f[0] - recorded[0][0] - 2.5))[1]
    diff = lambda a, b: float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())  # noqa: E731
    assert diff(frames[0][1], at_1) < diff(frames[0][1], at_0)
    assert diff(frames[0][1], at_1) < diff(frames[0][1], at_2)


def download(server: VidlakeServer, playback_id: str, dest: Path) -> Path:
    """The HLS rendition of ``playback_id`` copied into one MP4."""
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-i", f"{server.url}/{playback_id}.m3u8",
                    "-c", "copy", "-y", str(dest)], check=True, timeout=60)
    return dest


def decoded(path: Path, width: int | None = None, height: int | None = None) -> list[tuple[float, np.ndarray]]:
    """(time seconds, RGB picture scaled to width x height) of every video frame."""
    with av.open(str(path)) as container:
        return [(float(f.time or 0.0), f.to_ndarray(format="rgb24", width=width, height=height))
                for f in container.decode(video=0)]


def record_run(root: Path, run: int, seconds: int) -> None:
    """One publish's passthrough rung as the live pipeline leaves it: 1 s MPEG-TS segments under
    ``run{run}/v0/`` listed by ffmpeg's own ``index.m3u8`` (no live ``v0.m3u8``)."""
    out = root / f"run{run}" / "v0"
    out.mkdir(parents=True)
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    f"testsrc2=size=160x90:rate=25:d={seconds}", "-f", "lavfi", "-i", f"sine=d={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_segment_filename",
                    str(out / "%05d.ts"), str(out / "index.m3u8")], check=True, timeout=60)


def test_dvr_window_segments(tmp_path: Path) -> None:
    """While live (no remux yet), the recorded segments become one local file; the range is checked
    against what is recorded so far."""
    url = f"sqlite:///{tmp_path / 'vidlake.db'}"
    upgrade(url)
    services = build_services(Settings(data_dir=tmp_path / "data", database_url=url))
    try:
        with services.db.session() as session:
            session.add(Environment(id="env1", name="test"))
            session.flush()
            stream = streams.create_live_stream(session, "env1", {"new_asset_settings": {}, "latency_mode": "low"})
            stream.active_asset_id = create_live_asset(session, stream).id
            stream_id, asset_id = stream.id, stream.active_asset_id
        run_dir = services.storage.local_dir(keys.asset_hls("env1", asset_id, "live"))
        assert run_dir is not None
        record_run(run_dir, 0, 3)
        checked = LibraryResolver(services, "env1")(f"live:{stream_id}")
        assert checked.duration_s == pytest.approx(3.0, abs=0.1)
        assert (checked.width, checked.height, checked.has_audio) == (160, 90, True)
        local = LibraryResolver(services, "env1", work_dir=tmp_path)(f"live:{stream_id}")
        assert local.duration_s == checked.duration_s
        with av.open(local.path) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert 73 <= frames <= 77
        with services.db.session() as session:
            assert check_document(session, services, "env1", clip_edit(f"live:{stream_id}", 1, 2, preview=False)) == 2.0
            with pytest.raises(InvalidParameters) as caught:
                check_document(session, services, "env1", clip_edit(f"live:{stream_id}", 2, 2, preview=False))
            assert "timeline.tracks[0].clips[0].length" in str(caught.value.args)
            with pytest.raises(InvalidParameters) as caught:
                check_document(session, services, "other", clip_edit(f"live:{stream_id}", 0, 1, preview=False))
            assert "no live stream" in str(caught.value.args)
        # A reconnect: a second run (timestamps restart at 0) is joined after the first.
        record_run(run_dir, 1, 2)
        local = LibraryResolver(services, "env1", work_dir=tmp_path)(f"live:{stream_id}")
        assert local.duration_s == pytest.approx(5.0, abs=0.15)
        with av.open(local.path) as container:
            times = [float(f.time or 0.0) for f in container.decode(video=0)]
        assert 122 <= len(times) <= 128 and times == sorted(times)
        assert times[-1] - times[0] == pytest.approx(5.0, abs=0.2)
    finally:
        services.close()
