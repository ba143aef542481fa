"""Benchmark Vidlake's shot detector against PySceneDetect on the generated corpus.

Renders the corpus (``bench/corpus/generate.py``, cached under ``bench/out/corpus``), then runs on
every video, in the same process and interleaved so machine load hits everyone alike:

- ``vidlake``: :class:`vidlake.analyze.scenes.ShotDetector` with the default decode (``fast=True``:
  B-frames and deblocking skipped; GOPs decoded in parallel, one thread per CPU), ``vidlake-1thr``
  (the same, one decoder thread: the least CPU per video) and ``vidlake-full`` (every frame decoded);
- PySceneDetect 0.7 ``ContentDetector`` and ``AdaptiveDetector`` with default settings (OpenCV backend,
  its default auto-downscale).

Prints per-type F1 (scoring rules in :mod:`vidlake.analyze.evaluation`), the false positives in
flash/pan/zoom zones, speed as times real time (video seconds per wall-clock second, best of
``--repeat`` runs) and CPU seconds per video minute, and the speed ratio to each PySceneDetect
detector. Needs ``scenedetect-headless`` (and ``scikit-image`` for the corpus)::

    python bench/analyze.py [--size 640x360] [--repeat 3] [--json bench/out/analyze.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "corpus"))

import generate  # noqa: E402

from vidlake.analyze.base import run_analysers  # noqa: E402
from vidlake.analyze.evaluation import BOUNDARY_TYPES, ZONE_TYPES, Event, Report, score_video  # noqa: E402
from vidlake.analyze.scenes import ShotDetector  # noqa: E402

Detector = Callable[[Path], list[Event]]


def vidlake(fast: bool, threads: str = "AUTO") -> Detector:
    def run(path: Path) -> list[Event]:
        out = run_analysers(path, [ShotDetector()], fast=fast, threads=threads)
        return [Event(t["type"], t["start"], t["end"]) for t in out["scenes"]["transitions"]]

    return run


def pyscenedetect(kind: str) -> Detector:
    from scenedetect import AdaptiveDetector, ContentDetector, detect

    def run(path: Path) -> list[Event]:
        detector = ContentDetector() if kind == "content" else AdaptiveDetector()
        scenes = detect(str(path), detector, backend="opencv")
        return [Event("cut", s.seconds, s.seconds) for s, _ in scenes[1:]]

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Shot detection benchmark: Vidlake vs PySceneDetect")
    parser.add_argument("--size", default="640x360", help="corpus WIDTHxHEIGHT in pixels")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "corpus")
    parser.add_argument("--repeat", type=int, default=3, help="runs per video and detector (best kept)")
    parser.add_argument("--json", type=Path, default=HERE / "out" / "analyze.json")
    parser.add_argument("--only", nargs="*", default=(), help="corpus videos to use (default: all)")
    ns = parser.parse_args(argv)
    w, h = (int(v) for v in ns.size.split("x"))
    videos = generate.render(ns.out, size=(w, h), only=ns.only)
    truth_rows = generate.read_truth()
    detectors: dict[str, Detector] = {
        "vidlake": vidlake(True),
        "vidlake-1thr": vidlake(True, "NONE"),
        "vidlake-full": vidlake(False),
        "psd-content": pyscenedetect("content"),
        "psd-adaptive": pyscenedetect("adaptive"),
    }
    reports = {name: Report() for name in detectors}
    wall = dict.fromkeys(detectors, 0.0)
    cpu = dict.fromkeys(detectors, 0.0)
    seconds = 0.0
    for video, path in videos.items():
        truth = [Event(r["type"], float(r["start_s"]), float(r["end_s"])) for r in truth_rows
                 if r["video"] == video]
        seconds += len(_frames(path)) / generate.FPS
        for name, detect in detectors.items():
            best_wall, best_cpu, found = float("inf"), float("inf"), []
            for _ in range(ns.repeat):
                w0, c0 = time.perf_counter(), time.process_time()
                found = detect(path)
                best_wall = min(best_wall, time.perf_counter() - w0)
                best_cpu = min(best_cpu, time.process_time() - c0)
            wall[name] += best_wall
            cpu[name] += best_cpu
            reports[name].add(score_video(truth, found))
    _print(reports, wall, cpu, seconds, ns.size, len(videos))
    ns.json.parent.mkdir(parents=True, exist_ok=True)
    ns.json.write_text(json.dumps({
        "size": ns.size, "video_seconds": seconds,
        "detectors": {
            name: {"x_realtime": seconds / wall[name], "cpu_s_per_video_min": 60 * cpu[name] / seconds,
                   "overall_f1": reports[name].overall.f1,
                   "f1": {t: reports[name].by_type[t].f1 for t in BOUNDARY_TYPES},
                   "zone_fp": {t: reports[name].by_type[t].fp for t in ZONE_TYPES}}
            for name in detectors},
    }, indent=2))
    return 0


def _frames(path: Path) -> list[int]:
    import av

    with av.open(str(path)) as c:
        return list(range(c.streams.video[0].frames))


def _print(reports: dict[str, Report], wall: dict[str, float], cpu: dict[str, float],
           seconds: float, size: str, count: int) -> None:
    print(f"corpus: {count} videos, {seconds:.1f} s of {size} video at {generate.FPS} fps")
    head = f"{'detector':<14}" + "".join(f"{'F1 ' + t:>12}" for t in BOUNDARY_TYPES)
    head += f"{'F1 all':>9}{'P':>6}{'R':>6}{'zoneFP':>8}{'x realtime':>12}{'cpu s/min':>11}"
    print(head)
    for name, rep in reports.items():
        o = rep.overall
        zone_fp = sum(rep.by_type[t].fp for t in ZONE_TYPES)
        line = f"{name:<14}" + "".join(f"{rep.by_type[t].f1:>12.3f}" for t in BOUNDARY_TYPES)
        line += f"{o.f1:>9.3f}{o.precision:>6.2f}{o.recall:>6.2f}{zone_fp:>8d}"
        line += f"{seconds / wall[name]:>12.1f}{60 * cpu[name] / seconds:>11.2f}"
        print(line)
    for mine in ("vidlake", "vidlake-1thr", "vidlake-full"):
        for other in ("psd-content", "psd-adaptive"):
            print(f"speed ratio {mine} / {other}: wall {wall[other] / wall[mine]:.2f}x, "
                  f"cpu {cpu[other] / cpu[mine]:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
