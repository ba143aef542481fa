"""Scenario 8b, RTMP fuzzing: mutated real sessions sent to the ingest for ``seconds`` seconds beside a
good publisher.

A real ffmpeg publish (4 s, H.264 + AAC) is recorded through a relay (what the client sent). Then, while
a second ffmpeg publishes to another live stream without pause, ``parallel`` connections at a time replay
that session mutated: bytes flipped in the handshake or the chunks, 32-bit fields set to extremes, blocks
repeated, cut out or shuffled, random bytes inserted, truncated; a third of them keep the recorded
(valid) stream key, so the mutations reach the publish and the media parser. The server's answers are
read and dropped.

Checks (each a loss when it fails): the good stream's live playlist gains a segment at least every
:data:`MAX_GAP_S` seconds and shows no discontinuity, and its last segments decode; the server process
and its worker never exit; after the fuzzing a fresh valid publish to the fuzzed key goes ``active``.
Figures: sessions and bytes sent, the good stream's longest gap between new segments, the server's RSS
before and after (MiB)."""

from __future__ import annotations

import contextlib
import dataclasses
import random
import socket
import threading
import time
from pathlib import Path

import httpx
from live_support import create_stream, decode_segments, fetch_media_playlist, publish, stream_status, wait_for
from services import VidlakeServer

from faultsuite.procs import rss_mib, worker_pids
from faultsuite.report import Row

HANDSHAKE = 1 + 1536  #: C0 + C1 (bytes)
MAX_GAP_S = 8.0  #: the good stream must list a new segment at least this often (seconds)


class Recorder:
    """A TCP relay on 127.0.0.1 to ``port`` that keeps every byte the client sent."""

    def __init__(self, port: int) -> None:
        self.sent = bytearray()
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        client, _ = self.listener.accept()
        upstream = socket.create_connection(("127.0.0.1", self.target))

        def pump(src: socket.socket, dst: socket.socket, keep: bool) -> None:
            try:
                while data := src.recv(65536):
                    if keep:
                        self.sent += data
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)
                    s.close()

        threading.Thread(target=pump, args=(upstream, client, False), daemon=True).start()
        pump(client, upstream, True)


def mutate(session: bytes, key: str, rng: random.Random) -> bytes:
    """One mutation of a recorded session; the stream key is replaced by junk two times in three."""
    data = bytearray(session if rng.random() < 1 / 3 else
                     session.replace(key.encode(), rng.randbytes(len(key)).hex()[:len(key)].encode()))
    for _ in range(rng.randint(1, 3)):
        n = len(data)
        kind = rng.randrange(8)
        lo = 0 if rng.random() < 0.15 or n <= HANDSHAKE * 2 + 1 else HANDSHAKE * 2  # the handshake, sometimes
        at = rng.randrange(lo, max(lo + 1, n))
        if kind == 0:
            for _ in range(rng.randint(1, 32)):
                data[rng.randrange(lo, n)] = rng.randrange(256)
        elif kind == 1:
            data[at:at + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"])
        elif kind == 2:
            size = rng.randint(1, 4096)
            data[at:at] = data[at:at + size]
        elif kind == 3:
            del data[at:at + rng.randint(1, 4096)]
        elif kind == 4:
            data[at:at] = rng.randbytes(rng.randint(1, 512))
        elif kind == 5:
            a, b = sorted(rng.sample(range(lo, max(lo + 2, n)), 2))
            size = min(rng.randint(16, 2048), b - a)
            data[a:a + size], data[b:b + size] = data[b:b + size], data[a:a + size]
        elif kind == 6:
            del data[rng.randrange(lo + 1, max(lo + 2, n)):]
        else:
            data[at:at + 1] = bytes([rng.choice([0x03, 0x04, 0x43, 0xC3, 0x02, 0x14, 0x01])])  # chunk types
    return bytes(data)


def send(port: int, blob: bytes, rng: random.Random) -> None:
    """Send ``blob`` to the ingest in random-sized writes, reading and dropping the answers; at most 3 s."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
            sock.settimeout(0.05)
            deadline = time.monotonic() + 3
            i = 0
            while i < len(blob) and time.monotonic() < deadline:
                step = rng.choice([1, 7, 128, 1537, 4096, 65536])
                sock.sendall(blob[i:i + step])
                i += step
                with contextlib.suppress(TimeoutError, BlockingIOError):
                    sock.recv(65536)
    except OSError:
        pass  # the server closing a bad session is the expected outcome




class Watcher(threading.Thread):
    """Polls the good stream's media playlist; keeps the longest wait for a new segment and
    discontinuities seen."""

    def __init__(self, base: str, playback_id: str) -> None:
        super().__init__(daemon=True)
        self.base, self.playback_id = base, playback_id
        self.stop = threading.Event()
        self.longest_gap = 0.0
        self.discontinuities = 0
        self.errors: list[str] = []

    def run(self) -> None:
        last_seq, last_new = -1, time.monotonic()
        while not self.stop.is_set():
            try:
                _url, media = fetch_media_playlist(self.base, self.playback_id)
                newest = media.media_sequence + len(media.segments)
                if newest > last_seq:
                    last_seq, last_new = newest, time.monotonic()
                self.discontinuities = max(self.discontinuities, sum(1 for s in media.segments if s.discontinuity))
            except (httpx.HTTPError, AssertionError) as exc:
                if len(self.errors) < 5:
                    self.errors.append(f"{type(exc).__name__}: {exc}"[:160])
            self.longest_gap = max(self.longest_gap, time.monotonic() - last_new)
            time.sleep(0.5)


def rtmp_fuzz(root: Path, *, seconds: float = 600.0, parallel: int = 3, seed: int = 5) -> list[Row]:
    """Run the scenario for ``seconds`` seconds of fuzzing."""
    server = VidlakeServer(root / "server", rtmp=True, workers=1, env={"VIDLAKE_LOG_LEVEL": "WARNING"}).start()
    assert server.proc is not None
    lost: list[str] = []
    sessions = sent_bytes = 0
    good = None
    try:
        with server.client() as c:
            target, steady = create_stream(c, reconnect_window=0), create_stream(c)
            recorder = Recorder(server.rtmp_port)
            recording = publish(f"rtmp://127.0.0.1:{recorder.port}/live/{target['stream_key']}", 4)
            recording.wait(timeout=60)
            session = bytes(recorder.sent)
            wait_for(lambda: stream_status(c, target["id"])["status"] == "idle", "the recorded publish to end", 60)
            good = publish(f"rtmp://127.0.0.1:{server.rtmp_port}/live/{steady['stream_key']}", seconds + 60)
            wait_for(lambda: stream_status(c, steady["id"])["status"] == "active", "the good stream active", 60)
            pid = steady["playback_ids"][0]["id"]
            wait_for(lambda: fetch_media_playlist(server.url, pid)[1].segments, "the good stream's first segment")
            workers_before = sorted(worker_pids(server))
            rss_before = rss_mib(server.proc.pid)
            watcher = Watcher(server.url, pid)
            watcher.start()
            deadline = time.monotonic() + seconds

            def fuzz(n: int) -> None:
                nonlocal sessions, sent_bytes
                local = random.Random(seed * 1000 + n)
                while time.monotonic() < deadline:
                    blob = mutate(session, target["stream_key"], local)
                    send(server.rtmp_port, blob, local)
                    sessions += 1
                    sent_bytes += len(blob)

            threads = [threading.Thread(target=fuzz, args=(n,), daemon=True) for n in range(parallel)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            watcher.stop.set()
            watcher.join()
            if server.proc.poll() is not None:
                lost.append(f"the server exited ({server.proc.returncode})")
            if watcher.longest_gap > MAX_GAP_S:
                lost.append(f"the good stream listed no new segment for {watcher.longest_gap:.1f} s")
            if watcher.discontinuities:
                lost.append(f"the good stream shows {watcher.discontinuities} discontinuities")
            lost += [f"good stream playlist: {e}" for e in watcher.errors]
            if stream_status(c, steady["id"])["status"] != "active":
                lost.append("the good stream is no longer active")
            url, media = fetch_media_playlist(server.url, pid)
            tail = dataclasses.replace(media, segments=media.segments[-3:])
            decode_dir = root / "decode"
            decode_dir.mkdir()
            try:
                decode_segments(url, tail, decode_dir)
            except Exception as exc:  # a loss, whatever broke
                lost.append(f"the good stream's last segments do not decode: {exc}"[:200])
            if sorted(worker_pids(server)) != workers_before:
                lost.append(f"worker processes changed: {workers_before} -> {sorted(worker_pids(server))}")
            rss_after = rss_mib(server.proc.pid)
            wait_for(lambda: stream_status(c, target["id"])["status"] != "active", "the fuzzed key released", 60)
            again = publish(f"rtmp://127.0.0.1:{server.rtmp_port}/live/{target['stream_key']}", 6)
            try:
                wait_for(lambda: stream_status(c, target["id"])["status"] == "active", "a valid publish after", 30)
            except AssertionError:
                lost.append("a valid publish to the fuzzed key did not go active afterwards")
            again.wait(timeout=60)
    finally:
        if good is not None:
            good.kill()
            good.wait()
        server.stop()
    figures = {"sessions": str(sessions), "MB sent": f"{sent_bytes / 1e6:.0f}",
               "recorded session (kB)": f"{len(session) / 1000:.0f}",
               "good stream's longest gap (s)": f"{watcher.longest_gap:.1f}",
               "server RSS before/after (MiB)": f"{rss_before:.0f}/{rss_after:.0f}"}
    return [Row(f"RTMP fuzzing {seconds:g} s ({parallel} at a time) beside a good publisher", 1,
                0 if lost else 1, lost, figures)]
