"""Closed captions the publisher embeds (CEA-608 in the H.264 SEI, as broadcast encoders send them) reach
every rung of the live HLS, are declared in the master (``PUT .../embedded-subtitles``, set with
mux-python), and hls.js in a real Chromium shows them as a captions track with the known text."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mux_python
import pytest
from browser import chromium_browser
from cea608 import Caption, frame_pairs, insert_captions
from live_support import create_stream, stream_status, wait_for
from services import VidlakeServer

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.package import hls

pytestmark = pytest.mark.slow

FPS = 30
SECONDS = 26  #: media published (seconds)
#: the known truth: pop-on captions on CC1 (start, end in seconds of media)
CAPTIONS = [Caption(2.0 + 4 * n, 4.5 + 4 * n, f"CAPTION {n} FROM VIDLAKE") for n in range(6)]


def _captioned_mp4(dest: Path) -> Path:
    """testsrc2 + sine: libx264 (no B-frames, 1 s GOP) with the CAPTIONS inserted as SEI, AAC audio."""
    raw, captioned = dest / "raw.h264", dest / "cc.h264"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=320x180:rate={FPS}", "-t", str(SECONDS), "-c:v", "libx264", "-preset",
                    "ultrafast", "-bf", "0", "-g", str(FPS), "-pix_fmt", "yuv420p", "-f", "h264", str(raw)],
                   check=True, timeout=120)
    captioned.write_bytes(insert_captions(raw.read_bytes(), frame_pairs(CAPTIONS, FPS, FPS * SECONDS)))
    out = dest / "cc.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-r", str(FPS), "-f", "h264", "-i",
                    str(captioned), "-f", "lavfi", "-i", "sine=frequency=440", "-t", str(SECONDS), "-c:v", "copy",
                    "-c:a", "aac", "-b:a", "64k", str(out)], check=True, timeout=120)
    return out


def _srt_time(text: str) -> float:
    """``HH:MM:SS,mmm`` → seconds."""
    h, m, rest = text.strip().split(":")
    sec, ms = rest.split(",")
    return int(h) * 3600 + int(m) * 60 + int(sec) + int(ms) / 1000


def _srt_cues(media: Path, dest: Path) -> list[tuple[float, float, str]]:
    """(start, end, text) of the CEA-608 captions ffmpeg's own decoder reads from ``media``."""
    srt = dest / f"{media.stem}.srt"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"movie={media.name}[out0+subcc]", "-map", "0:1", str(srt)], check=True, timeout=120,
                   cwd=media.parent)
    cues = []
    for block in srt.read_text().strip().split("\n\n"):
        lines = block.splitlines()
        if len(lines) < 3:
            continue
        t = [_srt_time(part) for part in lines[1].split("-->")]
        cues.append((t[0], t[1], re.sub(r"<[^>]+>|\{[^}]+\}", "", " ".join(lines[2:])).strip()))
    return cues


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with chromium_browser() as browser:
        yield browser


def test_embedded_captions_reach_every_rung_and_hls_js(live_server: VidlakeServer, chromium: Any,
                                                        tmp_path: Path) -> None:
    source = _captioned_mp4(tmp_path)
    assert [c[2] for c in _srt_cues(source, tmp_path)] == [c.text for c in CAPTIONS]  # the truth is in the file
    api = mux_python.LiveStreamsApi(live_server.mux_client())
    with live_server.client() as c:
        stream = create_stream(c, latency_mode="reduced", reconnect_window=20)  # segments stay after the end
        sid, pid = stream["id"], stream["playback_ids"][0]["id"]
        updated = api.update_live_stream_embedded_subtitles(sid, mux_python.UpdateLiveStreamEmbeddedSubtitlesRequest(
            embedded_subtitles=[mux_python.LiveStreamEmbeddedSubtitleSettings(
                name="English CC", language_code="en", language_channel="cc1", passthrough="captioner")])).data
        assert updated.embedded_subtitles[0].language_channel == "cc1"
        assert updated.embedded_subtitles[0].name == "English CC"
        pub = subprocess.Popen([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re", "-i", str(source),
                                "-c", "copy", "-f", "flv",
                                f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{stream['stream_key']}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        page = chromium.new_page(viewport={"width": 640, "height": 360})
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active", 30)
            master = hls.parse(httpx.get(f"{live_server.url}/{pid}.m3u8", timeout=10).raise_for_status().text)
            assert isinstance(master, hls.MasterPlaylist)
            cc = [r for r in master.renditions if r.type == "CLOSED-CAPTIONS"]
            assert [(r.group_id, r.name, r.language, r.instream_id) for r in cc] == [("cc", "English CC", "en", "CC1")]
            assert all(v.extra_attributes.get("CLOSED-CAPTIONS") == '"cc"' for v in master.variants)
            assert len(master.variants) == 2  # the passthrough rung and a transcoded one
            page.goto(f"{live_server.url}/player/{pid}?muted=1&autoplay=1")
            # hls.js makes a captions track named from the master and fills it from the SEI of the segments.
            shown = page.wait_for_function(
                "() => { const v = document.querySelector('video'); if (!v) return null;"
                " const out = [];"
                " for (const t of v.textTracks) { if (t.kind !== 'captions') continue;"
                "   if (t.mode === 'disabled') t.mode = 'hidden';"
                "   for (const cue of (t.cues || [])) out.push([t.label, cue.text]); }"
                " return out.length ? out : null }", timeout=60_000).json_value()
        finally:
            page.close()
            assert pub.wait(90) == 0, pub.stderr.read() if pub.stderr else ""
        labels = {label for label, _ in shown}
        texts = {re.sub(r"\s+", " ", text).strip() for _, text in shown}
        assert labels == {"English CC"}, shown
        assert texts and texts <= {c.text for c in CAPTIONS}, shown
        # Every rung carries every caption, at the publisher's times (gaps and lengths within 0.1 s).
        for rung in range(len(master.variants)):
            url = f"{live_server.url}/{master.variants[rung].uri}"
            media = hls.parse(httpx.get(url, timeout=10).raise_for_status().text)
            assert isinstance(media, hls.MediaPlaylist)
            base = url.rsplit("/", 1)[0]
            joined = tmp_path / f"rung{rung}.ts"
            joined.write_bytes(b"".join(httpx.get(f"{base}/{s.uri}", timeout=10).raise_for_status().content
                                        for s in media.segments))
            cues = _srt_cues(joined, tmp_path)
            assert [t for _, _, t in cues] == [cap.text for cap in CAPTIONS], (rung, cues)
            for (start, end, _), cap in zip(cues, CAPTIONS, strict=True):
                assert abs((end - start) - (cap.end - cap.start)) <= 0.1, (rung, cues)
                assert abs((start - cues[0][0]) - (cap.start - CAPTIONS[0].start)) <= 0.1, (rung, cues)
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle", 60)
        # [] removes them: the next sessions' masters say CLOSED-CAPTIONS=NONE.
        cleared = api.update_live_stream_embedded_subtitles(
            sid, mux_python.UpdateLiveStreamEmbeddedSubtitlesRequest(embedded_subtitles=[])).data
        assert not cleared.embedded_subtitles


def test_embedded_subtitles_are_validated(live_server: VidlakeServer) -> None:
    with live_server.client() as c:
        sid = create_stream(c)["id"]
        r = c.put(f"/video/v1/live-streams/{sid}/embedded-subtitles",
                  json={"embedded_subtitles": [{"language_channel": "cc5"}]})
        assert r.status_code == 400 and "embedded_subtitles[0].language_channel" in r.text, r.text
        r = c.put(f"/video/v1/live-streams/{sid}/embedded-subtitles",
                  json={"embedded_subtitles": [{"language_channel": "cc1"}, {"language_channel": "cc1"}]})
        assert r.status_code == 400 and "listed twice" in r.text, r.text
        r = c.put(f"/video/v1/live-streams/{sid}/embedded-subtitles",
                  json={"embedded_subtitles": [{"language_code": "en\nX"}]})
        assert r.status_code == 400 and "language_code" in r.text, r.text
        r = c.post("/video/v1/live-streams", json={"playback_policy": ["public"], "embedded_subtitles": [
            {"name": "中文", "language_code": "zh", "language_channel": "cc3"}]})
        assert r.status_code == 201, r.text
        assert r.json()["data"]["embedded_subtitles"] == [
            {"name": "中文", "language_code": "zh", "language_channel": "cc3", "passthrough": None}]
