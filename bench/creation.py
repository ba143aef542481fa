"""One-click creation: seconds for a 30 s video from 5 minutes of inputs, with no stored analyses and with
them stored (a second creation from the same footage), as a fraction of the inputs' duration.

Five 60 s 720p25 inputs (each a sequence of 6 s shots of different lavfi sources, one blurred, one black) and
a 120 BPM click track are uploaded to a fresh ``vidlake serve`` (SQLite, 1 worker); the creation is timed
from POST to ``completed`` (the plan: analyses + scoring; then the edit's render), against the baseline of
decoding the same inputs once with plain ffmpeg in the same run. Target: <= 0.5 x the inputs' duration with
no stored analyses on 2 cores.

    .venv/bin/python bench/creation.py [--inputs 5] [--seconds 60]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

SOURCES = ["testsrc2", "mandelbrot", "cellauto=rule=110", "life=ratio=0.5:mold=10", "testsrc",
           "smptehdbars", "rgbtestsrc", "yuvtestsrc", "gradients=speed=0.05"]


def ff(*args: str) -> None:
    from vidlake.ffmpeg import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], check=True, timeout=900)


def make_input(dest: Path, index: int, seconds: float) -> None:
    """``seconds`` of 6 s shots, one of them blurred and one black, with a tone."""
    n = int(seconds // 6)
    parts, graph = [], ""
    for k in range(n):
        src = "color=c=black" if k == 3 else SOURCES[(index * 3 + k) % len(SOURCES)]
        parts += ["-f", "lavfi", "-t", "6", "-i", src + (":" if "=" in src else "=") + "s=1280x720:r=25"]
        blur = ",gblur=sigma=6" if k == 1 else ""
        graph += f"[{k}:v]scale=1280:720,setsar=1,fps=25,format=yuv420p{blur}[v{k}];"
    graph += "".join(f"[v{k}]" for k in range(n)) + f"concat=n={n}:v=1:a=0[v]"
    ff(*parts, "-f", "lavfi", "-i", f"sine=f={300 + 50 * index}:d={seconds}", "-filter_complex", graph,
       "-map", "[v]", "-map", f"{n}:a", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", "-shortest",
       str(dest))


def wait(c: httpx.Client, path: str, done: tuple[str, ...], timeout_s: float = 3600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        data: dict[str, Any] = c.get(path).json()["data"]
        if data["status"] in done or time.monotonic() > deadline:
            return data
        time.sleep(0.2)


def timed_creation(c: httpx.Client, body: dict[str, Any]) -> tuple[float, float, dict[str, Any]]:
    """(seconds to the plan, seconds to completed, the creation)."""
    t0 = time.monotonic()
    created = c.post("/video/v1/creations", json=body).json()["data"]
    planned = wait(c, f"/video/v1/creations/{created['id']}", ("rendering", "completed", "errored"))
    t_plan = time.monotonic() - t0
    done = wait(c, f"/video/v1/creations/{created['id']}", ("completed", "errored", "cancelled"))
    assert done["status"] == "completed", done
    return t_plan, time.monotonic() - t0, planned


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inputs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    from media import FileServer
    from services import VidlakeServer

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "media"
        root.mkdir()
        for i in range(args.inputs):
            make_input(root / f"in{i}.mp4", i, args.seconds)
        click = "0.7*sin(2*PI*1000*t)*lt(mod(t\\,0.5)\\,0.03)+0.8*sin(2*PI*120*t)*lt(mod(t\\,2)\\,0.06)"
        ff("-f", "lavfi", "-i", f"aevalsrc={click}:s=44100:d=45", "-c:a", "aac", str(root / "music.m4a"))
        total = args.inputs * args.seconds
        t0 = time.monotonic()
        for i in range(args.inputs):
            ff("-threads", "2", "-i", str(root / f"in{i}.mp4"), "-f", "null", "-")
        decode = time.monotonic() - t0
        files = FileServer(root)
        server = VidlakeServer(Path(tmp) / "server", workers=1, env={"VIDLAKE_LOG_LEVEL": "WARNING"}).start()
        try:
            with server.client() as c:
                ids = []
                for name in [*(f"in{i}.mp4" for i in range(args.inputs)), "music.m4a"]:
                    ids.append(c.post("/video/v1/assets", json={"input": [{"url": f"{files.url}/{name}"}]})
                               .json()["data"]["id"])
                for asset_id in ids:
                    assert wait(c, f"/video/v1/assets/{asset_id}", ("ready", "errored"))["status"] == "ready"
                wait_idle = time.monotonic() + 600
                def busy() -> bool:
                    return any(c.get("/system/v1/jobs", params={"state": st}).json()["data"]
                               for st in ("queued", "running"))

                while busy() and time.monotonic() < wait_idle:
                    time.sleep(0.5)  # the inputs' own processing (renditions) done before timing
                body = {"inputs": [{"src": f"asset:{i}"} for i in ids[:-1]], "music": {"src": f"asset:{ids[-1]}"},
                        "duration": 30, "aspect_ratio": "9:16", "style": "energetic", "resolution": "720p"}
                cold_plan, cold, planned = timed_creation(c, body)
                warm_plan, warm, again = timed_creation(c, body)
        finally:
            server.stop()
            files.close()
    ran = [a["ran"] for a in planned["plan"]["analyses"]]
    reused = [a["reused"] for a in again["plan"]["analyses"]]
    print(f"# {args.inputs} inputs x {args.seconds:g} s = {total:g} s of 720p25; plain ffmpeg decode {decode:.1f} s; "
          f"first creation ran {ran[0]}, the second reused {reused[0]}")
    print("\n| case | plan (s) | total (s) | total / inputs' duration | total / plain decode | target |")
    print("|---|---|---|---|---|---|")
    for name, plan, t in (("no stored analyses", cold_plan, cold), ("analyses stored", warm_plan, warm)):
        target = f"<= 0.5: {'met' if t / total <= 0.5 else 'missed'}" if name.startswith("no") else ""
        print(f"| {name} | {plan:.1f} | {t:.1f} | {t / total:.3f} | {t / decode:.2f} | {target} |")


if __name__ == "__main__":
    main()
