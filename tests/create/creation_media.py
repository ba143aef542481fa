"""Footage with known truth for creations: shots of lavfi sources (sharp, blurred, black, frozen, a
duplicate) and the astronaut's face off-centre, and a click track of known tempo with accented bars."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from face_media import astronaut, write_rgb_video

from vidlake.ffmpeg import ffmpeg_exe

SIZE = (640, 360)
FPS = 25
BPM = 120.0
MUSIC_S = 40.0


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], check=True, timeout=300)


def _shot(dest: Path, source: str, seconds: float, vf: str = "") -> Path:
    chain = f"scale={SIZE[0]}:{SIZE[1]},setsar=1,fps={FPS},format=yuv420p" + (f",{vf}" if vf else "")
    _ff("-f", "lavfi", "-t", str(seconds), "-i", source, "-vf", chain, "-c:v", "libx264", "-preset", "ultrafast",
        "-crf", "18", str(dest))
    return dest


def _face(dest: Path, seconds: float) -> Path:
    """The astronaut (280 px) drifting near the right edge on a dark textured wall: the face is outside
    the centre 9:16 crop of the 16:9 frame."""
    photo = astronaut(280)
    rng = np.random.default_rng(7)
    wall = (rng.integers(20, 90, (SIZE[1], SIZE[0], 3))).astype(np.uint8)

    def frames() -> list[np.ndarray]:
        out = []
        for i in range(int(seconds * FPS)):
            canvas = wall.copy()
            x = 340 + int(15 * i / (seconds * FPS))
            canvas[40:320, x:x + 280] = photo
            out.append(canvas)
        return out

    return write_rgb_video(dest, frames(), fps=FPS, crf=18)


def _join(dest: Path, shots: list[Path]) -> Path:
    inputs: list[str] = []
    for shot in shots:
        inputs += ["-i", str(shot)]
    total = sum(_duration(s) for s in shots)
    graph = "".join(f"[{i}:v]" for i in range(len(shots))) + f"concat=n={len(shots)}:v=1:a=0[v]"
    _ff(*inputs, "-f", "lavfi", "-i", f"sine=f=300:sample_rate=48000:d={total}", "-filter_complex", graph,
        "-map", "[v]", "-map", f"{len(shots)}:a", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18",
        "-c:a", "aac", "-ac", "2", "-shortest", str(dest))
    return dest


def _duration(path: Path) -> float:
    import av

    with av.open(str(path)) as c:
        return float(c.duration or 0) / 1e6


@dataclass
class Footage:
    """The files and their truth: intervals (seconds) that must never be chosen, per file name."""

    root: Path
    bad: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    duplicate_of: dict[str, tuple[float, float]] = field(default_factory=dict)
    face: tuple[float, float] = (0.0, 0.0)


def make_footage(root: Path) -> Footage:
    """``a.mp4`` (24 s), ``b.mp4`` (26 s), ``black.mp4`` (16 s), ``music.m4a`` (40 s at 120 BPM),
    ``short.m4a`` (10 s)."""
    s = root / "shots"
    s.mkdir()
    a = [_shot(s / "a0.mp4", "testsrc2", 4), _shot(s / "a1.mp4", "color=c=black", 4),
         _shot(s / "a2.mp4", "mandelbrot", 4), _shot(s / "a3.mp4", "smptehdbars", 4),
         _shot(s / "a4.mp4", "cellauto=rule=110", 4), _shot(s / "a5.mp4", "life=ratio=0.5:mold=10", 4, "gblur=sigma=6")]
    _join(root / "a.mp4", a)
    b = [_face(s / "b0.mp4", 12), _shot(s / "b1.mp4", "testsrc2", 4), _shot(s / "b2.mp4", "testsrc", 4),
         _shot(s / "b3.mp4", "cellauto=rule=30", 3, "gblur=sigma=6"), _shot(s / "b4.mp4", "testsrc=n=3", 3)]
    _join(root / "b.mp4", b)
    _join(root / "black.mp4", [_shot(s / "k0.mp4", "color=c=black", 8), _shot(s / "k1.mp4", "color=c=0x050505", 8)])
    beat = 60.0 / BPM
    click = (f"0.7*sin(2*PI*1000*t)*lt(mod(t\\,{beat})\\,0.03)"
             f"+0.8*sin(2*PI*120*t)*lt(mod(t\\,{4 * beat})\\,0.06)")
    for name, seconds in (("music.m4a", MUSIC_S), ("short.m4a", 10.0)):
        _ff("-f", "lavfi", "-i", f"aevalsrc={click}:s=44100:d={seconds}", "-ac", "2", "-c:a", "aac",
            "-b:a", "128k", str(root / name))
    return Footage(root, bad={"a": [(4, 8), (12, 16), (20, 24)], "b": [(19, 22)]},
                   duplicate_of={"b": (12, 16), "a": (0, 4)}, face=(0.0, 12.0))


LIVELY_SENTENCES = [
    "欢迎来到直播间，今天有大福利。",
    "马上上链接，这款面霜只要九十九元。",
    "限时秒杀，库存不多了，赶快下单。",
    "上链接了，包邮到家，喜欢的朋友抓紧时间。",
    "最后十秒，价格一百九十九元变九十九元。",
]


def make_recording(root: Path, speech_corpus: object) -> tuple[Path, tuple[float, float]]:
    """``recording.mp4``: 25 s of a quiet single shot, then a lively stretch (a Mandarin sales pitch with
    上链接 and prices, loud, a new shot every 5 s), then 25 s quiet again. Returns the file and the lively
    stretch (seconds)."""
    speech = speech_corpus.render(root / "pitch", "zh", LIVELY_SENTENCES, ffmpeg=ffmpeg_exe())  # type: ignore[attr-defined]
    pitch = speech.spans[-1][1] + 0.5
    quiet = 25.0
    shots = root / "rec-shots"
    shots.mkdir()
    sources = ["testsrc2", "cellauto=rule=110", "life=ratio=0.5:mold=10", "testsrc", "mandelbrot=start_scale=2"]
    parts = [_shot(shots / "q0.mp4", "mandelbrot", quiet)]
    t, k = 0.0, 0
    while t < pitch - 0.01:
        length = min(5.0, pitch - t)
        parts.append(_shot(shots / f"l{k}.mp4", sources[k % len(sources)], round(length, 2)))
        t, k = t + length, k + 1
    parts.append(_shot(shots / "q1.mp4", "mandelbrot=start_x=-0.7", quiet))
    video = _join(root / "rec-video.mp4", parts)
    total = 2 * quiet + pitch
    graph = (f"anoisesrc=a=0.002:d={total}:r=48000[n];[1:a]aresample=48000,adelay={int(quiet * 1000)}:all=1,"
             f"apad=whole_dur={total}[s];[n][s]amix=inputs=2:normalize=0[a]")
    _ff("-i", str(video), "-i", str(speech.path), "-filter_complex", graph,
        "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "aac", "-ac", "2", "-t", str(total),
        str(root / "recording.mp4"))
    return root / "recording.mp4", (quiet, quiet + pitch)
