"""End-to-end: the RTMP server on 127.0.0.1 with real ffmpeg publishers and hostile raw clients."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest

from vidlake.live.rtmp import amf0, chunk, flv, messages
from vidlake.live.rtmp.chunk import RtmpMessage
from vidlake.live.rtmp.client import RtmpPublisher
from vidlake.live.rtmp.config import RtmpServerConfig
from vidlake.live.rtmp.errors import PublishRefused
from vidlake.live.rtmp.handshake import DigestScheme
from vidlake.live.rtmp.server import RtmpServer
from vidlake.live.rtmp.target import FlvFileTarget, PublishTarget
from vidlake.live.stats import SessionStats
from vidlake.live.target import PublishInfo, SubprocessTarget

pytestmark = pytest.mark.anyio

CFG = RtmpServerConfig(
    handshake_timeout_s=2.0,
    publish_timeout_s=4.0,
    idle_timeout_s=3.0,
    refuse_delay_s=0.3,
    max_pending_per_ip=32,
)
BAD_NAME = "NetStream.Publish.BadName"
PUBLISH_START = "NetStream.Publish.Start"
PUBLISH_SECONDS = 3
FPS = 25


class Auth:
    """An ``authorize`` callback: known keys get a target made by ``make``, others are refused."""

    def __init__(self, keys: set[str], make: Callable[[str], PublishTarget]) -> None:
        self.keys = keys
        self.make = make
        self.calls: list[tuple[str, str]] = []
        self.targets: dict[str, list[PublishTarget]] = {}

    async def __call__(self, app: str, key: str, peer: tuple[str, int]) -> PublishTarget | None:
        self.calls.append((app, key))
        if key not in self.keys:
            return None
        target = self.make(key)
        self.targets.setdefault(key, []).append(target)
        return target


class Ended:
    """Collects ``on_session_end`` calls."""

    def __init__(self) -> None:
        self.sessions: list[tuple[PublishInfo, SessionStats, str]] = []

    async def __call__(self, info: PublishInfo, stats: SessionStats, reason: str) -> None:
        self.sessions.append((info, stats, reason))


def file_auth(tmp_path: Path, *keys: str) -> Auth:
    counter = iter(range(1000))
    return Auth(set(keys), lambda key: FlvFileTarget(tmp_path / f"{key}-{next(counter)}.flv"))


def flv_target(auth: Auth, key: str, index: int = 0) -> FlvFileTarget:
    target = auth.targets[key][index]
    assert isinstance(target, FlvFileTarget)
    return target


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll ``predicate`` (never a timing assertion: the cap only stops a hung test)."""
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.02)


async def ffmpeg_publish(ffmpeg: str, url: str, *, realtime: bool = True, seconds: int = PUBLISH_SECONDS) -> int:
    """Publish testsrc2 + sine with libx264/aac to ``url`` (the command of the issue); return ffmpeg's rc."""
    args = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin"]
    if realtime:
        args.append("-re")
    args += [
        "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={FPS}", "-f", "lavfi", "-i", "sine",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", str(FPS), "-sc_threshold", "0",
        "-c:a", "aac", "-f", "flv", url,
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await asyncio.wait_for(proc.wait(), 60)


def decode_counts(path: Path) -> tuple[list[str], int, int]:
    """(stream kinds, video frames, audio frames) decoded by PyAV."""
    with av.open(str(path)) as container:
        kinds = sorted(str(s.type) for s in container.streams)
        video = audio = 0
        for frame in container.decode(*container.streams):
            if isinstance(frame, av.VideoFrame):
                video += 1
            else:
                audio += 1
    return kinds, video, audio


async def replay_flv(client: RtmpPublisher, tags: list[flv.FlvTag], ts_offset: int = 0) -> None:
    """Send FLV tags as RTMP messages, metadata wrapped in @setDataFrame like encoders do."""
    csids = {flv.TAG_AUDIO: 4, flv.TAG_VIDEO: 6, flv.TAG_SCRIPT: 5}
    for t in tags:
        payload = amf0.encode("@setDataFrame") + t.data if t.tag_type == flv.TAG_SCRIPT else t.data
        ts = (t.timestamp_ms + ts_offset) & 0xFFFFFFFF
        await client.send(RtmpMessage(t.tag_type, payload, ts, client.stream_id, csids[t.tag_type]))


async def unpublish(client: RtmpPublisher, key: str) -> None:
    await client.command("FCUnpublish", None, key)
    await client.command("deleteStream", None, float(client.stream_id))


async def raw_closed(port: int, data: bytes, timeout_s: float) -> bool:
    """Send ``data`` on a bare TCP connection; True if the server closes it within ``timeout_s``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
    except ConnectionError:
        return True
    try:
        async with asyncio.timeout(timeout_s):
            while await reader.read(65536):
                pass
        return True
    except ConnectionError:
        return True
    except TimeoutError:
        return False
    finally:
        writer.close()


# ---------------------------------------------------------------------------------------- ffmpeg


async def test_ffmpeg_publish_end_to_end(tmp_path: Path, ffmpeg: str) -> None:
    auth = file_auth(tmp_path, "KEY1")
    ended = Ended()
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=CFG, on_session_end=ended) as srv:
        rc = await ffmpeg_publish(ffmpeg, f"rtmp://127.0.0.1:{srv.port}/live/KEY1")
        assert rc == 0
        target = flv_target(auth, "KEY1")
        await asyncio.wait_for(target.stopped.wait(), 10)
        assert srv.live_keys() == []
    assert auth.calls == [("live", "KEY1")]
    assert target.stop_reason == "unpublished"
    assert target.info is not None and target.info.key == "KEY1" and target.info.app == "live"
    kinds, video, audio = decode_counts(target.path)
    assert kinds == ["audio", "video"]
    expected = FPS * PUBLISH_SECONDS
    assert abs(video - expected) <= 3
    assert audio > PUBLISH_SECONDS * 30  # AAC at 44.1 kHz: ~43 frames per second
    (info, stats, reason) = ended.sessions[0]
    assert reason == "unpublished" and info.key == "KEY1"
    assert (stats.video_codec, stats.audio_codec) == ("h264", "aac")
    assert (stats.width, stats.height, stats.fps) == (320, 180, float(FPS))
    assert stats.keyframe_interval_s == pytest.approx(1.0)
    assert stats.measured_fps == pytest.approx(FPS, rel=0.05)
    assert abs(stats.video_frames - expected) <= 3
    assert stats.bytes_received > stats.media_bytes > 0
    # the windowed bitrate is of the same order as the whole file's average
    file_bps = target.path.stat().st_size * 8 / PUBLISH_SECONDS
    assert 0.3 * file_bps < stats.bitrate_bps < 3 * file_bps
    assert stats.last_frame_at is not None


async def test_ffmpeg_wrong_key_is_refused(tmp_path: Path, ffmpeg: str) -> None:
    auth = file_auth(tmp_path, "GOOD")
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=CFG) as srv:
        rc = await ffmpeg_publish(ffmpeg, f"rtmp://127.0.0.1:{srv.port}/live/WRONG", realtime=False, seconds=1)
        assert rc != 0
        await wait_until(lambda: srv.connection_count == 0)
    assert auth.calls == [("live", "WRONG")]
    assert auth.targets == {}


async def test_attacks_while_a_good_publish_runs(tmp_path: Path, ffmpeg: str) -> None:
    """Wrong keys, garbage and protocol violations close their own connections; the good one is intact."""
    auth = file_auth(tmp_path, "GOOD", "LATER")
    rng = random.Random(42)
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=CFG) as srv:
        port = srv.port
        good = asyncio.create_task(ffmpeg_publish(ffmpeg, f"rtmp://127.0.0.1:{port}/live/GOOD"))
        await wait_until(lambda: "GOOD" in srv.live_keys())

        async def wrong_key(i: int) -> bool:
            client = await RtmpPublisher.open("127.0.0.1", port, scheme=DigestScheme.SCHEME_1)
            await client.connect("live")
            code = await client.publish(f"WRONG{i}")
            closed = await client.closed_by_server()
            await client.close()
            return code == BAD_NAME and closed

        async def garbage_before_handshake() -> bool:
            data = bytes((0x47,)) + rng.randbytes(4000)
            return await raw_closed(port, data, 3)

        async def garbage_after_handshake() -> bool:
            client = await RtmpPublisher.open("127.0.0.1", port)
            await client.send_raw(rng.randbytes(6000))
            return await client.closed_by_server(CFG.publish_timeout_s + 3)

        async def after_connect(payload: bytes, chunk_size: int | None = None) -> bool:
            client = await RtmpPublisher.open("127.0.0.1", port, scheme=None)
            reply = await client.connect("live")
            assert reply is not None and reply.name == "_result"
            if chunk_size:
                await client.send(chunk.set_chunk_size(chunk_size))
            await client.send_raw(payload)
            return await client.closed_by_server(CFG.publish_timeout_s + 3)

        type0 = lambda length: bytes((6,)) + bytes(3) + length.to_bytes(3, "big") + b"\x09" + struct.pack("<I", 1)  # noqa: E731
        small_chunk = ChunkEncoderBytes.set_chunk_size(64)
        oversized = type0(9 * 1024 * 1024)
        length_change = type0(300) + bytes(128) + b"\x46" + bytes(3) + (400).to_bytes(3, "big") + b"\x09"

        results = await asyncio.gather(
            *(wrong_key(i) for i in range(10)),
            garbage_before_handshake(),
            garbage_after_handshake(),
            after_connect(small_chunk),
            after_connect(oversized),
            after_connect(length_change, chunk_size=128),
        )
        assert all(results), results
        assert "GOOD" in srv.live_keys()
        assert await good == 0
        target = flv_target(auth, "GOOD")
        await asyncio.wait_for(target.stopped.wait(), 10)
        # the server is still up and serves a new publish
        client = await RtmpPublisher.open("127.0.0.1", port)
        await client.connect("live")
        assert await client.publish("LATER") == PUBLISH_START
        await client.close()
    assert target.stop_reason == "unpublished"
    kinds, video, _audio = decode_counts(target.path)
    assert kinds == ["audio", "video"]
    assert abs(video - FPS * PUBLISH_SECONDS) <= 3
    assert sorted(k for _, k in auth.calls if k.startswith("WRONG")) == sorted(f"WRONG{i}" for i in range(10))


class ChunkEncoderBytes:
    """Protocol control messages as raw bytes on a fresh encoder."""

    @staticmethod
    def set_chunk_size(size: int) -> bytes:
        return chunk.ChunkEncoder().encode(RtmpMessage(chunk.SET_CHUNK_SIZE, struct.pack(">I", size), 0, 0, 2))


# ---------------------------------------------------------------------------------------- replay


@pytest.mark.parametrize(
    ("chunk_size", "scheme", "ts_offset"),
    [(128, None, 0), (60000, DigestScheme.SCHEME_1, 0xFFFFFF - 500)],
    ids=["chunk128-simple", "chunk60000-digest1-extended-ts"],
)
async def test_replayed_flv_arrives_byte_identical(
    tmp_path: Path, sample_flv: Path, chunk_size: int, scheme: DigestScheme | None, ts_offset: int
) -> None:
    tags = list(flv.read_tags(sample_flv.read_bytes()))
    auth = file_auth(tmp_path, "K")
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=CFG) as srv:
        client = await RtmpPublisher.open("127.0.0.1", srv.port, scheme=scheme)
        if scheme is not None:
            assert client.server_digest_valid is True
        await client.connect("live")
        await client.send(chunk.set_chunk_size(chunk_size))
        assert await client.publish("K") == PUBLISH_START
        await replay_flv(client, tags, ts_offset)
        await unpublish(client, "K")
        target = flv_target(auth, "K")
        await asyncio.wait_for(target.stopped.wait(), 10)
        await client.close()
    out = list(flv.read_tags(target.path.read_bytes()))
    sent_media = [(t.tag_type, (t.timestamp_ms + ts_offset) & 0xFFFFFFFF, t.data) for t in tags if t.tag_type != 18]
    got_media = [(t.tag_type, t.timestamp_ms, t.data) for t in out if t.tag_type != 18]
    assert got_media == sent_media
    scripts = [amf0.decode_all(t.data) for t in out if t.tag_type == 18]
    assert scripts[0][0] == "onMetaData" and isinstance(scripts[0][1], dict)
    assert scripts[0][1]["width"] == 320.0


async def test_subprocess_target_pipes_into_ffmpeg(
    tmp_path: Path, sample_flv: Path, sample_spec: Any, ffmpeg: str
) -> None:
    tags = list(flv.read_tags(sample_flv.read_bytes()))
    out = tmp_path / "piped.mp4"

    def make(key: str) -> PublishTarget:
        argv = [ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "flv", "-i", "pipe:0", "-c", "copy", "-y", str(out)]
        return SubprocessTarget(argv, stderr_path=tmp_path / "ffmpeg.log")

    auth = Auth({"PIPE"}, make)
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=CFG) as srv:
        client = await RtmpPublisher.open("127.0.0.1", srv.port)
        await client.connect("live")
        assert await client.publish("PIPE") == PUBLISH_START
        await replay_flv(client, tags)
        await unpublish(client, "PIPE")
        target = auth.targets["PIPE"][0]
        assert isinstance(target, SubprocessTarget)
        await asyncio.wait_for(target.stopped.wait(), 30)
        await client.close()
    assert target.returncode == 0, (tmp_path / "ffmpeg.log").read_text()
    kinds, video, audio = decode_counts(out)
    assert kinds == ["audio", "video"]
    assert video == sample_spec.frames
    assert audio > 0


# ---------------------------------------------------------------------------------------- session rules


async def _publisher(port: int, key: str) -> tuple[RtmpPublisher, str | None]:
    client = await RtmpPublisher.open("127.0.0.1", port)
    await client.connect("live")
    return client, await client.publish(key)


async def _send_frames(client: RtmpPublisher, tags: list[flv.FlvTag], count: int) -> None:
    await replay_flv(client, tags[:count])


async def test_second_publisher_on_a_live_key_is_refused(tmp_path: Path, sample_flv: Path) -> None:
    tags = list(flv.read_tags(sample_flv.read_bytes()))
    auth = file_auth(tmp_path, "DUP")
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=CFG) as srv:
        first, code1 = await _publisher(srv.port, "DUP")
        assert code1 == PUBLISH_START
        await _send_frames(first, tags, 10)
        second, code2 = await _publisher(srv.port, "DUP")
        assert code2 == BAD_NAME
        assert await second.closed_by_server()
        assert srv.live_keys() == ["DUP"]
        await replay_flv(first, tags[10:])
        await unpublish(first, "DUP")
        target = flv_target(auth, "DUP")
        await asyncio.wait_for(target.stopped.wait(), 10)
        await first.close()
        await second.close()
    assert len(auth.targets["DUP"]) == 1  # the newcomer never got a target
    assert len([t for t in flv.read_tags(target.path.read_bytes()) if t.tag_type != 18]) == len(
        [t for t in tags if t.tag_type != 18]
    )


async def test_kick_ends_the_session_and_frees_the_key(tmp_path: Path, sample_flv: Path) -> None:
    tags = list(flv.read_tags(sample_flv.read_bytes()))
    auth = file_auth(tmp_path, "KICK")
    ended = Ended()
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=CFG, on_session_end=ended) as srv:
        client, code = await _publisher(srv.port, "KICK")
        assert code == PUBLISH_START
        await _send_frames(client, tags, 20)
        await wait_until(lambda: (stats := srv.stats("KICK")) is not None and stats.video_frames > 0)
        assert await srv.kick("KICK") is True
        assert await srv.kick("KICK") is False
        assert flv_target(auth, "KICK").stop_reason == "kicked"
        assert await client.closed_by_server()
        again, code2 = await _publisher(srv.port, "KICK")
        assert code2 == PUBLISH_START
        await again.close()
        await client.close()
    assert ended.sessions[0][2] == "kicked"
    assert ended.sessions[0][1].video_frames > 0


async def test_idle_publisher_is_dropped(tmp_path: Path) -> None:
    auth = file_auth(tmp_path, "IDLE")
    cfg = RtmpServerConfig(idle_timeout_s=0.5, refuse_delay_s=0.0)
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=cfg) as srv:
        client, code = await _publisher(srv.port, "IDLE")
        assert code == PUBLISH_START
        target = flv_target(auth, "IDLE")
        await asyncio.wait_for(target.stopped.wait(), 10)
        assert target.stop_reason == "idle_timeout"
        assert await client.closed_by_server()
        assert srv.live_keys() == []
        await client.close()


async def test_handshake_and_publish_timeouts(tmp_path: Path) -> None:
    auth = file_auth(tmp_path)
    cfg = RtmpServerConfig(handshake_timeout_s=1.0, publish_timeout_s=2.0)
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=cfg) as srv:
        assert await raw_closed(srv.port, b"\x03" + bytes(100), 5)  # partial C1, then silence
        client = await RtmpPublisher.open("127.0.0.1", srv.port)
        await client.connect("live")  # connected but never publishes
        assert await client.closed_by_server(5)
        await client.close()
    assert auth.calls == []


async def test_pending_connections_per_ip_are_limited(tmp_path: Path) -> None:
    auth = file_auth(tmp_path)
    cfg = RtmpServerConfig(max_pending_per_ip=3)
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=cfg) as srv:
        held = [await RtmpPublisher.open("127.0.0.1", srv.port) for _ in range(3)]
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await RtmpPublisher.open("127.0.0.1", srv.port)
        assert srv.refused_connections == 1
        for client in held:
            await client.close()
        await wait_until(lambda: srv.connection_count == 0)
        ok = await RtmpPublisher.open("127.0.0.1", srv.port)
        await ok.close()


async def test_authorize_errors_and_target_errors(tmp_path: Path, sample_flv: Path) -> None:
    tags = list(flv.read_tags(sample_flv.read_bytes()))

    class Exploding(FlvFileTarget):
        async def on_flv(self, data: bytes) -> None:
            raise OSError("disk full")

    async def authorize(app: str, key: str, peer: tuple[str, int]) -> PublishTarget | None:
        if key == "RAISE":
            raise RuntimeError("database down")
        if key == "DISABLED":
            raise PublishRefused("live stream is disabled", code="NetStream.Publish.Unauthorized")
        return Exploding(tmp_path / "x.flv")

    async with RtmpServer(authorize, host="127.0.0.1", port=0, config=CFG) as srv:
        client, code = await _publisher(srv.port, "RAISE")
        assert code == BAD_NAME
        assert await client.closed_by_server()
        await client.close()
        client, code = await _publisher(srv.port, "DISABLED")
        assert code == "NetStream.Publish.Unauthorized"
        assert await client.closed_by_server()
        await client.close()
        client, code = await _publisher(srv.port, "EXPLODE")
        assert code == PUBLISH_START
        await _send_frames(client, tags, 5)
        assert await client.closed_by_server()
        await client.close()
        assert srv.live_keys() == []


async def test_slow_target_applies_back_pressure(tmp_path: Path) -> None:
    """While the target does not consume, the server stops reading: the client's bytes pile up on its side."""
    release = asyncio.Event()
    entered = asyncio.Event()

    class Blocking(FlvFileTarget):
        async def on_flv(self, data: bytes) -> None:
            entered.set()
            await release.wait()
            await super().on_flv(data)

    auth = Auth({"SLOW"}, lambda key: Blocking(tmp_path / "slow.flv"))
    frame = b"\x17\x01\x00\x00\x00" + os.urandom(60_000)
    count = 400  # 24 MB
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=CFG) as srv:
        client, code = await _publisher(srv.port, "SLOW")
        assert code == PUBLISH_START
        await client.send(RtmpMessage(9, frame, 0, client.stream_id, 6))
        await asyncio.wait_for(entered.wait(), 10)
        conn = srv.registry.get("SLOW")
        assert conn is not None
        read_before = conn.stats.bytes_received
        for i in range(1, count):  # queue 24 MB without waiting for the socket
            client.writer.write(client.encoder.encode(RtmpMessage(9, frame, i * 40, client.stream_id, 6)))
        await asyncio.sleep(0.5)  # give a broken server time to read on (cannot fail a correct one)
        assert conn.stats.bytes_received == read_before  # nothing read while the target is busy
        assert client.writer.transport.get_write_buffer_size() > 4 * 1024 * 1024
        release.set()
        await asyncio.wait_for(client.writer.drain(), 30)
        await unpublish(client, "SLOW")
        target = flv_target(auth, "SLOW")
        await asyncio.wait_for(target.stopped.wait(), 10)
        await client.close()
    video = [t for t in flv.read_tags(target.path.read_bytes()) if t.tag_type == 9]
    assert len(video) == count


async def test_control_messages_and_acknowledgements(tmp_path: Path, sample_flv: Path) -> None:
    tags = list(flv.read_tags(sample_flv.read_bytes()))
    auth = file_auth(tmp_path, "ACK")
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=CFG) as srv:
        client = await RtmpPublisher.open("127.0.0.1", srv.port)
        await client.send(chunk.window_ack_size(5000))
        await client.connect("live")
        # the server announced its window, peer bandwidth and chunk size before the connect _result
        types = [m.type_id for m in client.received]
        assert types[:3] == [chunk.WINDOW_ACK_SIZE, chunk.SET_PEER_BANDWIDTH, chunk.SET_CHUNK_SIZE]
        assert chunk.parse_u32(client.received[2]) == CFG.out_chunk_size
        assert await client.publish("ACK") == PUBLISH_START
        await replay_flv(client, tags)
        await client.send(messages.user_control(messages.PING_REQUEST, 1234))
        acks: list[int] = []
        pong = None
        while pong is None or len(acks) < 3:
            msg = await client.recv()
            assert msg is not None
            if msg.type_id == chunk.ACKNOWLEDGEMENT:
                acks.append(chunk.parse_u32(msg))
            elif msg.type_id == chunk.USER_CONTROL:
                pong = messages.parse_user_control(msg)
        assert pong == (messages.PING_RESPONSE, struct.pack(">I", 1234))
        assert all(b - a >= 5000 for a, b in itertools.pairwise(acks))
        await unpublish(client, "ACK")
        await asyncio.wait_for(flv_target(auth, "ACK").stopped.wait(), 10)
        await client.close()


async def test_stuck_target_ends_the_session(tmp_path: Path, sample_flv: Path) -> None:
    tags = list(flv.read_tags(sample_flv.read_bytes()))

    class Stuck(FlvFileTarget):
        async def on_flv(self, data: bytes) -> None:
            await asyncio.Event().wait()

    auth = Auth({"STUCK"}, lambda key: Stuck(tmp_path / "stuck.flv"))
    ended = Ended()
    cfg = RtmpServerConfig(target_timeout_s=0.3)
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=cfg, on_session_end=ended) as srv:
        client, code = await _publisher(srv.port, "STUCK")
        assert code == PUBLISH_START
        await _send_frames(client, tags, 5)
        assert await client.closed_by_server()
        await client.close()
        await wait_until(lambda: srv.live_keys() == [] and len(ended.sessions) == 1)
    assert ended.sessions[0][2] == "target_error"
    assert flv_target(auth, "STUCK").stop_reason == "target_error"


#: The publishing fast path swaps the transport's protocol: check it on asyncio's loop and on uvloop's
#: (the live ingest runs on uvloop).
BOTH_LOOPS = pytest.mark.parametrize("anyio_backend", ["asyncio", ("asyncio", {"use_uvloop": True})],
                                     ids=["asyncio", "uvloop"])


class SyncTarget(FlvFileTarget):
    """A target with the synchronous ``write_flv``: the bytes are taken where they are received. While
    ``hold`` is set, ``write_flv`` hands the connection an awaitable that waits for it to clear."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.sync_calls = 0
        self.async_calls = 0
        self.hold: asyncio.Event | None = None

    def write_flv(self, data: bytes) -> Any:
        assert self._file is not None
        self._file.write(data)
        self.bytes_written += len(data)
        self.sync_calls += 1
        hold = self.hold
        if hold is None:
            return None
        self.hold = None
        return hold.wait()

    async def on_flv(self, data: bytes) -> None:
        self.async_calls += 1
        await super().on_flv(data)


@BOTH_LOOPS
async def test_sync_target_gets_every_tag_without_on_flv(tmp_path: Path, sample_flv: Path) -> None:
    tags = list(flv.read_tags(sample_flv.read_bytes()))
    target = SyncTarget(tmp_path / "s.flv")
    auth = Auth({"S"}, lambda key: target)
    ended = Ended()
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=CFG, on_session_end=ended) as srv:
        client, code = await _publisher(srv.port, "S")
        assert code == PUBLISH_START
        await replay_flv(client, tags)
        # A ping in the middle of the media: the command path answers it in order.
        await client.send(messages.user_control(messages.PING_REQUEST, 1234))
        await replay_flv(client, tags, 5000)
        await unpublish(client, "S")
        await asyncio.wait_for(target.stopped.wait(), 10)
        await client.close()
    assert target.sync_calls > 0 and target.async_calls == 0 and target.stop_reason == "unpublished"
    got = [(t.tag_type, t.timestamp_ms, t.data) for t in flv.read_tags(target.path.read_bytes()) if t.tag_type != 18]
    sent = [(t.tag_type, t.timestamp_ms + off, t.data) for off in (0, 5000) for t in tags if t.tag_type != 18]
    assert got == sent
    stats = ended.sessions[0][1]
    frames = sum(1 for t in tags if t.tag_type == flv.TAG_VIDEO and t.data[1] == 1)
    assert stats.video_frames == 2 * frames and stats.video_codec == "h264" and stats.audio_codec == "aac"


@BOTH_LOOPS
async def test_sync_target_back_pressure_pauses_reading(tmp_path: Path) -> None:
    hold = asyncio.Event()
    target = SyncTarget(tmp_path / "bp.flv")
    target.hold = hold
    auth = Auth({"BP"}, lambda key: target)
    frame = b"\x17\x01\x00\x00\x00" + os.urandom(60_000)
    count = 300
    async with RtmpServer(auth, host="127.0.0.1", port=0, config=CFG) as srv:
        client, code = await _publisher(srv.port, "BP")
        assert code == PUBLISH_START
        await client.send(RtmpMessage(9, frame, 0, client.stream_id, 6))
        await wait_until(lambda: target.sync_calls >= 1)
        conn = srv.registry.get("BP")
        assert conn is not None
        read_before = conn.stats.bytes_received
        for i in range(1, count):
            client.writer.write(client.encoder.encode(RtmpMessage(9, frame, i * 40, client.stream_id, 6)))
        await asyncio.sleep(0.5)  # give a broken server time to read on (cannot fail a correct one)
        assert conn.stats.bytes_received == read_before
        assert client.writer.transport.get_write_buffer_size() > 4 * 1024 * 1024
        hold.set()
        await asyncio.wait_for(client.writer.drain(), 30)
        await unpublish(client, "BP")
        await asyncio.wait_for(target.stopped.wait(), 10)
        await client.close()
    assert len([t for t in flv.read_tags(target.path.read_bytes()) if t.tag_type == 9]) == count


@BOTH_LOOPS
async def test_sync_target_idle_publisher_is_dropped(tmp_path: Path) -> None:
    target = SyncTarget(tmp_path / "idle.flv")
    cfg = RtmpServerConfig(idle_timeout_s=0.5, refuse_delay_s=0.0)
    async with RtmpServer(Auth({"I"}, lambda key: target), host="127.0.0.1", port=0, config=cfg) as srv:
        client, code = await _publisher(srv.port, "I")
        assert code == PUBLISH_START
        assert await client.closed_by_server(10)
        await client.close()
        await wait_until(lambda: srv.live_keys() == [])
    assert target.stop_reason == "idle_timeout"


class PacedTarget(SyncTarget):
    """A synchronous target that reports ``slack`` seconds of slack (read pacing)."""

    def __init__(self, path: Path, slack: float) -> None:
        super().__init__(path)
        self.slack = slack

    def slack_s(self) -> float:
        return self.slack


@BOTH_LOOPS
async def test_read_pacing_batches_reads_and_loses_nothing(tmp_path: Path, ffmpeg: str) -> None:
    """With slack, the connection stops reading for up to ``pace_max_s`` between reads: the same real-time
    ffmpeg publish reaches the target in far fewer calls, every frame intact, and ends as usual."""
    cfg = RtmpServerConfig(idle_timeout_s=3.0, refuse_delay_s=0.0, pace_max_s=0.25)
    targets = {"PACED": PacedTarget(tmp_path / "paced.flv", 10.0), "EAGER": PacedTarget(tmp_path / "eager.flv", 0.0)}
    async with RtmpServer(Auth(set(targets), targets.__getitem__), host="127.0.0.1", port=0, config=cfg) as srv:
        rcs = await asyncio.gather(*(ffmpeg_publish(ffmpeg, f"rtmp://127.0.0.1:{srv.port}/live/{key}")
                                     for key in targets))
        assert rcs == [0, 0]
        for target in targets.values():
            await asyncio.wait_for(target.stopped.wait(), 10)
    paced, eager = targets["PACED"], targets["EAGER"]
    assert paced.stop_reason == eager.stop_reason == "unpublished"
    assert decode_counts(paced.path) == decode_counts(eager.path) == (["audio", "video"], FPS * PUBLISH_SECONDS,
                                                                      decode_counts(eager.path)[2])
    # 3 s in real time: about 12 paced reads (+ the start) against one or two per RTMP message.
    assert paced.sync_calls * 3 < eager.sync_calls, (paced.sync_calls, eager.sync_calls)
