"""Live on remote storage (S3 through moto): segments, playlists and the thumbnail are uploaded from the
ingest as segments close, and viewers get them through the playback routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_support import create_stream, decode_segments, fetch_media_playlist, publish, stream_status, wait_for
from services import VidlakeServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def s3_live_server(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> Iterator[VidlakeServer]:
    data = tmp_path_factory.mktemp("lives3")
    env = {"VIDLAKE_STORAGE_URL": f"s3://live-{data.name.lower().replace('_', '-')[-20:]}/vidlake"
                                  f"?endpoint={s3_endpoint}&region=us-east-1&create_bucket=true",
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    server = VidlakeServer(data, env=env, rtmp=True, workers=0).start()
    yield server
    server.stop()


def test_live_hls_and_thumbnail_from_s3(s3_live_server: VidlakeServer, tmp_path: Path) -> None:
    server = s3_live_server
    with server.client() as c:
        stream = create_stream(c, reconnect_window=0)
        sid, pid = stream["id"], stream["playback_ids"][0]["id"]
        pub = publish(f"rtmp://127.0.0.1:{server.rtmp_port}/live/{stream['stream_key']}", seconds=6)
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active")
            url, media = wait_for(lambda: (lambda r: r if len(r[1].segments) >= 3 else None)(
                fetch_media_playlist(server.url, pid)), "three live segments")
            assert decode_segments(url, media, tmp_path) > 0
            thumb = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(
                httpx.get(f"{server.url}/{pid}/thumbnail.jpg")), "a live thumbnail")
            assert thumb.content[:2] == b"\xff\xd8"
        finally:
            assert pub.wait(60) == 0, pub.stderr.read() if pub.stderr else ""
        wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle")
    # The session's local mirror is gone once it ended.
    assert not list((server.data_dir / "live").glob("env/**/*.ts"))
