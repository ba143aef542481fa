"""Benchmark: Vidlake's VOD transcode vs a hand-written single ffmpeg command for the same ladder.

Generates a 1080p source (testsrc2 + sine, default 60 s), then times
  A) vidlake.vod.transcode.transcode_hls (probe + ladder + one ffmpeg + playlist finalisation), and
  B) one plain ffmpeg CLI command writing the same renditions as HLS fMP4,
and prints the wall-time ratio A/B and the fraction of A's wall time after which the asset was
playable (every rung had its first segment). No server involved.

    .venv/bin/python bench/vod.py [--seconds 60] [--preset veryfast] [--threads N]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.vod.ladder import plan_ladder
from vidlake.vod.probe import probe
from vidlake.vod.transcode import transcode_hls


def make_source(path: Path, seconds: float) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=30:d={seconds}",
                    "-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:d={seconds}", "-ac", "2",
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "aac", "-shortest", str(path)],
                   check=True)


def plain_cli(src: Path, out: Path, preset: str, threads: int | None) -> list[str]:
    """What a person would type for the same 5-rung ladder (1080/720/480/360/240, 2 s GOP, fMP4 HLS)."""
    rungs = [(1920, 1080, "5000k"), (1280, 720, "3000k"), (852, 480, "1200k"), (640, 360, "800k"),
             (426, 240, "400k")]
    n = len(rungs)
    fc = f"[0:v]fps=30,split={n}" + "".join(f"[s{i}]" for i in range(n))
    fc += "".join(f";[s{i}]scale={w}:{h},format=yuv420p[v{i}]" for i, (w, h, _) in enumerate(rungs))
    args = [ffmpeg_exe(), "-v", "error", "-y"]
    if threads:
        args += ["-threads", str(threads), "-filter_complex_threads", str(threads)]
    args += ["-i", str(src), "-filter_complex", fc]
    for i, (_, _, b) in enumerate(rungs):
        args += ["-map", f"[v{i}]", f"-c:v:{i}", "libx264", f"-b:v:{i}", b]
    args += ["-map", "0:a", "-c:a", "aac", "-b:a", "128k", "-preset", preset, "-g", "60", "-keyint_min", "60",
             "-sc_threshold", "0", *(["-threads", str(threads)] if threads else []),
             "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
             "-hls_segment_type", "fmp4", "-master_pl_name", "master.m3u8",
             "-hls_segment_filename", str(out / "%v" / "seg_%05d.m4s"),
             "-var_stream_map", " ".join([f"v:{i},agroup:a" for i in range(n)] + ["a:0,agroup:a"]),
             str(out / "%v" / "index.m3u8")]
    return args


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--threads", type=int, default=None)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        src = tmp / "src.mp4"
        make_source(src, opts.seconds)

        t0 = time.monotonic()
        p = probe(src)
        ladder = plan_ladder(p)
        result = transcode_hls(p, ladder, tmp / "vidlake", preset=opts.preset, threads=opts.threads)
        ours = time.monotonic() - t0

        (tmp / "plain").mkdir()
        t1 = time.monotonic()
        subprocess.run(plain_cli(src, tmp / "plain", opts.preset, opts.threads), check=True)
        plain = time.monotonic() - t1

        print(f"source: 1920x1080 30 fps, {opts.seconds:g} s; preset {opts.preset}; rungs "
              f"{[r.name for r in ladder.rungs]}")
        print(f"vidlake transcode_hls: {ours:.2f} s (encode {result.wall_s:.2f} s, probe+plan+finalise "
              f"{ours - result.wall_s:.2f} s)")
        print(f"plain ffmpeg CLI:      {plain:.2f} s")
        print(f"ratio vidlake/plain:   {ours / plain:.3f}")
        if result.playable_after_s is not None:
            print(f"time to playable:      {result.playable_after_s:.2f} s = "
                  f"{result.playable_after_s / ours:.3f} of vidlake wall time")


if __name__ == "__main__":
    main()
