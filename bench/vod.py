"""Benchmark: Vidlake's VOD transcode vs a hand-written single ffmpeg command for the same ladder.

Generates a 1080p source (testsrc2 + sine, default 60 s), then times
  A) Vidlake: upload -> probe -> ladder -> one ffmpeg -> published HLS (the asset fully processed), and
  B) one plain ffmpeg CLI command writing the same renditions as HLS fMP4,
and prints the wall-time ratio A/B, the fraction of the encode after which the asset was playable
(status ready), and the peak resident memory of Vidlake's processes (server, worker, ffmpeg).

A) is the whole service: a fresh `vidlake serve` with one local worker; the file is uploaded through
the direct-upload API and the clock for the ratio starts when the upload is complete.

    .venv/bin/python bench/vod.py [--seconds 60] [--preset veryfast] [--threads N] [--library]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
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


class TreeMemory:
    """Samples the summed resident memory (bytes) of a process and its descendants every 0.1 s."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _children(self) -> dict[int, list[int]]:
        tree: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        return tree

    def _rss(self, pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            tree = self._children()
            todo, total = [self.pid], 0
            while todo:
                pid = todo.pop()
                total += self._rss(pid)
                todo.extend(tree.get(pid, []))
            self.peak = max(self.peak, total)

    def close(self) -> int:
        self.stop.set()
        self.thread.join()
        return self.peak


def run_service(src: Path, data: Path, preset: str) -> dict[str, float]:
    """Upload ``src`` to a fresh ``vidlake serve`` (1 worker) and wait for the complete ladder."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
    from services import VidlakeServer

    from vidlake.cli.client import VidlakeClient

    server = VidlakeServer(data, workers=1, env={"VIDLAKE_X264_PRESET": preset, "VIDLAKE_JOB_LEASE_S": "30",
                                                 "VIDLAKE_LOG_LEVEL": "WARNING"}).start()
    assert server.proc is not None
    memory = TreeMemory(server.proc.pid)
    try:
        client = VidlakeClient(server.url, f"{server.token_id}:{server.token_secret}")
        t0 = time.monotonic()
        upload = client.upload_file(src, {"playback_policy": ["public"]})
        asset_id = client.wait_upload_asset(upload["id"])
        uploaded = time.monotonic()
        ready_at: list[float] = []

        def seen(asset: dict[str, object]) -> None:
            if asset["status"] == "ready" and not ready_at:
                ready_at.append(time.monotonic())

        asset = client.wait_asset(asset_id, on_progress=seen)
        done = time.monotonic()
        assert asset["status"] == "ready", asset
        client.close()
    finally:
        peak = memory.close()
        server.stop()
    return {"upload_s": uploaded - t0, "encode_s": done - uploaded, "ready_s": ready_at[0] - uploaded,
            "peak_rss_mb": peak / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--library", action="store_true", help="also time transcode_hls alone (no server)")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        src = tmp / "src.mp4"
        make_source(src, opts.seconds)

        (tmp / "plain").mkdir()
        t1 = time.monotonic()
        subprocess.run(plain_cli(src, tmp / "plain", opts.preset, opts.threads), check=True)
        plain = time.monotonic() - t1

        service = run_service(src, tmp / "service", opts.preset)

        print(f"source: 1920x1080 30 fps, {opts.seconds:g} s; preset {opts.preset}; 5 rungs (1080p..240p)")
        print(f"plain ffmpeg CLI (same ladder, one process): {plain:.2f} s")
        print(f"vidlake upload:                              {service['upload_s']:.2f} s")
        print(f"vidlake upload done -> complete ladder:      {service['encode_s']:.2f} s")
        print(f"ratio vidlake/ffmpeg (target <= 1.10):       {service['encode_s'] / plain:.3f}")
        print(f"time to playable (status ready):             {service['ready_s']:.2f} s = "
              f"{service['ready_s'] / service['encode_s']:.3f} of the full encode (target <= 0.15)")
        print(f"peak RSS of vidlake's processes:             {service['peak_rss_mb']:.0f} MiB (incl. ffmpeg)")

        if opts.library:
            t0 = time.monotonic()
            p = probe(src)
            ladder = plan_ladder(p)
            result = transcode_hls(p, ladder, tmp / "vidlake", preset=opts.preset, threads=opts.threads)
            ours = time.monotonic() - t0
            print(f"transcode_hls alone:                         {ours:.2f} s (ratio {ours / plain:.3f})")
            if result.playable_after_s is not None:
                print(f"  playable after {result.playable_after_s:.2f} s")


if __name__ == "__main__":
    main()
