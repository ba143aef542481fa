"""A web input end to end, driven by mux-python: a real Chromium renders a test page (known colours, a
moving bar, a 1000 Hz tone) on a virtual display, ffmpeg streams picture and sound into a live stream,
and the live HLS carries that page: 1280x720, the colours where the page draws them, the bar moving, the
tone. Reload loads the page again (counted by the page's server); shutdown ends the publish."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import mux_python
import numpy as np
import pytest
from live_support import create_stream, fetch_media_playlist, stream_status, wait_for
from page_server import BACKGROUND, SQUARE, TONE_HZ, PageServer
from services import VidlakeServer

from vidlake.package import hls

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pages() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.close()


def _api(server: VidlakeServer) -> mux_python.WebInputsApi:
    return mux_python.WebInputsApi(server.mux_client())


def _decode(paths: list[Path]) -> tuple[list[np.ndarray], np.ndarray, int]:
    """Video frames (RGB arrays) and mono audio samples (float) of the segments, and the sample rate."""
    frames: list[np.ndarray] = []
    audio: list[np.ndarray] = []
    rate = 48000
    for path in paths:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                frames.append(frame.to_ndarray(format="rgb24"))
        with av.open(str(path)) as container:
            for aframe in container.decode(audio=0):
                rate = aframe.sample_rate
                audio.append(aframe.to_ndarray().astype(np.float64).reshape(len(aframe.layout.channels), -1)[0])
    return frames, np.concatenate(audio) if audio else np.zeros(0), rate


def _segments(server: VidlakeServer, pid: str, count: int) -> tuple[str, hls.MediaPlaylist] | None:
    """The live playlist once it lists ``count`` segments (``None`` before, or while not yet written)."""
    try:
        url, media = fetch_media_playlist(server.url, pid)
    except httpx.HTTPStatusError:
        return None
    return (url, media) if len(media.segments) >= count else None


def test_a_web_page_streams_into_a_live_stream(live_server: VidlakeServer, pages: PageServer,
                                               tmp_path: Path) -> None:
    api = _api(live_server)
    with live_server.client() as c:
        stream = create_stream(c, latency_mode="reduced", reconnect_window=0)
        sid, pid = stream["id"], stream["playback_ids"][0]["id"]
        created = api.create_web_input(mux_python.CreateWebInputRequest(
            url=f"{pages.url}/page.html", live_stream_id=sid, resolution="1280x720", timeout=600,
            passthrough="scoreboard")).data
        assert created.status == "idle" and created.resolution == "1280x720" and created.passthrough == "scoreboard"
        assert created.id in [w.id for w in api.list_web_inputs().data]
        launched = api.launch_web_input(created.id).data  # mux-python types it as a plain object
        assert launched["status"] == "launching"
        try:
            wait_for(lambda: api.get_web_input(created.id).data.status == "streaming", "web input streaming", 60)
            assert stream_status(c, sid)["status"] == "active"
            url, media = wait_for(lambda: _segments(live_server, pid, 4), "four live segments", 60)
            base = url.rsplit("/", 1)[0]
            paths = []
            for n, seg in enumerate(media.segments[-3:]):
                path = tmp_path / f"{n}.ts"
                path.write_bytes(httpx.get(f"{base}/{seg.uri}", timeout=10).raise_for_status().content)
                paths.append(path)
            frames, audio, rate = _decode(paths)
            assert frames and frames[0].shape == (720, 1280, 3)
            last = frames[-1].astype(np.float64)
            # The page's colours where it draws them (x264 and YUV 4:2:0 move them by a few levels).
            background, square = last[650:700, 900:1200].mean(axis=(0, 1)), last[450:550, 150:250].mean(axis=(0, 1))
            assert np.abs(background - BACKGROUND).max() < 20, background
            assert np.abs(square - SQUARE).max() < 20, square
            # The bar moves: the strip it runs along differs between the first and last frame.
            strip = (slice(100, 200), slice(0, 1280))
            assert np.abs(frames[0][strip].astype(np.float64) - last[strip]).mean() > 5
            # The page's tone: the strongest frequency of the sound is 1000 Hz.
            assert audio.size > rate, "less than a second of audio"
            spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
            peak_hz = float(np.fft.rfftfreq(audio.size, 1 / rate)[int(np.argmax(spectrum))])
            assert abs(peak_hz - TONE_HZ) < 5, peak_hz
            # The URL only changes while idle (Mux's rule).
            with pytest.raises(mux_python.exceptions.ApiException) as conflict:
                api.update_web_input_url(created.id, mux_python.UpdateWebInputUrlRequest(url=f"{pages.url}/other.html"))
            assert conflict.value.status == 409
            # Reload loads the page again.
            assert pages.loads["/page.html"] == 1
            api.reload_web_input(created.id)
            wait_for(lambda: pages.loads["/page.html"] >= 2, "the page loaded again", 30)
        finally:
            api.shutdown_web_input(created.id)
        assert api.get_web_input(created.id).data.status == "idle"
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "the live stream idle after shutdown", 60)
        moved = api.update_web_input_url(created.id, mux_python.UpdateWebInputUrlRequest(
            url=f"{pages.url}/other.html")).data
        assert moved.url.endswith("/other.html")
        api.delete_web_input(created.id)
        with pytest.raises(mux_python.exceptions.NotFoundException):
            api.get_web_input(created.id)


def test_web_input_requests_are_validated(live_server: VidlakeServer) -> None:
    with live_server.client() as c:
        sid = create_stream(c)["id"]
        bad = [({"url": "file:///etc/passwd", "live_stream_id": sid}, "url"),
               ({"url": "https://example.com/", "live_stream_id": "nope"}, "live stream"),
               ({"url": "https://example.com/", "live_stream_id": sid, "resolution": "640x480"}, "resolution"),
               ({"url": "https://example.com/", "live_stream_id": sid, "timeout": 5}, "timeout")]
        for body, named in bad:
            r = c.post("/video/v1/web-inputs", json=body)
            assert r.status_code in (400, 404) and named in r.text, (body, r.text)
        made = c.post("/video/v1/web-inputs", json={"url": "https://example.com/", "live_stream_id": sid}).json()
        wid = made["data"]["id"]
        assert made["data"]["resolution"] == "1920x1080" and made["data"]["timeout"] == 3600
        r = c.put(f"/video/v1/web-inputs/{wid}/reload")
        assert r.status_code == 409 and "not running" in r.text, r.text
        c.put(f"/video/v1/live-streams/{sid}/disable")
        r = c.put(f"/video/v1/web-inputs/{wid}/launch")
        assert r.status_code == 409 and "disabled" in r.text, r.text
