"""Live effects speed: can one 720p30 live stream run beautify + background in real time?

A real ffmpeg publisher sends a 720p30 clip (the astronaut's face drifting over a gradient, looped, with
a sine tone) in real time (``-re``) as FLV into the live effects worker
(:mod:`vidlake.effects.live_worker`), which feeds a real ladder ffmpeg (the live pipeline's rungs). The
baseline, measured in the same run on the same clip, is the same worker with no effects (decode + top
rung encode + ladder). Reported per configuration: frames out per second of wall time, the largest lag
behind real time the worker saw (seconds), whether the effects were dropped, and the CPU share of the
worker and its ladder (CPU seconds per wall second; 2.0 = both cores of this machine), and the CPU
ratio against the baseline. The worker's own fallback is switched off here (``max_lag_s`` = 1000) so
that the figure is the effects' real speed.

    .venv/bin/python bench/live_effects.py [--seconds 120] [--height 720]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from effects import make_clip
from vidlake.effects.live_config import LiveEffectsConfig, worker_argv
from vidlake.ffmpeg import ffmpeg_exe
from vidlake.live import pipeline

CONFIGS: dict[str, list[dict[str, Any]]] = {
    "none (baseline)": [],
    "beautify": [{"type": "beautify", "smooth": 0.6, "whiten": 0.2}],
    "background blur": [{"type": "background", "mode": "blur"}],
    "beautify + background blur": [{"type": "beautify", "smooth": 0.6, "whiten": 0.2},
                                   {"type": "background", "mode": "blur"}],
}


def children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_one(clip: Path, seconds: float, effects: list[dict[str, Any]], work: Path) -> dict[str, Any]:
    out = work / "out"
    out.mkdir(parents=True, exist_ok=True)
    status_path = work / "status.json"
    cfg = LiveEffectsConfig(effects=effects, status_path=str(status_path), work_dir=str(work),
                            ladder_log=str(work / "ladder.log"), keyframe_s=2.0, max_lag_s=1000.0)
    cfg.write(work / "cfg.json")
    ladder = pipeline.build_argv(pipeline.plan("reduced"), out, 0, input_format="mpegts", passthrough=True)
    pub = subprocess.Popen([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
                            "-i", str(clip), "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                            "-t", str(seconds), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
                            "-f", "flv", "pipe:1"], stdout=subprocess.PIPE)
    c0, t0 = children_cpu_s(), time.monotonic()
    max_lag = 0.0
    with open(work / "worker.log", "wb") as err:
        worker = subprocess.Popen(worker_argv(work / "cfg.json", ladder), stdin=pub.stdout, stderr=err)
        assert pub.stdout is not None
        pub.stdout.close()
        while worker.poll() is None:
            time.sleep(1.0)
            with contextlib.suppress(OSError, ValueError, KeyError):
                max_lag = max(max_lag, float(json.loads(status_path.read_text())["lag_s"]))
    pub.wait()
    wall = time.monotonic() - t0
    cpu = children_cpu_s() - c0
    status = json.loads(status_path.read_text())
    return {"frames": status["frames"], "fps": status["frames"] / wall, "max_lag_s": max_lag,
            "state": status["state"], "cpu_share": cpu / wall, "rc": worker.returncode}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--only", default="", help="comma list of configuration names (default: all)")
    args = ap.parse_args()
    names = [n for n in CONFIGS if not args.only or n in args.only.split(",")]
    if "none (baseline)" not in names:
        names.insert(0, "none (baseline)")
    with tempfile.TemporaryDirectory(prefix="bench-live-effects-") as tmp:
        clip = Path(tmp) / "clip.mp4"
        make_clip(clip, args.height, 10.0)
        rows = {}
        for name in names:
            rows[name] = run_one(clip, args.seconds, CONFIGS[name], Path(tmp) / name.replace(" ", "_"))
            print(f"# {name}: {rows[name]}", flush=True)
    base = rows["none (baseline)"]["cpu_share"]
    print(f"\n{args.height}p30 for {args.seconds:g} s; target: >= 30 fps out, no growing lag\n")
    print("| effects | fps out | max lag (s) | state | CPU share | CPU vs baseline |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['fps']:.1f} | {r['max_lag_s']:.2f} | {r['state']} | {r['cpu_share']:.2f} | "
              f"{r['cpu_share'] / base:.2f} |")


if __name__ == "__main__":
    main()
