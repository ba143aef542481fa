"""Scenario 8c, mutated media: a corpus of real files (MP4, fragmented and fast-start MP4, MOV, Matroska,
MPEG-TS, FLV, M4A, WAV) mutated ``count`` times (bytes flipped anywhere or in the headers, 32-bit fields
set to extremes, truncated, blocks zeroed, repeated or cut out, two files spliced), plus hand-made
hostile files (playlists and concat lists naming ``/etc/passwd``, a URL list, empty, noise), each pulled
as a new asset over HTTP through the probe and, when accepted, the transcode.

Checks (each a loss when it fails, read back through the API and from ``/proc``): every asset reaches a
final state (``ready`` or ``errored``) within :data:`HANG_S` seconds of its creation (no hang); an
errored asset says why in words (no traceback, no path of the server's disk, nothing of a local file);
a ready asset's playlists parse and every rendition decodes; the API process and its worker never
exit (no crash: the worker pids are the same at the end); no ffmpeg or probe child left running.
Figures: how many were accepted and refused, and by which reason; the slowest time to a final state;
ready assets whose renditions decode to a duration other than the one reported (more than 0.5 s off)."""

from __future__ import annotations

import random
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from media import FileServer
from services import VidlakeServer, wait_until

from faultsuite.procs import ffmpeg_left, worker_pids
from faultsuite.report import Row
from faultsuite.workers import renditions_decoded
from vidlake.ffmpeg import ffmpeg_exe

HANG_S = 120.0  #: a 2-second file not final this long (seconds) after its asset was made counts as a hang
LEAKS = ("root:x:0", "Traceback", "/etc/passwd")  #: never in an error a person reads

#: Seed files: (name, ffmpeg output arguments); 2 s of testsrc2 320x180 at 25 fps and a 440 Hz tone.
SEEDS: dict[str, list[str]] = {
    "plain.mp4": ["-c:v", "libx264", "-c:a", "aac"],
    "faststart.mp4": ["-c:v", "libx264", "-c:a", "aac", "-movflags", "+faststart"],
    "fragmented.mp4": ["-c:v", "libx264", "-c:a", "aac", "-movflags", "+frag_keyframe+empty_moov"],
    "clip.mov": ["-c:v", "mpeg4", "-c:a", "aac"],
    "clip.mkv": ["-c:v", "libx264", "-c:a", "aac"],
    "clip.ts": ["-c:v", "libx264", "-c:a", "aac", "-f", "mpegts"],
    "clip.flv": ["-c:v", "libx264", "-c:a", "aac", "-f", "flv"],
    "audio.m4a": ["-vn", "-c:a", "aac"],
    "audio.wav": ["-vn", "-c:a", "pcm_s16le"],
}


def make_seeds(dest: Path) -> dict[str, bytes]:
    """The seed files, made with the real ffmpeg: name -> bytes."""
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, args in SEEDS.items():
        path = dest / name
        subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=s=320x180:r=25:d=2", "-f", "lavfi", "-i", "sine=f=440:sample_rate=44100:d=2",
                        "-pix_fmt", "yuv420p", "-g", "25", *args, "-shortest", str(path)], check=True, timeout=120)
        out[name] = path.read_bytes()
    return out


def hostile() -> dict[str, bytes]:
    """Hand-made files that must be refused without reading anything local or opening a connection."""
    return {
        "playlist.mp4": b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
        "bom-playlist.mkv": b"\xef\xbb\xbf#EXTM3U\n#EXTINF:1,\n/etc/passwd\n",
        "concat.mp4": b"ffconcat version 1.0\nfile 'file:///etc/passwd'\nfile '/etc/passwd'\n",
        "urls.ts": b"http://169.254.169.254/latest/meta-data\nrtmp://127.0.0.1/live/x\n",
        "sdp.mp4": b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 5004 RTP/AVP 96\n",
        "empty.mp4": b"",
        "noise.mkv": random.Random(3).randbytes(40_000),
    }


def mutate(data: bytes, other: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One mutation of ``data`` (``other``: another seed, for splices): (what was done, the bytes)."""
    buf = bytearray(data)
    n = len(buf)
    kind = rng.randrange(8)
    if kind == 0:
        for _ in range(rng.randint(1, 64)):
            buf[rng.randrange(n)] = rng.randrange(256)
        return "bytes flipped", bytes(buf)
    if kind == 1:
        for _ in range(rng.randint(1, 16)):
            buf[rng.randrange(min(n, 4096))] = rng.randrange(256)
        return "header bytes flipped", bytes(buf)
    if kind == 2:
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(0, max(1, min(n, 65536) - 4)) & ~3
            buf[at:at + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff",
                                         b"\x00\x00\x00\x01", b"\x80\x00\x00\x00"])
        return "32-bit fields set to extremes", bytes(buf)
    if kind == 3:
        return "truncated", bytes(buf[:rng.randrange(1, n)])
    start, size = rng.randrange(n), rng.randint(100, 5000)
    if kind == 4:
        buf[start:start + size] = bytes(len(buf[start:start + size]))
        return "block zeroed", bytes(buf)
    if kind == 5:
        return "block repeated", bytes(buf[:start + size] + buf[start:start + size] + buf[start + size:])
    if kind == 6:
        return "block cut out", bytes(buf[:start] + buf[start + size:])
    cut = rng.randrange(1, n)
    return "spliced with another file", bytes(buf[:cut] + other[rng.randrange(len(other)):])


def _human(error: dict[str, Any] | None) -> str | None:
    """What is wrong with an errored asset's ``errors`` (None when it is a message a person can read)."""
    messages = (error or {}).get("messages") or []
    if not messages or not all(isinstance(m, str) and m.strip() for m in messages):
        return f"no message: {error}"
    text = " ".join(messages)
    leaks = [w for w in LEAKS if w in text]
    return f"error text shows {leaks}: {text[:200]}" if leaks else None


def mutated_media(root: Path, *, count: int = 300, seed: int = 11) -> list[Row]:
    """Pull ``count`` mutated files and the hostile ones as assets; one Row with every check."""
    rng = random.Random(seed)
    seeds = make_seeds(root / "seeds")
    corpus = root / "corpus"
    corpus.mkdir()
    made: dict[str, str] = {}  # file name -> what it is
    for name, blob in hostile().items():
        (corpus / f"hostile-{name}").write_bytes(blob)
        made[f"hostile-{name}"] = "hostile"
    names = sorted(seeds)
    for i in range(count):
        name = names[i % len(names)]
        what, blob = mutate(seeds[name], seeds[rng.choice(names)], rng)
        (corpus / f"{i:04d}-{name}").write_bytes(blob)
        made[f"{i:04d}-{name}"] = what
    files = FileServer(corpus)
    server = VidlakeServer(root / "server", workers=1, env={"VIDLAKE_LOG_LEVEL": "WARNING"}).start()
    lost: list[str] = []
    reasons: Counter[str] = Counter()
    slowest = 0.0
    off: list[str] = []
    try:
        workers_before = sorted(worker_pids(server))
        created: dict[str, tuple[str, float]] = {}
        with server.client() as c:
            for name in made:
                r = c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/{name}"}],
                                                      "playback_policy": ["public"], "passthrough": name})
                if r.status_code != 201:
                    lost.append(f"{name}: create answered {r.status_code} {r.text[:120]}")
                    continue
                created[r.json()["data"]["id"]] = (name, time.monotonic())
            pending = dict(created)
            final: dict[str, dict[str, Any]] = {}
            while pending:
                for aid, (name, t0) in list(pending.items()):
                    data = c.get(f"/video/v1/assets/{aid}").json()["data"]
                    done = data["status"] == "errored" or (data.get("progress") or {}).get("state") == "completed"
                    if done:
                        final[aid] = data
                        slowest = max(slowest, time.monotonic() - t0)
                        del pending[aid]
                    elif time.monotonic() - t0 > HANG_S * max(1, len(created) / 20):
                        # one worker takes them in turn: the bound grows with the queue ahead of it
                        lost.append(f"{name} ({made[name]}): still {data['status']} after "
                                    f"{time.monotonic() - t0:.0f} s")
                        del pending[aid]
                time.sleep(0.5)
                if server.proc is not None and server.proc.poll() is not None:
                    lost.append(f"the server exited ({server.proc.returncode})")
                    break
        work = root / "decode"
        work.mkdir()
        for aid, data in final.items():
            name = created[aid][0]
            if data["status"] == "errored":
                problem = _human(data.get("errors"))
                reasons[(data.get("errors") or {}).get("type") or "?"] += 1
                if problem:
                    lost.append(f"{name}: {problem}")
                continue
            if made[name] == "hostile":
                lost.append(f"{name}: a hostile file became a ready asset")
            reasons["ready"] += 1
            problems, decoded = renditions_decoded(server, data, work)
            lost += [f"{name} ({made[name]}): {p}" for p in problems]
            gap = max((abs(s - float(data.get("duration") or 0)) for s in decoded.values()), default=0.0)
            if not problems and gap > 0.5:
                off.append(f"{name} {gap:.1f} s")
        if sorted(worker_pids(server)) != workers_before:
            lost.append(f"worker processes changed: {workers_before} -> {sorted(worker_pids(server))}")
        if server.proc is not None and server.proc.poll() is not None:
            lost.append("the server exited")
        try:
            wait_until(lambda: not ffmpeg_left(root), timeout_s=20, what="ffmpeg children to end")
        except TimeoutError:
            lost += [f"left running: {line}" for line in ffmpeg_left(root)]
    finally:
        server.stop()
        files.close()
    tried = len(made)
    held = tried - len({line.split(" ")[0].rstrip(":") for line in lost})
    figures = {"files": str(tried), **{k: str(v) for k, v in sorted(reasons.items())},
               "slowest to a final state (s)": f"{slowest:.1f}",
               "ready but duration off > 0.5 s": str(len(off)) + (f" ({', '.join(off[:3])})" if off else "")}
    return [Row(f"mutated media through the probe ({count} mutations + {len(made) - count} hostile)", tried,
                max(held, 0), lost, figures)]
