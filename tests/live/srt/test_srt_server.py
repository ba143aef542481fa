"""End-to-end: the SRT listener on 127.0.0.1 with real ffmpeg publishers, libsrt callers and UDP noise."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import av
import pytest
from srt_media import FPS, GOP, h264_aac_args, source_args

from vidlake.live.srt import abi, lib
from vidlake.live.srt.config import SrtServerConfig
from vidlake.live.srt.server import SrtServer
from vidlake.live.srt.target import SrtPublishTarget, TsFileTarget
from vidlake.live.stats import SessionStats
from vidlake.live.target import PublishInfo

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not lib.available(), reason=f"libsrt missing: apt-get install {lib.APT_PACKAGE}"),
]

CFG = SrtServerConfig(idle_timeout_s=1.5, peer_idle_timeout_s=3.0, refuse_delay_s=0.2, poll_s=0.1)


class Auth:
    """An ``authorize`` callback: known keys get a :class:`TsFileTarget` under ``root``, others ``None``."""

    def __init__(self, root: Path, keys: set[str], make: Callable[[str], SrtPublishTarget] | None = None) -> None:
        self.root = root
        self.keys = keys
        self.make = make
        self.calls: list[tuple[str, str, str]] = []
        self.targets: dict[str, list[SrtPublishTarget]] = {}

    async def __call__(self, app: str, key: str, peer: tuple[str, int]) -> SrtPublishTarget | None:
        self.calls.append((app, key, peer[0]))
        if key not in self.keys:
            return None
        n = len(self.targets.get(key, []))
        target = self.make(key) if self.make else TsFileTarget(self.root / f"{key}-{n}.ts")
        self.targets.setdefault(key, []).append(target)
        return target

    def file_target(self, key: str, index: int = 0) -> TsFileTarget:
        target = self.targets[key][index]
        assert isinstance(target, TsFileTarget)
        return target


class Ended:
    """An ``on_session_end`` callback that records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[PublishInfo, SessionStats, str]] = []

    async def __call__(self, info: PublishInfo, stats: SessionStats, reason: str) -> None:
        self.calls.append((info, stats, reason))


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(poll(), timeout_s)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def publish(ffmpeg: str, port: int, stream_id: str, seconds: float) -> asyncio.subprocess.Process:
    """An ffmpeg publisher: ``seconds`` of 320x180 H.264 + AAC in real time over SRT."""
    url = f"srt://127.0.0.1:{port}?streamid={quote(stream_id, safe='')}&pkt_size=1316"
    return await asyncio.create_subprocess_exec(
        ffmpeg, "-hide_banner", "-loglevel", "quiet", "-nostdin", "-re", *source_args(seconds), *h264_aac_args(),
        "-f", "mpegts", url,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )


async def exit_code(proc: asyncio.subprocess.Process, timeout_s: float = 30.0) -> int:
    return await asyncio.wait_for(proc.wait(), timeout_s)


def decoded(path: Path) -> dict[str, int]:
    """Frames per stream type that PyAV decodes from ``path``, and ``errors``: packets that failed.

    ffmpeg as an SRT caller loses its very last TS packets when it closes (libsrt's live mode drops
    what is still unsent on close; measured: the received file equals ffmpeg's own TS output except
    the last 564 bytes), so the last audio packet may be cut: at most one error is tolerated.
    """
    counts = {"video": 0, "audio": 0, "errors": 0}
    with av.open(str(path)) as c:
        for packet in c.demux(*c.streams.video, *c.streams.audio):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                counts["errors"] += 1
                continue
            counts[packet.stream.type] += len(frames)
    return counts


def call(port: int, stream_id: str) -> int:
    """Connect a libsrt caller (blocking); returns the socket. Raises ``lib.SrtError`` if rejected,
    with the socket left open so :func:`lib.reject_reason` can be read (see :func:`rejected`)."""
    sock = lib.create_socket()
    lib.set_str(sock, abi.SRTO_STREAMID, stream_id)
    lib.set_int(sock, abi.SRTO_CONNTIMEO, 3000)
    lib.connect(sock, "127.0.0.1", port)
    return sock


def rejected(port: int, stream_id: str) -> int:
    """The reject reason a libsrt caller gets for ``stream_id`` (fails if it is let in)."""
    sock = lib.create_socket()
    try:
        lib.set_str(sock, abi.SRTO_STREAMID, stream_id)
        lib.set_int(sock, abi.SRTO_CONNTIMEO, 3000)
        with pytest.raises(lib.SrtError):
            lib.connect(sock, "127.0.0.1", port)
        return lib.reject_reason(sock)
    finally:
        lib.close(sock)


async def run_server(auth: Auth, config: SrtServerConfig = CFG, ended: Ended | None = None) -> SrtServer:
    server = SrtServer(auth, host="127.0.0.1", port=0, config=config, on_session_end=ended)
    await server.start()
    return server


# ----------------------------------------------------------------------------------- tests


async def test_publish_gives_a_decodable_stream_and_health(tmp_path: Path, ffmpeg: str) -> None:
    auth, ended = Auth(tmp_path, {"live1"}), Ended()
    server = await run_server(auth, ended=ended)
    try:
        assert server.port > 0
        proc = await publish(ffmpeg, server.port, "live1", seconds=3)
        await until(lambda: (s := server.stats("live1")) is not None and s.video_frames >= 2 * GOP, "two GOPs")
        stats = server.stats("live1")
        assert stats is not None
        assert (stats.video_codec, stats.audio_codec) == ("h264", "aac")
        assert (stats.width, stats.height, stats.fps) == (320, 180, FPS)
        assert stats.measured_fps is not None and FPS * 0.9 < stats.measured_fps < FPS * 1.1
        assert stats.keyframe_interval_s == pytest.approx(GOP / FPS, abs=0.01)
        assert stats.bitrate_bps > 0 and stats.last_frame_at is not None
        assert server.live_keys() == ["live1"]
        info = server.session_info("live1")
        assert info is not None and (info.app, info.key, info.tc_url) == ("srt", "live1", server.url)
        link = server.link_stats("live1")
        assert link is not None and link.packets_received > 0 and link.bytes_received > 0
        assert await exit_code(proc) == 0
        target = auth.file_target("live1")
        await asyncio.wait_for(target.stopped.wait(), 10)
        assert (target.stop_calls, target.stop_reason) == (1, "closed")
        frames = decoded(target.path)
        assert frames["video"] == 3 * FPS and frames["audio"] > 0 and frames["errors"] <= 1
        assert len(ended.calls) == 1 and ended.calls[0][2] == "closed"
        assert ended.calls[0][1].video_frames == frames["video"]
        assert server.stats("live1") is None and server.live_keys() == []
    finally:
        await server.close()


async def test_access_control_stream_id_and_kick(tmp_path: Path, ffmpeg: str) -> None:
    auth = Auth(tmp_path, {"kick1"})
    server = await run_server(auth)
    try:
        proc = await publish(ffmpeg, server.port, "#!::r=kick1,m=publish,u=alice", seconds=60)
        await until(lambda: server.live_keys() == ["kick1"], "publishing")
        info = server.session_info("kick1")
        assert info is not None and info.query == "u=alice"
        assert await server.kick("kick1") is True
        target = auth.file_target("kick1")
        assert (target.stop_calls, target.stop_reason) == (1, "kicked")  # kick returns after on_stop
        assert await exit_code(proc, 20) != 0
        assert await server.kick("kick1") is False
        assert server.stats("kick1") is None
    finally:
        await server.close()


async def test_unknown_key_is_refused_and_the_server_keeps_serving(tmp_path: Path, ffmpeg: str) -> None:
    auth = Auth(tmp_path, {"good"})
    server = await run_server(auth)
    try:
        bad = await publish(ffmpeg, server.port, "nope", seconds=30)
        assert await exit_code(bad, 20) != 0
        assert ("srt", "nope", "127.0.0.1") in auth.calls
        assert server.failures.count("127.0.0.1") == 1
        good = await publish(ffmpeg, server.port, "good", seconds=1)
        assert await exit_code(good) == 0
        target = auth.file_target("good")
        await asyncio.wait_for(target.stopped.wait(), 10)
        assert target.stop_reason == "closed" and decoded(target.path)["video"] == FPS
    finally:
        await server.close()


async def test_second_publisher_on_a_live_key_is_refused_first_continues(tmp_path: Path, ffmpeg: str) -> None:
    auth = Auth(tmp_path, {"dup"})
    server = await run_server(auth)
    try:
        first = await publish(ffmpeg, server.port, "dup", seconds=4)
        await until(lambda: server.live_keys() == ["dup"], "first publishing")
        second = await publish(ffmpeg, server.port, "dup", seconds=4)
        assert await exit_code(second, 20) != 0
        assert server.refused_connections >= 1
        target = auth.file_target("dup")
        seen = target.bytes_written
        await until(lambda: target.bytes_written > seen + 10_000, "the first publisher still sending")
        assert await exit_code(first) == 0
        await asyncio.wait_for(target.stopped.wait(), 10)
        assert len(auth.targets["dup"]) == 1 and target.stop_calls == 1 and target.stop_reason == "closed"
        assert decoded(target.path)["video"] == 4 * FPS
    finally:
        await server.close()


async def test_handshake_rejections_idle_timeout_and_failure_limit(tmp_path: Path, sample_ts: Path) -> None:
    auth = Auth(tmp_path, {"held", "other"})
    server = await run_server(auth, SrtServerConfig(idle_timeout_s=1.5, poll_s=0.1, max_failures_per_ip=3))
    port = server.port
    try:
        # a libsrt caller publishes a few packets, then goes silent (keep-alives only)
        sock = await asyncio.to_thread(call, port, "held")
        data = sample_ts.read_bytes()[: 1316 * 40]
        for i in range(0, len(data), 1316):
            await asyncio.to_thread(lib.send, sock, data[i:i + 1316])
        await until(lambda: "held" in auth.targets, "authorized")
        target = auth.file_target("held")
        assert await asyncio.to_thread(rejected, port, "held") == abi.SRT_REJX_CONFLICT
        assert await asyncio.to_thread(rejected, port, "#!::m=publish") == abi.SRT_REJX_BAD_REQUEST
        assert await asyncio.to_thread(rejected, port, "#!::r=other,m=request") == abi.SRT_REJX_BAD_MODE
        await asyncio.wait_for(target.stopped.wait(), 10)
        assert (target.stop_calls, target.stop_reason) == (1, "idle_timeout")
        assert target.path.read_bytes() == data  # every byte arrived, in order
        lib.close(sock)
        # third failure from this address: now even a valid key is rejected in the handshake
        assert await asyncio.to_thread(rejected, port, "") == abi.SRT_REJX_BAD_REQUEST
        assert await asyncio.to_thread(rejected, port, "other") == abi.SRT_REJX_FORBIDDEN
        assert "other" not in auth.targets
    finally:
        await server.close()


async def test_udp_garbage_does_not_disturb_a_good_stream(tmp_path: Path, ffmpeg: str) -> None:
    auth = Auth(tmp_path, {"clean"})
    server = await run_server(auth)
    rng = random.Random(5)

    def noise(count: int) -> None:
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
        try:
            for i in range(count):
                size = rng.choice([1, 4, 16, 64, 200, 1316, 1456, 1500])
                payload = bytearray(rng.randbytes(size))
                if i % 3 == 0 and size >= 16:  # looks like an SRT control packet (handshake, shutdown...)
                    payload[0] = 0x80
                    payload[1] = rng.choice([0, 1, 2, 3, 5, 6, 0x7F])
                socks[i % 4].sendto(bytes(payload), ("127.0.0.1", server.port))
                if i % 50 == 0:
                    time.sleep(0.02)
        finally:
            for s in socks:
                s.close()

    try:
        proc = await publish(ffmpeg, server.port, "clean", seconds=3)
        await until(lambda: server.live_keys() == ["clean"], "publishing")
        await asyncio.to_thread(noise, 3000)
        assert await exit_code(proc) == 0
        target = auth.file_target("clean")
        await asyncio.wait_for(target.stopped.wait(), 10)
        assert target.stop_calls == 1 and target.stop_reason == "closed"
        assert decoded(target.path)["video"] == 3 * FPS
        # still accepting
        sock = await asyncio.to_thread(call, server.port, "clean")
        await until(lambda: len(auth.targets["clean"]) == 2, "a new session after the noise")
        lib.close(sock)
    finally:
        await server.close()


async def test_caller_killed_mid_stream_gives_one_on_stop(tmp_path: Path, ffmpeg: str) -> None:
    auth = Auth(tmp_path, {"crash"})
    server = await run_server(auth)
    try:
        proc = await publish(ffmpeg, server.port, "crash", seconds=60)
        await until(lambda: (s := server.stats("crash")) is not None and s.video_frames >= FPS, "frames")
        proc.kill()  # no SRT shutdown is sent: the server notices the silence
        await proc.wait()
        target = auth.file_target("crash")
        await asyncio.wait_for(target.stopped.wait(), 15)
        assert target.stop_reason in ("idle_timeout", "closed")
        await asyncio.sleep(CFG.poll_s * 5)
        assert target.stop_calls == 1
        assert server.live_keys() == [] and server.connection_count == 0
        assert decoded(target.path)["video"] >= FPS  # what arrived is still a valid stream
    finally:
        await server.close()


class StuckTarget(TsFileTarget):
    """Takes the first batch, then blocks forever (a hung pipeline)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls = 0

    async def on_ts(self, data: bytes) -> None:
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await super().on_ts(data)
            if self.calls > 1:
                await asyncio.Event().wait()
        finally:
            self.in_flight -= 1


async def test_stuck_target_ends_the_session_and_shutdown_stops_the_rest(tmp_path: Path, ffmpeg: str) -> None:
    make: dict[str, Callable[[str], SrtPublishTarget]] = {}
    auth = Auth(tmp_path, {"stuck", "live"}, make=lambda key: make[key](key))
    make["stuck"] = lambda key: StuckTarget(tmp_path / f"{key}.ts")
    make["live"] = lambda key: TsFileTarget(tmp_path / f"{key}.ts")
    server = await run_server(auth, SrtServerConfig(idle_timeout_s=5, poll_s=0.1, target_timeout_s=1.0))
    try:
        stuck_proc = await publish(ffmpeg, server.port, "stuck", seconds=60)
        live_proc = await publish(ffmpeg, server.port, "live", seconds=60)
        await until(lambda: "stuck" in auth.targets, "stuck authorized")
        stuck = auth.targets["stuck"][0]
        assert isinstance(stuck, StuckTarget)
        await asyncio.wait_for(stuck.stopped.wait(), 15)
        assert (stuck.stop_calls, stuck.stop_reason, stuck.max_in_flight) == (1, "target_error", 1)
        assert await exit_code(stuck_proc, 20) != 0
        await until(lambda: server.live_keys() == ["live"], "the other stream unaffected")
        await server.close()
        live = auth.file_target("live")
        assert (live.stop_calls, live.stop_reason) == (1, "server_shutdown")
        assert await exit_code(live_proc, 20) != 0
        assert server.connection_count == 0
        await until(lambda: not [t for t in threading.enumerate() if t.name.startswith("srt-")], "srt threads gone")
    finally:
        await server.close()


def test_missing_library_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lib, "SONAMES", ("libsrt-does-not-exist.so.9",))
    monkeypatch.setattr(lib.ctypes.util, "find_library", lambda name: None)
    with pytest.raises(lib.SrtLibraryMissing, match=lib.APT_PACKAGE):
        lib._find()


def test_library_version() -> None:
    assert lib.version().startswith("1.")
    assert int(lib.version().split(".")[1]) >= 5



async def test_shared_registry_keeps_one_publisher_per_key_across_rtmp_and_srt(tmp_path: Path,
                                                                               sample_ts: Path) -> None:
    from vidlake.live.rtmp.client import RtmpPublisher
    from vidlake.live.rtmp.server import RtmpServer
    from vidlake.live.rtmp.target import FlvFileTarget, PublishTarget

    flv_targets: list[FlvFileTarget] = []

    async def rtmp_auth(app: str, key: str, peer: tuple[str, int]) -> PublishTarget | None:
        flv_targets.append(FlvFileTarget(tmp_path / f"{key}.flv"))
        return flv_targets[-1]

    rtmp = RtmpServer(rtmp_auth, host="127.0.0.1", port=0)
    await rtmp.start()
    auth = Auth(tmp_path, {"both"})
    srt = SrtServer(auth, host="127.0.0.1", port=0, config=CFG, registry=rtmp.registry)
    await srt.start()
    try:
        sock = await asyncio.to_thread(call, srt.port, "both")
        await asyncio.to_thread(lib.send, sock, sample_ts.read_bytes()[:1316])
        await until(lambda: rtmp.live_keys() == ["both"], "SRT publish visible to the RTMP server")
        pub = await RtmpPublisher.open("127.0.0.1", rtmp.port)
        await pub.connect("live")
        assert await pub.publish("both") == "NetStream.Publish.BadName"
        assert flv_targets == []  # refused before authorize
        pub.writer.close()
        assert await rtmp.kick("both") is True  # either server can kick either publisher
        assert auth.file_target("both").stop_reason == "kicked"
        lib.close(sock)

        pub2 = await RtmpPublisher.open("127.0.0.1", rtmp.port)
        await pub2.connect("live")
        assert await pub2.publish("both") == "NetStream.Publish.Start"
        assert await asyncio.to_thread(rejected, srt.port, "both") == abi.SRT_REJX_CONFLICT
        assert srt.live_keys() == ["both"] and srt.stats("both") is not None and srt.link_stats("both") is None
        pub2.writer.close()
        await until(lambda: rtmp.live_keys() == [], "RTMP publisher gone")
        assert len(auth.targets["both"]) == 1
    finally:
        await srt.close()
        await rtmp.close()
