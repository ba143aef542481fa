"""Does one web input keep real time on this machine? Frames and seconds it delivers, and its CPU, against
a baseline of the same encoder on a synthetic source in the same run.

The web input side is the real thing (:class:`vidlake.webinput.browser.WebInputBrowser`: Xvfb,
PulseAudio, Chromium, ffmpeg x11grab + pulse → x264/AAC), writing FLV to a file instead of RTMP, on the
animated test page of the suite (a canvas redrawn every frame, a tone). The baseline is ffmpeg alone
encoding ``testsrc2`` + ``sine`` with the same x264 settings at ``-re`` (real time). Printed per
resolution: delivered frames per second (target 30), delivered/expected ratio (target >= 0.95), how
many delivered frames differ from the one before (the page really moved), and CPU seconds per second
of media, web input and baseline, with their ratio.

    .venv/bin/python bench/web_input.py [--seconds 20] [--sizes 1280x720,1920x1080]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.webinput.browser import FPS, BrowserConfig, WebInputBrowser
from vidlake.webinput.proxy import GuardProxy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "webinput"))
from page_server import PageServer


def _proc_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) of ``pids`` and their children so far, from /proc."""
    total = 0.0
    tick = float(__import__("os").sysconf("SC_CLK_TCK"))
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
    return total


def _group_pids(leaders: list[int]) -> list[int]:
    """Every process in the process groups led by ``leaders`` (Chromium's renderers and GPU process)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in leaders:  # pgrp
            out.append(int(stat.parent.name))
    return out


def delivered(path: Path) -> tuple[int, float, int]:
    """(frames, seconds of video, frames that differ from the one before) of an FLV file."""
    frames = changed = 0
    first = last_t = 0.0
    previous: np.ndarray | None = None
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            first = t if frames == 0 else first
            last_t = t
            luma = frame.to_ndarray(format="gray")[::2, ::2].astype(np.int16)
            if previous is not None and (np.abs(luma - previous) > 40).mean() > 1e-4:  # the bar moved
                changed += 1
            previous = luma
            frames += 1
    return frames, last_t - first + 1 / FPS, changed


def run_web_input(size: str, seconds: float, root: Path) -> dict[str, float]:
    width, height = (int(v) for v in size.split("x"))
    pages = PageServer()
    proxy = GuardProxy(allow_private=True).start()
    out = root / f"web-{size}.flv"
    browser = WebInputBrowser(BrowserConfig(
        url=f"{pages.url}/page.html", rtmp_url=str(out), width=width, height=height,
        video_bitrate=4_500_000 if width * height > 1280 * 720 else 2_500_000, work_dir=root / f"wi-{size}",
        proxy_url=proxy.url, max_seconds=seconds))
    try:
        browser.start()
        leaders = [c.pid for c in browser.children.values()]
        t0 = time.monotonic()
        cpu0 = _proc_cpu(_group_pids(leaders))
        encoder = browser.children["ffmpeg"]
        cpu_last = cpu0
        while encoder.poll() is None and time.monotonic() - t0 < seconds + 30:
            cpu_last = _proc_cpu(_group_pids(leaders))  # read while they live (reaped ones vanish)
            time.sleep(0.5)
        wall = time.monotonic() - t0
    finally:
        browser.stop()
        pages.close()
        proxy.close()
    frames, media_s, changed = delivered(out)
    return {"frames": frames, "media_s": media_s, "wall_s": wall, "changed": changed,
            "cpu_s": cpu_last - cpu0}


def run_baseline(size: str, seconds: float, root: Path) -> dict[str, float]:
    out = root / f"base-{size}.flv"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    rate = "4500k" if size == "1920x1080" else "2500k"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-re", "-f", "lavfi", "-i", f"testsrc2=s={size}:r={FPS}",
                    "-re", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000", "-t", str(seconds),
                    "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
                    "-g", str(FPS * 2), "-b:v", rate, "-maxrate", rate, "-bufsize", rate,
                    "-c:a", "aac", "-b:a", "128k", "-f", "flv", str(out)], check=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    frames, media_s, changed = delivered(out)
    return {"frames": frames, "media_s": media_s, "wall_s": wall, "changed": changed,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for size in args.sizes.split(","):
            web = run_web_input(size, args.seconds, root)
            base = run_baseline(size, args.seconds, root)
            fps = web["frames"] / web["media_s"]
            print(f"{size}: web input {web['frames']} frames in {web['media_s']:.1f} s of video "
                  f"({fps:.1f} fps, {fps / FPS:.2f} of {FPS}), {web['changed'] / max(1, web['frames'] - 1):.2f} "
                  f"of frames differ from the one before; media/wall {web['media_s'] / web['wall_s']:.2f}")
            print(f"{size}: CPU per media second: web input {web['cpu_s'] / web['media_s']:.2f} s "
                  f"(Xvfb + PulseAudio + Chromium + ffmpeg), baseline encoder {base['cpu_s'] / base['media_s']:.2f} s "
                  f"(ratio {web['cpu_s'] / max(1e-6, base['cpu_s']) * base['media_s'] / web['media_s']:.2f}x); "
                  f"baseline {base['frames'] / base['media_s']:.1f} fps")


if __name__ == "__main__":
    main()
