"""Alternate audio tracks end to end: a dub added by URL is encoded beside the primary audio, listed in
the master's AUDIO group (LANGUAGE, NAME, DEFAULT=NO), aligned with the primary's segments and padded or
cut to the asset's duration, and removed by DELETE; bad files end errored with the reason; mux-python
adds one unchanged."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import mux_python
import numpy as np
import pytest
from media import FileServer, make_av
from services import VidlakeServer
from test_assets import wait_asset

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.package import hls

pytestmark = pytest.mark.slow
PRIMARY_HZ, DUB_HZ, LONG_HZ = 440, 1000, 1500  # make_av's tone; the dubs' tones


def _tone(dest: Path, hz: int, seconds: float) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi",
                    "-i", f"sine=f={hz}:sample_rate=44100:d={seconds}", "-ac", "1",
                    "-c:a", "libmp3lame", str(dest)], check=True, timeout=60)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    root = tmp_path_factory.mktemp("dubs")
    make_av(root / "clip.mp4", seconds=6, size="320x180")
    make_av(root / "silent.mp4", seconds=4, size="320x180", audio=False)
    _tone(root / "dub.mp3", DUB_HZ, 4.0)  # shorter than the video: padded with silence
    _tone(root / "long.mp3", LONG_HZ, 9.0)  # longer: cut
    (root / "notes.txt").write_text("this is not audio\n" * 50)
    server = FileServer(root)
    yield server
    server.close()


def _asset(server: VidlakeServer, url: str) -> dict[str, Any]:
    with server.client() as c:
        r = c.post("/video/v1/assets", json={"input": [{"url": url}], "playback_policy": ["public"]})
        assert r.status_code == 201, r.text
        asset = wait_asset(c, r.json()["data"]["id"])
    assert asset["status"] == "ready", asset
    return asset


def _add(c: httpx.Client, asset_id: str, **body: Any) -> httpx.Response:
    return c.post(f"/video/v1/assets/{asset_id}/tracks", json={"type": "audio", **body})


def _wait_track(c: httpx.Client, asset_id: str, track_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    track: dict[str, Any] = {}
    while time.monotonic() < deadline:
        tracks = c.get(f"/video/v1/assets/{asset_id}").json()["data"]["tracks"]
        track = next((t for t in tracks if t["id"] == track_id), {})
        if track.get("status") in ("ready", "errored"):
            return track
        time.sleep(0.3)
    raise AssertionError(f"track {track_id} did not finish: {track}")


def _master(server: VidlakeServer, pid: str) -> hls.MasterPlaylist:
    master = hls.parse(httpx.get(f"{server.url}/{pid}.m3u8").text)
    assert isinstance(master, hls.MasterPlaylist)
    return master


def _decode(server: VidlakeServer, uri: str, work: Path) -> tuple[hls.MediaPlaylist, np.ndarray, int]:
    """The rendition's media playlist and its decoded mono samples (init + every segment, fetched as a
    player would) with their sample rate."""
    playlist = hls.parse(httpx.get(f"{server.url}/{uri}").text)
    assert isinstance(playlist, hls.MediaPlaylist) and playlist.endlist
    base = uri.rsplit("/", 1)[0]
    data = httpx.get(f"{server.url}/{base}/{playlist.segments[0].init_uri}").content
    for segment in playlist.segments:
        data += httpx.get(f"{server.url}/{base}/{segment.uri}").content
    path = work / f"{abs(hash(uri))}.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        chunks = [frame.to_ndarray().mean(axis=0) for frame in container.decode(stream)]
    return playlist, np.concatenate(chunks), rate


def _dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


@pytest.fixture(scope="module")
def dubbed(server: VidlakeServer, files: FileServer) -> dict[str, Any]:
    """An asset with two alternate tracks: a short Mandarin dub and a long English one."""
    asset = _asset(server, f"{files.url}/clip.mp4")
    with server.client() as c:
        zh = _add(c, asset["id"], url=f"{files.url}/dub.mp3", language_code="zh-CN", name="普通话", passthrough="p")
        en = _add(c, asset["id"], url=f"{files.url}/long.mp3", language_code="en")
        assert zh.status_code == 201 and en.status_code == 201, (zh.text, en.text)
        assert zh.json()["data"]["status"] == "preparing" and zh.json()["data"]["primary"] is False
        tracks = {name: _wait_track(c, asset["id"], r.json()["data"]["id"]) for name, r in (("zh", zh), ("en", en))}
    return {"asset": asset, "tracks": tracks}


def test_dubs_are_listed_in_the_audio_group(server: VidlakeServer, dubbed: dict[str, Any]) -> None:
    zh, en = dubbed["tracks"]["zh"], dubbed["tracks"]["en"]
    assert zh["status"] == "ready" and en["status"] == "ready", (zh, en)
    assert zh["duration"] == pytest.approx(dubbed["asset"]["duration"], abs=0.01) and zh["max_channels"] == 1
    assert zh["passthrough"] == "p" and en["name"] == "English"
    master = _master(server, dubbed["asset"]["playback_ids"][0]["id"])
    audio = [r for r in master.renditions if r.type == "AUDIO"]
    assert len(audio) == 3 and len({r.group_id for r in audio}) == 1
    primary, *dubs = audio
    assert primary.default and all(not r.default and r.autoselect for r in dubs)
    assert {(r.language, r.name) for r in dubs} == {("zh-CN", "普通话"), ("en", "English")}
    assert all(v.audio == primary.group_id for v in master.variants)


def test_dub_is_aligned_padded_and_cut(server: VidlakeServer, dubbed: dict[str, Any], tmp_path: Path) -> None:
    master = _master(server, dubbed["asset"]["playback_ids"][0]["id"])
    by_name = {r.name: r for r in master.renditions if r.type == "AUDIO"}
    main, main_samples, rate = _decode(server, str(by_name["Default"].uri), tmp_path)
    duration = dubbed["asset"]["duration"]
    for name, hz in (("普通话", DUB_HZ), ("English", LONG_HZ)):
        playlist, samples, dub_rate = _decode(server, str(by_name[name].uri), tmp_path)
        # Same segment boundaries as the primary audio, so a player switches without a gap.
        assert [round(s.duration, 2) for s in playlist.segments] == [round(s.duration, 2) for s in main.segments]
        assert len(samples) / dub_rate == pytest.approx(duration, abs=0.1)
        first = samples[: int(3 * dub_rate)]
        assert _dominant_hz(first, dub_rate) == pytest.approx(hz, abs=15)  # the dub, not the primary's tone
        if name == "普通话":  # a 4 s file on a 6 s video: the rest is silence
            tail = samples[int(4.3 * dub_rate):]
            assert np.sqrt(np.mean(tail**2)) < 0.01 * np.sqrt(np.mean(first**2))
    assert _dominant_hz(main_samples[: int(3 * rate)], rate) == pytest.approx(PRIMARY_HZ, abs=15)


def test_bad_files_end_errored_with_the_reason(server: VidlakeServer, dubbed: dict[str, Any],
                                               files: FileServer) -> None:
    asset_id = dubbed["asset"]["id"]
    with server.client() as c:
        for name, reason in (("silent.mp4", "no audio"), ("notes.txt", "not"), ("missing.mp3", "404")):
            r = _add(c, asset_id, url=f"{files.url}/{name}", language_code="fr")
            assert r.status_code == 201, r.text
            track = _wait_track(c, asset_id, r.json()["data"]["id"])
            assert track["status"] == "errored" and reason in track["error"]["messages"][0], track
            assert c.delete(f"/video/v1/assets/{asset_id}/tracks/{track['id']}").status_code == 204
    master = _master(server, dubbed["asset"]["playback_ids"][0]["id"])
    assert len([r for r in master.renditions if r.type == "AUDIO"]) == 3  # errored tracks never listed


@pytest.mark.parametrize(("body", "field"), [
    ({"language_code": "not a tag!"}, "language_code"),
    ({"language_code": "en", "closed_captions": True}, "closed_captions"),
    ({"language_code": "en", "name": "Default"}, "name"),
    ({"language_code": "fr", "url": "file:///etc/passwd"}, "url"),
])
def test_bad_requests_name_the_field(server: VidlakeServer, dubbed: dict[str, Any], files: FileServer,
                                     body: dict[str, Any], field: str) -> None:
    with server.client() as c:
        r = _add(c, dubbed["asset"]["id"], **{"url": f"{files.url}/dub.mp3", **body})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["messages"][0].startswith(field), r.text


def test_primary_audio_cannot_be_deleted(server: VidlakeServer, dubbed: dict[str, Any]) -> None:
    asset_id = dubbed["asset"]["id"]
    with server.client() as c:
        primary = next(t for t in c.get(f"/video/v1/assets/{asset_id}").json()["data"]["tracks"]
                       if t["type"] == "audio" and t.get("primary"))
        r = c.delete(f"/video/v1/assets/{asset_id}/tracks/{primary['id']}")
    assert r.status_code == 400 and "primary" in r.text


def test_video_only_asset_gets_an_audio_group(server: VidlakeServer, files: FileServer, tmp_path: Path) -> None:
    asset = _asset(server, f"{files.url}/silent.mp4")
    with server.client() as c:
        r = _add(c, asset["id"], url=f"{files.url}/dub.mp3", language_code="zh")
        track = _wait_track(c, asset["id"], r.json()["data"]["id"])
    assert track["status"] == "ready", track
    master = _master(server, asset["playback_ids"][0]["id"])
    (audio,) = [r for r in master.renditions if r.type == "AUDIO"]
    assert audio.language == "zh" and audio.name == "中文"  # the default name: the language's own
    assert all(v.audio == audio.group_id and "mp4a.40.2" in str(v.codecs) for v in master.variants)
    _, samples, rate = _decode(server, str(audio.uri), tmp_path)
    assert len(samples) / rate == pytest.approx(asset["duration"], abs=0.1)


def test_delete_removes_the_rendition(server: VidlakeServer, files: FileServer) -> None:
    asset = _asset(server, f"{files.url}/clip.mp4")
    pid = asset["playback_ids"][0]["id"]
    with server.client() as c:
        track = _wait_track(c, asset["id"], _add(c, asset["id"], url=f"{files.url}/dub.mp3",
                                                 language_code="de").json()["data"]["id"])
        uri = next(r.uri for r in _master(server, pid).renditions if r.type == "AUDIO" and r.language == "de")
        assert httpx.get(f"{server.url}/{uri}").status_code == 200
        assert c.delete(f"/video/v1/assets/{asset['id']}/tracks/{track['id']}").status_code == 204
        tracks = c.get(f"/video/v1/assets/{asset['id']}").json()["data"]["tracks"]
    assert track["id"] not in [t["id"] for t in tracks]
    assert [r.language for r in _master(server, pid).renditions if r.type == "AUDIO"] == [None]
    assert httpx.get(f"{server.url}/{uri}").status_code == 404


def test_mux_python_adds_an_audio_track(server: VidlakeServer, dubbed: dict[str, Any], files: FileServer) -> None:
    config = mux_python.Configuration()
    config.host = server.url
    config.username, config.password = server.auth
    api = mux_python.AssetsApi(mux_python.ApiClient(config))
    # mux-python insists on a text_type even for audio (its client-side validation); Vidlake ignores it there.
    made = api.create_asset_track(dubbed["asset"]["id"], mux_python.CreateTrackRequest(
        url=f"{files.url}/dub.mp3", type="audio", text_type="subtitles", language_code="es", name="Español"))
    assert made.data.type == "audio" and made.data.status == "preparing"
    with server.client() as c:
        assert _wait_track(c, dubbed["asset"]["id"], made.data.id)["status"] == "ready"
    api.delete_asset_track(dubbed["asset"]["id"], made.data.id)


HLS_PAGE = """<!doctype html><meta charset="utf-8"><video id="v" muted playsinline></video>
<script src="/console/static/vendor/hls.min.js"></script>
<script>
  window.result = {errors: [], switched: null};
  const hls = new Hls();
  window.hls = hls;
  hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) window.result.errors.push(d.details); });
  hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, (_, d) => { window.result.switched = d.id; });
  hls.loadSource(MASTER);
  hls.attachMedia(document.getElementById("v"));
</script>"""


def test_hls_js_switches_to_the_dub_in_chromium(server: VidlakeServer, dubbed: dict[str, Any]) -> None:
    from browser import chromium_browser

    pid = dubbed["asset"]["playback_ids"][0]["id"]
    page_url = f"{server.url}/audio-tracks-test.html"
    with chromium_browser() as browser:
        page = browser.new_page()
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.route(page_url, lambda route: route.fulfill(
            content_type="text/html", body=HLS_PAGE.replace("MASTER", repr(f"/{pid}.m3u8"))))
        page.goto(page_url)
        page.wait_for_function("() => window.hls && window.hls.audioTracks.length > 0", timeout=30_000)
        names = page.evaluate("() => window.hls.audioTracks.map(t => [t.name, t.lang || null, t.default])")
        assert [n[0] for n in names] == ["Default", "普通话", "English"], names
        assert names[0][2] is True and names[1][1] == "zh-CN"
        # The viewer switches once the default audio and the video are buffered (the video stays paused, so
        # a 6 s clip cannot end first). hls.js 1.7.4 stalls for good when the track is switched before the
        # first fragments are buffered (it aborts the audio load and never resumes): not what is tested here.
        page.wait_for_function("() => document.getElementById('v').readyState >= 2", timeout=60_000)
        folder = next(t for t in dubbed["tracks"].values() if t["name"] == "普通话")["id"]
        page.evaluate("() => { window.hls.audioTrack = 1; }")
        page.wait_for_function("() => window.result.errors.length > 0 || window.result.switched === 1",
                               timeout=60_000)
        assert page.evaluate("() => window.result.errors") == []
        deadline = time.monotonic() + 60
        while not any(f"/audio_{folder}/seg_" in url for url in requested) and time.monotonic() < deadline:
            page.wait_for_timeout(200)  # the player fetches the dub's segments
        assert any(f"/audio_{folder}/seg_" in url for url in requested), requested
        assert page.evaluate("() => window.result.errors") == []
        page.close()
