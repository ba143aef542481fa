"""Benchmark: one 30 s timeline rendered three ways in the same run.

The timeline: 4 video clips (8 s each, testsrc2 with a tone) joined by 3 cross-fade transitions
(0.667 s each, so 30 s in all), a text title (1-5 s, fading in/out), and a soundtrack with fades.

1. Vidlake: validate + compile + one ffmpeg process (vidlake.edit.render).
2. MoviePy 2.x (bench-only dependency: ``pip install "moviepy>=2,<3"``): per-frame Python compositing.
3. A hand-written ffmpeg command (xfade chain + drawtext + amix), the floor to compare against.

All three encode libx264 (same preset and CRF) + AAC at the same size and frame rate. Prints wall
times and the ratios Vidlake/MoviePy (target <= 0.25) and Vidlake/hand-written (target <= 1.2).

Usage: ``python bench/edit.py [--height 720] [--fps 30] [--preset veryfast] [--skip-moviepy]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

from vidlake.edit import Encoding, SourceInfo, font_path, render, validate_edit
from vidlake.ffmpeg import ffmpeg_exe

CLIP_S = 8.0
XFADE_S = 2 / 3
TOTAL_S = 4 * CLIP_S - 3 * XFADE_S  # 30 s
TITLE = ("Vidlake bench", 1.0, 4.0)  # text, start s, length s


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def make_sources(root: Path, width: int, height: int, fps: int) -> dict[str, Path]:
    """Four 10 s testsrc2 clips with tones, and a 40 s music track, at the output size."""
    files: dict[str, Path] = {}
    for i, hue in enumerate((0, 90, 180, 270)):
        path = root / f"clip{i}.mp4"
        _ff("-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r={fps}:d=10",
            "-f", "lavfi", "-i", f"sine=frequency={300 + 100 * i}:sample_rate=48000:duration=10",
            "-vf", f"hue=h={hue}", "-c:v", "libx264", "-preset", "veryfast", "-g", str(fps),
            "-c:a", "aac", "-ac", "2", "-shortest", str(path))
        files[f"clip{i}"] = path
    files["music"] = root / "music.m4a"
    _ff("-f", "lavfi", "-i", "sine=frequency=220:sample_rate=48000:duration=40", "-ac", "2", "-c:a", "aac",
        str(files["music"]))
    return files


def timeline(width: int, height: int, fps: int) -> dict[str, object]:
    clips = []
    for i in range(4):
        clip: dict[str, object] = {"asset": {"type": "video", "src": f"asset:clip{i}", "volume": 0.5},
                                   "start": round(i * (CLIP_S - XFADE_S), 6), "length": CLIP_S}
        if i:
            clip["transition"] = {"in": "fade"}
        clips.append(clip)
    text, start, length = TITLE
    title = {"asset": {"type": "text", "text": text, "style": {"size": 72, "color": "#ffffff"}},
             "start": start, "length": length, "transition": {"in": "fade", "out": "fade", "duration": 0.5}}
    return {
        "timeline": {"soundtrack": {"src": "asset:music", "volume": 0.5, "fade_in": 1, "fade_out": 2},
                     "tracks": [{"clips": [title]}, {"clips": clips}]},
        "output": {"resolution": {"width": width, "height": height}, "fps": fps},
    }


def resolver(files: dict[str, Path]):  # type: ignore[no-untyped-def]
    def resolve(src: str) -> SourceInfo:
        path = files[src.removeprefix("asset:")]
        with av.open(str(path)) as c:
            v = c.streams.video[0] if c.streams.video else None
            return SourceInfo(str(path), (c.duration or 0) / 1e6, v is not None, bool(c.streams.audio),
                              v.codec_context.width if v else None, v.codec_context.height if v else None)

    return resolve


def run_vidlake(files: dict[str, Path], out: Path, width: int, height: int, fps: int, preset: str) -> float:
    t0 = time.perf_counter()
    render(validate_edit(timeline(width, height, fps), resolver(files)), out,
           encoding=Encoding(preset=preset, crf=20), timeout_s=3600)
    return time.perf_counter() - t0


def run_handwritten(files: dict[str, Path], out: Path, width: int, height: int, fps: int, preset: str) -> float:
    ins: list[str] = []
    for i in range(4):
        ins += ["-t", str(CLIP_S), "-i", str(files[f"clip{i}"])]
    ins += ["-t", str(TOTAL_S), "-i", str(files["music"])]
    step = CLIP_S - XFADE_S
    text, start, length = TITLE
    font = str(font_path("sans"))
    v = (f"[0:v][1:v]xfade=transition=fade:duration={XFADE_S:.6f}:offset={step:.6f}[x1];"
         f"[x1][2:v]xfade=transition=fade:duration={XFADE_S:.6f}:offset={2 * step:.6f}[x2];"
         f"[x2][3:v]xfade=transition=fade:duration={XFADE_S:.6f}:offset={3 * step:.6f},"
         f"drawtext=fontfile={font}:text='{text}':fontsize={round(72 * height / 1080 * 1080 / height)}"
         f":fontcolor=white:x=(w-text_w)/2:y=(h-text_h)/2:enable='between(t,{start},{start + length})'"
         f":alpha='min(1,max(0,(t-{start})/0.5))*min(1,max(0,({start + length}-t)/0.5))'[vout]")
    a = ";".join(
        f"[{i}:a]volume=0.5,adelay={round(i * step * 1000)}:all=1[a{i}]" for i in range(4)
    ) + f";[4:a]volume=0.5,afade=t=in:d=1,afade=t=out:st={TOTAL_S - 2}:d=2[m];" \
        "[a0][a1][a2][a3][m]amix=inputs=5:normalize=0:duration=longest[aout]"
    t0 = time.perf_counter()
    _ff(*ins, "-filter_complex", v, "-filter_complex", a, "-map", "[vout]", "-map", "[aout]",
        "-c:v", "libx264", "-preset", preset, "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac",
        "-b:a", "160k", "-t", f"{TOTAL_S:.6f}", str(out))
    return time.perf_counter() - t0


def run_moviepy(files: dict[str, Path], out: Path, width: int, height: int, fps: int, preset: str) -> float:
    from moviepy import (  # bench-only dependency
        AudioFileClip,
        CompositeAudioClip,
        CompositeVideoClip,
        TextClip,
        VideoFileClip,
        afx,
        vfx,
    )

    t0 = time.perf_counter()
    step = CLIP_S - XFADE_S
    clips = []
    for i in range(4):
        clip = VideoFileClip(str(files[f"clip{i}"])).subclipped(0, CLIP_S).with_volume_scaled(0.5)
        if i:
            clip = clip.with_effects([vfx.CrossFadeIn(XFADE_S)])
        clips.append(clip.with_start(i * step))
    text, start, length = TITLE
    title = (TextClip(font=str(font_path("sans")), text=text, font_size=72, color="white")
             .with_start(start).with_duration(length).with_position("center")
             .with_effects([vfx.CrossFadeIn(0.5), vfx.CrossFadeOut(0.5)]))
    video = CompositeVideoClip([*clips, title], size=(width, height)).with_duration(TOTAL_S)
    music = (AudioFileClip(str(files["music"])).subclipped(0, TOTAL_S).with_volume_scaled(0.5)
             .with_effects([afx.AudioFadeIn(1), afx.AudioFadeOut(2)]))
    video = video.with_audio(CompositeAudioClip([video.audio, music]))
    video.write_videofile(str(out), fps=fps, codec="libx264", audio_codec="aac", preset=preset,
                          ffmpeg_params=["-crf", "20"], logger=None)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=720, help="output height in pixels (16:9)")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--preset", default="veryfast", help="x264 preset used by all three")
    parser.add_argument("--skip-moviepy", action="store_true")
    args = parser.parse_args(argv)
    height = args.height
    width = round(height * 16 / 9 / 2) * 2
    with tempfile.TemporaryDirectory(prefix="vidlake-bench-") as tmp:
        root = Path(tmp)
        files = make_sources(root, width, height, args.fps)
        results: dict[str, float] = {}
        results["vidlake"] = run_vidlake(files, root / "vidlake.mp4", width, height, args.fps, args.preset)
        results["handwritten"] = run_handwritten(files, root / "hand.mp4", width, height, args.fps, args.preset)
        if not args.skip_moviepy:
            results["moviepy"] = run_moviepy(files, root / "moviepy.mp4", width, height, args.fps, args.preset)
        print(f"timeline: {TOTAL_S:.0f} s, 4 clips, 3 transitions, 1 title, soundtrack; "
              f"{width}x{height} @ {args.fps} fps, x264 {args.preset} crf 20")
        for name, secs in results.items():
            print(f"  {name:12s} {secs:7.2f} s wall")
        ratio_h = results["vidlake"] / results["handwritten"]
        print(f"  vidlake/handwritten = {ratio_h:.2f} (target <= 1.2)")
        if "moviepy" in results:
            ratio_m = results["vidlake"] / results["moviepy"]
            print(f"  vidlake/moviepy     = {ratio_m:.2f} (target <= 0.25)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
