"""Scenario 2, uploads cut: direct uploads through a loopback proxy that throttles, cuts, resets, stalls
and delays connections, by three kinds of client, each resuming as its protocol allows:

- **single PUT** (Mux's plain direct upload): the whole file again after any failure;
- **chunked PUTs with Content-Range** (UpChunk's protocol, 256 KiB chunks, written here: UpChunk itself
  runs only in a browser): after a failure, the status query (``bytes */TOTAL``) says where to resume;
- **tus 1.0.0** with the real clients: tuspy (Python) and tus-js-client (Node, from ``package.json``).

Each upload is its own media file (one clip, a different title tag each). A connection through the proxy
is, at random: passed as it is, throttled (~1 MB/s), cut after a random number of bytes, reset (RST)
after a random number of bytes, stalled for 2-5 s, started 0.5-2 s late, or *vanished*: the client's
side reset while the server's side stays open and silent (a phone that lost its network: the server
sees neither FIN nor RST, and the client's next request must not wait behind the ghost).

Checks (each a loss when it fails, read back from the API and the store): every upload ends
``asset_created``; its stored source is byte-identical to the file (SHA-256), so no asset was made of a
part of it; one asset per upload. Figures: faults injected by kind, retries by client kind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import socket
import struct
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from media import make_av
from services import VidlakeServer
from tusclient import client as tus_client

from faultsuite.report import Row
from vidlake.ffmpeg import ffmpeg_exe

ROOT = Path(__file__).resolve().parents[2]
FAULTS = ("pass", "throttle", "cut", "reset", "stall", "late", "vanish")
CHUNK = 256 * 1024

_TUS_JS = """
const tus = require(process.env.TUS_JS_PATH);
const fs = require('fs');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const data = fs.readFileSync(input.path);
let retries = 0;
const upload = new tus.Upload(data, {
  endpoint: input.endpoint, chunkSize: input.chunkSize, retryDelays: Array(60).fill(200),
  metadata: { filename: input.name },
  onShouldRetry: () => { retries += 1; return true; },
  onError: (e) => { process.stdout.write(JSON.stringify({ error: String(e), retries })); process.exitCode = 3; },
  onSuccess: () => { process.stdout.write(JSON.stringify({ url: upload.url, retries })); },
});
upload.start();
"""


class ChaosProxy:
    """A TCP relay on 127.0.0.1 to ``port``: each new connection gets one fault from :data:`FAULTS`
    (``pass`` with probability ``1 - rate``); the client's bytes are what the faults act on."""

    def __init__(self, port: int, rng: random.Random, rate: float = 0.5) -> None:
        self.target, self.rng, self.rate = port, rng, rate
        self.faults: Counter[str] = Counter()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.half_open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                fault = "pass" if self.rng.random() > self.rate else self.rng.choice(FAULTS[1:])
                after = self.rng.randrange(1, CHUNK + CHUNK // 8)  # inside a chunk request, or a whole PUT
                pause = self.rng.uniform(2, 5) if fault == "stall" else self.rng.uniform(0.5, 2)
                self.faults[fault] += 1
            threading.Thread(target=self._serve, args=(client, fault, after, pause), daemon=True).start()

    def _serve(self, client: socket.socket, fault: str, after: int, pause: float) -> None:
        if fault == "late":
            time.sleep(pause)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target))
        except OSError:
            client.close()
            return
        threading.Thread(target=self._pump_back, args=(upstream, client), daemon=True).start()
        sent = 0
        ends = [client, upstream]
        try:
            while data := client.recv(16384):
                if fault in ("cut", "reset", "stall", "vanish") and sent + len(data) >= after:
                    upstream.sendall(data[:max(0, after - sent)])
                    if fault == "stall":
                        time.sleep(pause)
                        upstream.sendall(data[max(0, after - sent):])
                        fault = "pass"
                    else:
                        if fault in ("reset", "vanish"):
                            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        if fault == "reset":
                            upstream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        if fault == "vanish":  # the server's side stays open, silent, until the proxy closes
                            self.half_open.append(upstream)
                            ends = [client]
                        break
                else:
                    upstream.sendall(data)
                sent += len(data)
                if fault == "throttle":
                    time.sleep(len(data) / 1_000_000)
        except OSError:
            pass
        finally:
            for s in ends:  # shutdown first: another thread blocked in recv() keeps a bare close() from ending it
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    @staticmethod
    def _pump_back(upstream: socket.socket, client: socket.socket) -> None:
        try:
            while data := upstream.recv(65536):
                client.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self.listener.close()
        for s in self.half_open:
            s.close()


def _single_put(url: str, data: bytes) -> int:
    """PUT the whole file until one answer is 200; returns the retries."""
    for retry in range(60):
        try:
            if httpx.put(url, content=data, timeout=10).status_code == 200:
                return retry
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("single PUT: 60 tries failed")


def _chunked(url: str, data: bytes) -> int:
    """UpChunk's protocol: Content-Range chunks; after a failure, the status query says where to go on."""
    total, offset, retries = len(data), 0, 0
    while retries < 200:
        end = min(offset + CHUNK, total) - 1
        try:
            r = httpx.put(url, content=data[offset:end + 1], timeout=10,
                          headers={"Content-Range": f"bytes {offset}-{end}/{total}"})
            if r.status_code == 200:
                return retries
            if r.status_code == 308:
                offset = end + 1
                continue
        except httpx.HTTPError:
            pass
        retries += 1
        time.sleep(0.1)
        try:
            status = httpx.put(url, content=b"", timeout=10, headers={"Content-Range": f"bytes */{total}"})
            if status.status_code == 200:
                return retries
            offset = int(status.headers["Range"].split("-")[1]) + 1 if "Range" in status.headers else 0
        except (httpx.HTTPError, KeyError, ValueError):
            pass
    raise RuntimeError("chunked: 200 retries")


def _tuspy(url: str, path: Path) -> int:
    """tuspy with retries (its own resume: HEAD, then PATCH from the server's offset)."""
    client = tus_client.TusClient(url + "/tus")
    for retry in range(60):
        try:
            uploader = client.uploader(str(path), chunk_size=CHUNK, retries=20, retry_delay=0.2)
            uploader.upload()
            return retry + uploader._retried  # tuspy's own retries (HEAD, then PATCH from the offset)
        except Exception:  # tuspy raises its own and requests' errors; try again from where the server is
            time.sleep(0.2)
    raise RuntimeError("tuspy: 60 tries failed")


def _tus_js(url: str, path: Path) -> int:
    """tus-js-client in Node (retryDelays: 60 x 200 ms)."""
    module = ROOT / "node_modules" / "tus-js-client"
    out = subprocess.run(["node", "-e", _TUS_JS], input=json.dumps(
        {"endpoint": url + "/tus", "path": str(path), "name": path.name, "chunkSize": CHUNK}),
        capture_output=True, text=True, timeout=300, env={"TUS_JS_PATH": str(module), "PATH": os.environ["PATH"]})
    result = json.loads(out.stdout or "{}")
    if "error" in result or out.returncode:
        raise RuntimeError(f"tus-js-client: {result.get('error') or out.stderr[-300:]}")
    return int(result["retries"])


def _files(dest: Path, count: int) -> list[Path]:
    """``count`` different media files: one 4 s 640x360 clip, a different title tag in each (~0.8 MB)."""
    dest.mkdir(parents=True, exist_ok=True)
    clip = make_av(dest / "clip.mp4", seconds=4, size="640x360", extra=["-b:v", "1500k"])
    out = []
    for i in range(count):
        path = dest / f"upload-{i:03d}.mp4"
        subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-i", str(clip), "-c", "copy",
                        "-metadata", f"title=upload {i}", str(path)], check=True, timeout=60)
        out.append(path)
    return out


CLIENTS = ("single PUT", "chunked", "tuspy", "tus-js-client")


def uploads_cut(root: Path, *, count: int = 100, seed: int = 2) -> list[Row]:
    """Run ``count`` uploads (the client kinds in turn), four at a time."""
    rng = random.Random(seed)
    files = _files(root / "media", count)
    server = VidlakeServer(root / "server", workers=1, env={"VIDLAKE_LOG_LEVEL": "WARNING"}).start()
    proxy = ChaosProxy(server.port, rng)
    lost: list[str] = []
    retries: Counter[str] = Counter()
    try:
        with server.client() as c:
            uploads = [c.post("/video/v1/uploads", json={"new_asset_settings": {"playback_policy": ["public"]}})
                       .json()["data"] for _ in files]
            def run(i: int) -> None:
                up, path, kind = uploads[i], files[i], CLIENTS[i % len(CLIENTS)]
                url = up["url"].replace(server.url, f"http://127.0.0.1:{proxy.port}")
                try:
                    if kind == "single PUT":
                        n = _single_put(url, path.read_bytes())
                    elif kind == "chunked":
                        n = _chunked(url, path.read_bytes())
                    elif kind == "tuspy":
                        n = _tuspy(url, path)
                    else:
                        n = _tus_js(url, path)
                    retries[kind] += n
                except Exception as exc:
                    lost.append(f"{path.name} ({kind}): {exc}"[:200])

            pending = list(range(len(files)))
            while pending:
                batch, pending = pending[:4], pending[4:]
                threads = [threading.Thread(target=run, args=(i,)) for i in batch]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            for up, path in zip(uploads, files, strict=True):
                d = c.get(f"/video/v1/uploads/{up['id']}").json()["data"]
                if d["status"] != "asset_created" or not d.get("asset_id"):
                    lost.append(f"{path.name}: upload {d['status']}")
                    continue
                stored = list(server.data_dir.rglob(f"{up['id']}/source"))
                if len(stored) != 1:
                    lost.append(f"{path.name}: {len(stored)} stored sources")
                elif hashlib.sha256(stored[0].read_bytes()).digest() != hashlib.sha256(path.read_bytes()).digest():
                    lost.append(f"{path.name}: the stored source differs from the file")
            assets = c.get("/video/v1/assets", params={"limit": 100}).json()["data"]
            by_upload = Counter(a.get("upload_id") for a in assets)
            lost += [f"upload {u}: {n} assets" for u, n in by_upload.items() if u and n > 1]
    finally:
        proxy.close()
        server.stop()
    held = len(files) - len({line.split(":")[0].split(" ")[0] for line in lost})
    figures = {**{f"faults {k}": str(v) for k, v in sorted(proxy.faults.items())},
               **{f"retries {k}": str(v) for k, v in sorted(retries.items())}}
    return [Row(f"{count} uploads through a cutting, resetting, stalling proxy", len(files), max(held, 0), lost,
                figures)]
