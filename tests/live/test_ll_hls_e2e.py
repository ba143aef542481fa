"""LL-HLS end to end: a real ffmpeg publishes over RTMP to a ``low`` latency stream; the passthrough rung's
live playlist lists partial segments that decode, a finished segment is its parts, a blocking reload
answers only once the requested part exists, and the recording holds no parts."""

from __future__ import annotations

from pathlib import Path

import av
import httpx
import pytest
from live_support import create_stream, fetch_media_playlist, publish, stream_status, wait_for
from services import VidlakeServer

from vidlake.package import hls

pytestmark = pytest.mark.slow


def _decode(path: Path) -> list[tuple[str, int]]:
    with av.open(str(path)) as container:
        return sorted((f.__class__.__name__[:5], int(f.pts or 0)) for f in container.decode(*container.streams))


def test_low_latency_parts(live_server: VidlakeServer, tmp_path: Path) -> None:
    with live_server.client() as c:
        stream = create_stream(c, reconnect_window=0)
        sid, key, pid = stream["id"], stream["stream_key"], stream["playback_ids"][0]["id"]
        pub = publish(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{key}", seconds=12)
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active", 30)
            url, media = wait_for(lambda: (lambda r: r if len(r[1].segments) >= 5 and r[1].parts else None)(
                fetch_media_playlist(live_server.url, pid)), "five segments and parts", 30)
            base = url.rsplit("/", 1)[0]
            assert media.server_control is not None and media.server_control.can_block_reload
            assert media.part_target == pytest.approx(0.334)
            assert media.server_control.part_hold_back == pytest.approx(3 * 0.334, abs=1e-3)
            assert not media.segments[0].parts  # parts only for the last few segments
            finished = [s for s in media.segments if s.parts]
            assert finished and all(p.duration <= media.part_target + 1e-6 for s in finished for p in s.parts)
            seg = finished[-1]
            assert seg.parts[0].independent
            assert sum(p.duration for p in seg.parts) == pytest.approx(seg.duration, abs=2e-3)
            blobs = []
            for n, part in enumerate([*seg.parts, *media.parts]):
                data = httpx.get(f"{base}/{part.uri}", timeout=10).raise_for_status().content
                path = tmp_path / f"part{n}.ts"
                path.write_bytes(data)
                if part.independent:  # decodes alone
                    assert any(k == "Video" for k, _ in _decode(path)), part.uri
                blobs.append(data)
            (tmp_path / "joined.ts").write_bytes(b"".join(blobs[:len(seg.parts)]))
            (tmp_path / "seg.ts").write_bytes(httpx.get(f"{base}/{seg.uri}", timeout=10).raise_for_status().content)
            assert _decode(tmp_path / "joined.ts") == _decode(tmp_path / "seg.ts")

            # Blocking reload: ask for the part two after the newest one (about 0.67 s away). A server that
            # does not block answers with a playlist without it (no timing assertion: the answer must list it).
            _, now = fetch_media_playlist(live_server.url, pid)
            msn, part = now.next_msn, len(now.parts) + 1
            assert not now.has_part(msn, part)
            r = httpx.get(url, params={"_HLS_msn": msn, "_HLS_part": part}, timeout=30)
            assert r.status_code == 200, r.text
            answer = hls.parse_media(r.text)
            assert answer.has_part(msn, part)
            for bad in ({"_HLS_msn": "x"}, {"_HLS_msn": "-1"}, {"_HLS_part": "1"},
                        {"_HLS_msn": str(answer.next_msn + 5)}):
                r = httpx.get(url, params=bad, timeout=10)
                assert r.status_code == 400, (bad, r.text)
                assert next(iter(bad)) in r.text or "_HLS_msn" in r.text
        finally:
            if pub.poll() is None:
                pub.terminate()
            pub.wait(30)
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle", 30)
        assert not list(live_server.data_dir.rglob("parts/*.ts")), "part files left after the session"
