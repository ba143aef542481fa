"""Text tracks end to end: generated Mandarin captions from the asset's input settings, subtitle files
(UTF-8 and GBK SRT, WebVTT) added by URL, bad files errored with the line, deletion, vocabularies; all
served as an HLS SUBTITLES rendition and ``/text/{track_id}.vtt``."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bench_modules import speech_corpus
from media import FileServer
from services import VidlakeServer
from test_assets import wait_asset

from vidlake.ffmpeg import ffmpeg_exe

pytestmark = pytest.mark.slow
SRT_ZH = ("1\n00:00:00,500 --> 00:00:02,000\n欢迎来到直播间\n\n"
          "2\n00:00:02,500 --> 00:00:04,000\n今天的课程开始了\n")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    root = tmp_path_factory.mktemp("files")
    corpus = speech_corpus()
    speech = corpus.render(root / "zh", "zh", corpus.ZH_SENTENCES[:3], ffmpeg=ffmpeg_exe())
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25",
                    "-i", str(speech.path), "-shortest", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "copy", str(root / "lesson.mp4")], check=True)
    (root / "zh-utf8.srt").write_text(SRT_ZH, encoding="utf-8")
    (root / "zh-gbk.srt").write_bytes(SRT_ZH.replace("\n", "\r\n").encode("gbk"))
    (root / "en.vtt").write_text("WEBVTT\n\n00:01.000 --> 00:02.000\nHello <b>there</b>\n")
    (root / "broken.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 -> 00:00:04,000\nx\n")
    (root / "overlap.srt").write_text("1\n00:00:01,000 --> 00:00:05,000\na\n\n2\n00:00:03,000 --> 00:00:06,000\nb\n")
    (root / "image.srt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 8)
    with (root / "huge.srt").open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    server = FileServer(root)
    yield server
    server.close()


def _wait_track(c: httpx.Client, asset_id: str, track_id: str, timeout_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    track: dict[str, Any] = {}
    while time.monotonic() < deadline:
        tracks = c.get(f"/video/v1/assets/{asset_id}").json()["data"]["tracks"]
        track = next((t for t in tracks if t["id"] == track_id), {})
        if track.get("status") in ("ready", "errored"):
            return track
        time.sleep(0.3)
    raise AssertionError(f"track {track_id} did not finish: {track}")


@pytest.fixture(scope="module")
def lesson(server: VidlakeServer, files: FileServer) -> dict[str, Any]:
    """An asset whose input settings ask for Mandarin captions."""
    with server.client() as c:
        r = c.post("/video/v1/assets", json={
            "input": [{"url": f"{files.url}/lesson.mp4",
                       "generated_subtitles": [{"language_code": "zh", "name": "中文"}]}],
            "playback_policy": ["public"]})
        assert r.status_code == 201, r.text
        asset = wait_asset(c, r.json()["data"]["id"])
        assert asset["status"] == "ready"
        return asset


def test_generated_mandarin_captions_are_served(server: VidlakeServer, lesson: dict[str, Any]) -> None:
    with server.client() as c:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            tracks = c.get(f"/video/v1/assets/{lesson['id']}").json()["data"]["tracks"]
            text = [t for t in tracks if t["type"] == "text"]
            if text and text[0]["status"] != "preparing":
                break
            time.sleep(0.3)
        assert len(text) == 1, tracks
        track = text[0]
        assert track["status"] == "ready", track
        assert (track["text_source"], track["language_code"], track["name"]) == ("generated_vod", "zh", "中文")
        pid = lesson["playback_ids"][0]["id"]
        master = c.get(f"/{pid}.m3u8").text
        assert 'TYPE=SUBTITLES' in master and 'LANGUAGE="zh"' in master and 'NAME="中文"' in master
        vtt = c.get(f"/{pid}/text/{track['id']}.vtt")
        assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt")
        assert vtt.text.startswith("WEBVTT") and "课程" in vtt.text and "。" in vtt.text
        playlist = c.get(f"/{pid}/text/{track['id']}.m3u8").text
        assert f"{track['id']}.vtt" in playlist and "#EXT-X-ENDLIST" in playlist


@pytest.mark.parametrize("name", ["zh-utf8.srt", "zh-gbk.srt"])
def test_srt_tracks_in_utf8_and_gbk(server: VidlakeServer, files: FileServer, lesson: dict[str, Any],
                                    name: str) -> None:
    with server.client() as c:
        r = c.post(f"/video/v1/assets/{lesson['id']}/tracks", json={
            "url": f"{files.url}/{name}", "type": "text", "text_type": "subtitles", "language_code": "zh-CN",
            "name": "简体中文", "closed_captions": False, "passthrough": "srt"})
        assert r.status_code == 201, r.text
        created = r.json()["data"]
        assert (created["status"], created["text_source"]) == ("preparing", "uploaded")
        track = _wait_track(c, lesson["id"], created["id"])
        assert track["status"] == "ready", track
        pid = lesson["playback_ids"][0]["id"]
        vtt = c.get(f"/{pid}/text/{track['id']}.vtt").text
        assert "00:00:00.500 --> 00:00:02.000\n欢迎来到直播间" in vtt
        c.delete(f"/video/v1/assets/{lesson['id']}/tracks/{track['id']}").raise_for_status()
        assert track["id"] not in c.get(f"/{pid}.m3u8").text
        assert c.get(f"/{pid}/text/{track['id']}.vtt").status_code == 404


@pytest.mark.parametrize(("name", "language", "reason"), [
    ("broken.srt", "en", "line 6: expected a cue timing"),
    ("overlap.srt", "en", "line 6: cue overlaps"),
    ("image.srt", "en", "not a text file"),
    ("huge.srt", "en", "limit of 8388608 bytes"),
    ("zh-utf8.srt", "en", None),  # too short to judge the script: accepted
])
def test_bad_files_error_the_track_with_the_reason(server: VidlakeServer, files: FileServer,
                                                   lesson: dict[str, Any], name: str, language: str,
                                                   reason: str | None) -> None:
    with server.client() as c:
        r = c.post(f"/video/v1/assets/{lesson['id']}/tracks", json={
            "url": f"{files.url}/{name}", "type": "text", "text_type": "subtitles", "language_code": language})
        assert r.status_code == 201, r.text
        track = _wait_track(c, lesson["id"], r.json()["data"]["id"])
        pid = lesson["playback_ids"][0]["id"]
        if reason is None:
            assert track["status"] == "ready"
        else:
            assert track["status"] == "errored" and reason in track["error"]["messages"][0], track
            assert track["id"] not in c.get(f"/{pid}.m3u8").text
            assert c.get(f"/{pid}/text/{track['id']}.vtt").status_code == 404
        c.delete(f"/video/v1/assets/{lesson['id']}/tracks/{track['id']}").raise_for_status()


def test_bad_requests_are_4xx_naming_the_field(server: VidlakeServer, files: FileServer,
                                               lesson: dict[str, Any]) -> None:
    audio = next(t for t in lesson["tracks"] if t["type"] == "audio")
    video = next(t for t in lesson["tracks"] if t["type"] == "video")
    with server.client() as c:
        r = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/lesson.mp4",
                                                         "generated_subtitles": [{"language_code": "xx"}]}]})
        assert r.status_code == 400 and "input[0].generated_subtitles[0].language_code" in r.text
        base = f"/video/v1/assets/{lesson['id']}/tracks"
        r = c.post(f"{base}/{audio['id']}/generate-subtitles",
                   json={"generated_subtitles": [{"language_code": "klingon"}]})
        assert r.status_code == 400 and "language_code" in r.text
        r = c.post(f"{base}/{video['id']}/generate-subtitles", json={"generated_subtitles": [{"language_code": "en"}]})
        assert r.status_code == 400 and "audio track" in r.text
        r = c.post(f"{base}/nope/generate-subtitles", json={"generated_subtitles": [{"language_code": "en"}]})
        assert r.status_code == 404
        r = c.post(f"{base}/{audio['id']}/generate-subtitles",
                   json={"generated_subtitles": [{"language_code": "en", "transcription_vocabulary_ids": ["nope"]}]})
        assert r.status_code == 400 and "transcription_vocabulary_ids" in r.text
        r = c.post(base, json={"url": f"{files.url}/en.vtt", "type": "text", "language_code": "not a tag"})
        assert r.status_code == 400 and "language_code" in r.text
        r = c.post(base, json={"url": "file:///etc/passwd", "type": "text", "language_code": "en"})
        assert r.status_code == 400 and "url" in r.text
        assert c.delete(f"{base}/{video['id']}").status_code == 400
        assert c.delete(f"{base}/missing").status_code == 404


def test_vocabularies_crud_and_biased_generation(server: VidlakeServer, lesson: dict[str, Any]) -> None:
    with server.client() as c:
        r = c.post("/video/v1/transcription-vocabularies",
                   json={"name": "双十一", "phrases": ["双十一", " 直播间 ", "双十一"], "passthrough": "p"})
        assert r.status_code == 201, r.text
        vocab = r.json()["data"]
        assert vocab["phrases"] == ["双十一", "直播间"] and vocab["name"] == "双十一"
        assert vocab["id"] in [v["id"] for v in c.get("/video/v1/transcription-vocabularies").json()["data"]]
        r = c.put(f"/video/v1/transcription-vocabularies/{vocab['id']}", json={"phrases": ["双十一活动"]})
        assert r.json()["data"]["phrases"] == ["双十一活动"] and r.json()["data"]["passthrough"] == "p"
        assert c.post("/video/v1/transcription-vocabularies", json={"phrases": [""]}).status_code == 400
        assert c.post("/video/v1/transcription-vocabularies", json={"phrases": []}).status_code == 400
        audio = next(t for t in lesson["tracks"] if t["type"] == "audio")
        r = c.post(f"/video/v1/assets/{lesson['id']}/tracks/{audio['id']}/generate-subtitles",
                   json={"generated_subtitles": [{"language_code": "zh",
                                                  "transcription_vocabulary_ids": [vocab["id"]]}]})
        assert r.status_code == 201, r.text
        made = r.json()["data"]
        assert made[0]["name"] == "中文 (generated)" and made[0]["status"] == "preparing"
        assert _wait_track(c, lesson["id"], made[0]["id"])["status"] == "ready"
        c.delete(f"/video/v1/transcription-vocabularies/{vocab['id']}").raise_for_status()
        assert c.get(f"/video/v1/transcription-vocabularies/{vocab['id']}").status_code == 404
