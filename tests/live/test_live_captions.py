"""Live captions: ``generated_subtitles`` on a live stream (create, ``PUT .../generated-subtitles``, the
mux-python SDK), a real ffmpeg publisher sending espeak-ng speech over RTMP, the WebVTT subtitle
rendition of the live HLS read as it grows (word / character error rate against the spoken text), the
caption delay in health, and the transcript as a ``generated_live`` text track of the recording."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import mux_python
import pytest
from bench_modules import speech_corpus
from live_support import create_stream, stream_status, wait_for
from services import VidlakeServer

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.package import hls

#: Error bounds of live captions (VOD bounds: 0.20 WER, 0.35 CER; live cuts the audio into windows).
MAX_WER_EN = 0.30
#: Mandarin live CER measured 0.38-0.47 across runs (VOD 0.22): which segments the captioner takes together
#: depends on the machine's load, so the windows and Whisper base's guesses differ. Captions in the wrong
#: language, misplaced in time or missing sentences score above 0.8.
MAX_CER_ZH = 0.60


@pytest.fixture(scope="module")
def corpus() -> ModuleType:
    return speech_corpus()


def _publish_speech(url: str, speech: Path, seconds: float) -> subprocess.Popen[bytes]:
    """testsrc2 + the speech (then silence) in real time, H.264 + AAC over RTMP."""
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-i", str(speech),
            "-filter_complex", "[1:a]apad[a]", "-map", "0:v", "-map", "[a]", "-t", f"{seconds:.1f}",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "64k", "-ar", "48000", "-f", "flv", url]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _vtt_text(vtt: str) -> list[tuple[str, str]]:
    """(start timestamp, text) of every cue of a WebVTT document."""
    out: list[tuple[str, str]] = []
    lines = vtt.splitlines()
    for i, line in enumerate(lines):
        if "-->" in line:
            text = []
            for nxt in lines[i + 1:]:
                if not nxt.strip():
                    break
                text.append(nxt)
            out.append((line.split("-->")[0].strip(), " ".join(text)))
    return out


def _live_cues(base: str, pid: str) -> tuple[list[tuple[str, str]], hls.MediaPlaylist]:
    """Every cue of every listed live subtitle segment (de-duplicated), and the subtitle playlist."""
    master = hls.parse(httpx.get(f"{base}/{pid}.m3u8", timeout=10).raise_for_status().text)
    assert isinstance(master, hls.MasterPlaylist)
    subs = [r for r in master.renditions if r.type == "SUBTITLES"]
    assert len(subs) == 1 and subs[0].uri, master
    assert all(v.extra_attributes.get("SUBTITLES") == '"subs"' for v in master.variants)
    url = f"{base}/{subs[0].uri}"
    playlist = hls.parse(httpx.get(url, timeout=10).raise_for_status().text)
    assert isinstance(playlist, hls.MediaPlaylist)
    cues: list[tuple[str, str]] = []
    for seg in playlist.segments:
        r = httpx.get(f"{url.rsplit('/', 1)[0]}/{seg.uri}", timeout=10).raise_for_status()
        assert r.headers["content-type"].startswith("text/vtt")
        assert r.text.startswith("WEBVTT") and "X-TIMESTAMP-MAP=MPEGTS:" in r.text
        for cue in _vtt_text(r.text):
            if cue not in cues:
                cues.append(cue)
    return cues, playlist


def _joined(cues: list[tuple[str, str]], language: str) -> str:
    seen: list[str] = []
    for _, text in cues:  # (cues are de-duplicated by start and text already)
        seen.append(text)
    return ("" if language == "zh" else " ").join(seen)


# -- requests --------------------------------------------------------------------------------------

def test_generated_subtitles_requests(live_server: VidlakeServer) -> None:
    with live_server.client() as c:
        r = c.post("/video/v1/live-streams", json={"playback_policy": ["public"],
                                                    "generated_subtitles": [{"language_code": "xx-qq-1"}]})
        assert r.status_code == 400 and "generated_subtitles[0].language_code" in r.text, r.text
        r = c.post("/video/v1/live-streams", json={"generated_subtitles": [{"language_code": "en"},
                                                                           {"language_code": "zh"}]})
        assert r.status_code == 400 and "generated_subtitles" in r.text, r.text
        r = c.post("/video/v1/live-streams", json={"generated_subtitles": [
            {"language_code": "en", "transcription_vocabulary_ids": ["nope"]}]})
        assert r.status_code == 400 and "transcription_vocabulary_ids" in r.text, r.text
        sid = create_stream(c)["id"]
    cfg = mux_python.Configuration()
    cfg.host = live_server.url
    cfg.username, cfg.password = live_server.auth
    api = mux_python.LiveStreamsApi(mux_python.ApiClient(cfg))
    req = mux_python.UpdateLiveStreamGeneratedSubtitlesRequest(generated_subtitles=[
        mux_python.LiveStreamGeneratedSubtitleSettings(name="English CC", language_code="en", passthrough="cc")])
    stream = api.update_live_stream_generated_subtitles(sid, req).data
    assert stream.generated_subtitles[0].language_code == "en" and stream.generated_subtitles[0].name == "English CC"
    # (mux-python checks language codes against Mux's own list, which has no zh: Chinese goes by HTTP.)
    with live_server.client() as c:
        r = c.put(f"/video/v1/live-streams/{sid}/generated-subtitles",
                  json={"generated_subtitles": [{"language_code": "zh", "name": "中文"}]})
        assert r.status_code == 200 and r.json()["data"]["generated_subtitles"][0]["name"] == "中文", r.text
    with live_server.client() as c:
        r = c.put(f"/video/v1/live-streams/{sid}/generated-subtitles", json={"generated_subtitles": []})
        assert r.status_code == 200 and "generated_subtitles" not in r.json()["data"]


# -- publishing ------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "zh"])
def test_live_captions_in_hls_and_recording(live_server: VidlakeServer, corpus: ModuleType, tmp_path: Path,
                                            language: str) -> None:
    speech = corpus.render(tmp_path, language, ffmpeg=ffmpeg_exe())
    # Silence after the last sentence, so its cues are listed live even when the captioner runs behind
    # (on a loaded 2-core machine it lagged up to 17 s and the last two sentences were never listed live).
    seconds = speech.spans[-1][1] + 20.0
    name = "English (live)" if language == "en" else "中文（直播）"
    with live_server.client() as c:
        stream = create_stream(c, latency_mode="reduced", reconnect_window=0,
                               new_asset_settings={"playback_policy": ["public"]},
                               generated_subtitles=[{"language_code": language, "name": name}])
        assert stream["generated_subtitles"][0]["name"] == name
        sid, key, pid = stream["id"], stream["stream_key"], stream["playback_ids"][0]["id"]
        pub = _publish_speech(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{key}", speech.path, seconds)
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active", timeout_s=60)
            # While live: the subtitle rendition grows; every cue listed is gathered while the publish runs.
            cues: list[tuple[str, str]] = []
            health: dict[str, Any] = {}
            while pub.poll() is None:
                try:
                    listed = _live_cues(live_server.url, pid)[0]
                except httpx.HTTPStatusError:  # the publish just ended: the live playback id is gone
                    break
                for cue in listed:
                    if cue not in cues:
                        cues.append(cue)
                health = c.get(f"/video/v1/live-streams/{sid}/health").json()["data"]
                time.sleep(0.5)
            assert health["captions"]["segments"] > 0 and health["captions"]["delay_s"] is not None, health
        finally:
            assert pub.wait(90) == 0
        hypothesis = _joined(cues, language)
        error = (corpus.wer if language == "en" else corpus.cer)(speech.reference, hypothesis)
        print(f"live {language}: error {error:.3f}, captions {health['captions']}")
        assert error <= (MAX_WER_EN if language == "en" else MAX_CER_ZH), (cues, speech.reference)
        # The recording carries the transcript as a text track.
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle", timeout_s=60)
        asset_id = stream_status(c, sid)["recent_asset_ids"][-1]
        asset = wait_for(lambda: (lambda a: a if a["status"] == "ready" else None)(
            c.get(f"/video/v1/assets/{asset_id}").json()["data"]), "recording ready")
        text = [t for t in asset["tracks"] if t["type"] == "text"]
        assert len(text) == 1 and text[0]["text_source"] == "generated_live" and text[0]["status"] == "ready"
        assert text[0]["language_code"] == language and text[0]["name"] == name
        apid = asset["playback_ids"][0]["id"]
        vtt = httpx.get(f"{live_server.url}/{apid}/text/{text[0]['id']}.vtt", timeout=10).raise_for_status().text
        recorded = _joined(_vtt_text(vtt), language)
        rec_error = (corpus.wer if language == "en" else corpus.cer)(speech.reference, recorded)
        assert rec_error <= (MAX_WER_EN if language == "en" else MAX_CER_ZH), recorded
        master = httpx.get(f"{live_server.url}/{apid}.m3u8", timeout=10).text
        assert master.count("TYPE=SUBTITLES") == 1, master  # the track, not also the live rendition
        # Cue times are on the recording's timeline: the first sentence starts near where it was said.
        first = _vtt_text(vtt)[0][0]
        h, m, s = first.split(":")
        assert abs(int(h) * 3600 + int(m) * 60 + float(s) - speech.spans[0][0]) < 1.5, first
