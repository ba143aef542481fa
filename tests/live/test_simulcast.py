"""Simulcast: the publish is restreamed (``-c copy``) to a second RTMP server, here an RtmpServer in the
test process that writes what it receives to an FLV file."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from live_support import publish, stream_status, wait_for
from services import VidlakeServer

from vidlake.live.rtmp import FlvFileTarget, PublishTarget, RtmpServer
from vidlake.live.rtmp.conn import Peer

pytestmark = pytest.mark.slow


class Receiver:
    """An RtmpServer on its own loop in a thread, accepting key ``sc-key`` into ``path``."""

    def __init__(self, path: Path) -> None:
        self.target = FlvFileTarget(path)
        self.loop = asyncio.new_event_loop()
        self.server = RtmpServer(self._authorize, host="127.0.0.1", port=0)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _authorize(self, app: str, key: str, peer: Peer) -> PublishTarget | None:
        return self.target if key == "sc-key" else None

    def start(self) -> int:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self.server.port

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    rx = Receiver(tmp_path / "simulcast.flv")
    rx.start()
    yield rx
    rx.stop()


def test_simulcast_to_second_rtmp_server(live_server: VidlakeServer, receiver: Receiver) -> None:
    with live_server.client() as c:
        r = c.post("/video/v1/live-streams", json={
            "playback_policy": ["public"], "latency_mode": "low", "reconnect_window": 0,
            "simulcast_targets": [{"url": f"rtmp://127.0.0.1:{receiver.server.port}/app", "stream_key": "sc-key",
                                   "passthrough": "mirror"}]})
        assert r.status_code == 201, r.text
        stream = r.json()["data"]
        target = stream["simulcast_targets"][0]
        assert target["passthrough"] == "mirror" and target["status"] == "idle"
        got = c.get(f"/video/v1/live-streams/{stream['id']}/simulcast-targets/{target['id']}").json()["data"]
        assert got == target
        pub = publish(f"rtmp://127.0.0.1:{live_server.rtmp_port}/live/{stream['stream_key']}", 4)
        wait_for(lambda: stream_status(c, stream["id"])["simulcast_targets"][0]["status"] == "broadcasting",
                 "simulcast broadcasting")
        assert pub.wait(60) == 0
        wait_for(lambda: stream_status(c, stream["id"])["status"] == "idle", "status idle")
        assert stream_status(c, stream["id"])["simulcast_targets"][0]["status"] == "idle"
        assert c.delete(f"/video/v1/live-streams/{stream['id']}/simulcast-targets/{target['id']}").status_code == 204
        assert stream_status(c, stream["id"])["simulcast_targets"] == []
    wait_for(lambda: receiver.target.stopped.is_set(), "the receiver's session to end")
    with av.open(str(receiver.target.path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (320, 180)
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 75  # 4 s at 25 fps, the restream is not re-encoded and loses at most the first GOP
