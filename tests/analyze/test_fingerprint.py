"""Fingerprints: variants of a clip (re-encode, 50 % resize, 10 % crop, logo) find their original
among distinct clips; unrelated clips score below the threshold."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import skimage.io

from vidlake.analyze.fingerprint import (
    DEFAULT_THRESHOLD,
    Fingerprint,
    find_similar,
    fingerprint,
    similarity,
)
from vidlake.ffmpeg import ffmpeg_exe

SIZE = "320x240"
SECONDS = 3

#: name -> lavfi video source (options without size/rate/duration), or a photo name (Ken Burns zoom).
SOURCES: dict[str, str] = {
    "testsrc": "testsrc",
    "testsrc2": "testsrc2",
    "smpte": "smptebars",
    "mandel": "mandelbrot",
    "gradients": "gradients=speed=0.05",
    "life": "life=mold=10:ratio=0.3:seed=7",
    "photo_astronaut": "photo:astronaut",
    "photo_coffee": "photo:coffee",
    "photo_chelsea": "photo:chelsea",
}


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _x264(bitrate: str | None = None) -> list[str]:
    rate = ["-b:v", bitrate] if bitrate else ["-crf", "20"]
    return ["-c:v", "libx264", "-preset", "veryfast", *rate, "-pix_fmt", "yuv420p"]


def _make(name: str, spec: str, folder: Path) -> Path:
    out = folder / f"{name}.mp4"
    if spec.startswith("photo:"):
        image = getattr(skimage.data, spec.split(":", 1)[1])()
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        png = folder / f"{name}.png"
        skimage.io.imsave(png, image, check_contrast=False)
        frames = SECONDS * 25
        _ff("-loop", "1", "-i", str(png), "-vf",
            f"scale=640:480,zoompan=z='1+0.1*on/{frames}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'"
            f":d={frames}:s={SIZE}:fps=25", "-frames:v", str(frames), *_x264(), str(out))
    else:
        sep = ":" if "=" in spec else "="
        _ff("-f", "lavfi", "-i", f"{spec}{sep}s={SIZE}:r=25", "-t", str(SECONDS), *_x264(), str(out))
    return out


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fp")
    return {name: _make(name, spec, folder) for name, spec in SOURCES.items()}


@pytest.fixture(scope="module")
def variants(library: dict[str, Path]) -> dict[str, tuple[str, Path]]:
    """variant name -> (original name, path)."""
    out: dict[str, tuple[str, Path]] = {}
    for original in ("testsrc2", "photo_astronaut", "mandel"):
        src = library[original]
        folder = src.parent
        recipes = {
            "lowrate": ["-vf", "null", *_x264("80k")],
            "half": ["-vf", "scale=160:120", *_x264()],
            "crop10": ["-vf", "crop=iw*0.9:ih*0.9,scale=320:240", *_x264()],
            "logo": ["-vf", "drawbox=x=iw-70:y=10:w=60:h=30:color=white@0.9:t=fill,"
                            "drawbox=x=iw-64:y=16:w=48:h=18:color=red@0.9:t=fill", *_x264()],
        }
        for kind, opts in recipes.items():
            path = folder / f"{original}_{kind}.mp4"
            _ff("-i", str(src), *opts, str(path))
            out[f"{original}_{kind}"] = (original, path)
    return out


@pytest.fixture(scope="module")
def prints(library: dict[str, Path]) -> dict[str, Fingerprint]:
    return {name: fingerprint(path, window_s=1.5) for name, path in library.items()}


def test_each_variant_matches_its_original(prints: dict[str, Fingerprint],
                                           variants: dict[str, tuple[str, Path]]) -> None:
    for name, (original, path) in variants.items():
        fp = fingerprint(path, window_s=1.5)
        ranked = find_similar(fp, prints, threshold=0.0)
        print(name, [(k, round(s, 3)) for k, s in ranked[:3]])
        assert ranked[0][0] == original, f"{name}: best match {ranked[0]} not {original}"
        assert ranked[0][1] >= DEFAULT_THRESHOLD, f"{name}: {ranked[0][1]:.3f} below the threshold"
        hits = find_similar(fp, prints)
        assert [k for k, _ in hits] == [original], f"{name}: distractors above threshold: {hits}"


def test_distinct_clips_score_below_threshold(prints: dict[str, Fingerprint]) -> None:
    names = sorted(prints)
    worst = max((similarity(prints[a], prints[b]), a, b) for i, a in enumerate(names) for b in names[i + 1:])
    print("highest distractor score", worst)
    assert worst[0] < DEFAULT_THRESHOLD


def test_self_similarity_and_round_trip(prints: dict[str, Fingerprint]) -> None:
    fp = prints["testsrc2"]
    assert similarity(fp, fp) == pytest.approx(1.0)
    assert len(fp.scenes) == 2  # 3 s in windows of about 1.5 s
    again = Fingerprint.from_dict(fp.to_dict())
    assert similarity(fp, again) == pytest.approx(1.0, abs=1e-3)


def test_scenes_drive_the_segments(library: dict[str, Path]) -> None:
    fp = fingerprint(library["testsrc"], scenes=[{"start": 0.0, "end": 1.0}, {"start": 1.0, "end": 3.0}])
    assert [(s.start, s.end) for s in fp.scenes] == [(0.0, 1.0), (1.0, pytest.approx(fp.duration_s))]
    assert all(len(s.hashes) == 3 for s in fp.scenes)
