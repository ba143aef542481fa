"""Stream control from an API process that does not hold the publisher's connection.

Two ``vidlake serve`` processes share one database and data dir: A runs RTMP ingest, B only the API
(``VIDLAKE_RTMP_PORT=0``, as on a separate API machine). Reset-stream-key, complete and disable sent to
B must still cut the publisher connected to A (A reconciles its sessions with the database).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_support import create_stream, publish, stream_status, wait_for
from services import VidlakeServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[VidlakeServer, VidlakeServer]]:
    data = tmp_path_factory.mktemp("control")
    ingest = VidlakeServer(data, rtmp=True, workers=0).start()
    api = VidlakeServer(Path(data), rtmp=False, workers=0).start()
    yield ingest, api
    api.stop()
    ingest.stop()


def _ended(pub: subprocess.Popen[bytes]) -> bool:
    return pub.poll() is not None


@pytest.mark.parametrize("action", ["reset-stream-key", "complete", "disable"])
def test_control_reaches_the_publisher_through_the_database(pair: tuple[VidlakeServer, VidlakeServer],
                                                            action: str) -> None:
    ingest, api = pair
    with api.client() as c:
        stream = create_stream(c, reconnect_window=30)
        sid, key = stream["id"], stream["stream_key"]
        pub = publish(f"rtmp://127.0.0.1:{ingest.rtmp_port}/live/{key}", seconds=60)
        try:
            wait_for(lambda: stream_status(c, sid)["status"] == "active", "status active", 30)
            if action == "reset-stream-key":
                r = c.post(f"/video/v1/live-streams/{sid}/reset-stream-key")
            else:
                r = c.put(f"/video/v1/live-streams/{sid}/{action}")
            assert r.status_code in (200, 201), r.text
            wait_for(lambda: _ended(pub), "the publisher to be cut", 20)
            if action == "complete":  # no reconnect window: the session ends now
                wait_for(lambda: stream_status(c, sid)["status"] == "idle", "status idle", 20)
            if action == "disable":
                assert stream_status(c, sid)["status"] == "disabled"
        finally:
            pub.kill()
            pub.wait()
