"""Fixtures for the analysis tests: tiny clips made with ffmpeg and the small evaluation corpus."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from bench_modules import load_bench

from vidlake.ffmpeg import ffmpeg_exe


def _load_generator() -> ModuleType:
    return load_bench("corpus/generate.py", "vidlake_bench_corpus")


@pytest.fixture(scope="session")
def corpus_generator() -> ModuleType:
    """``bench/corpus/generate.py`` loaded as a module."""
    return _load_generator()


@pytest.fixture(scope="session")
def small_corpus(corpus_generator: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The test edits (``small=True``) rendered at 320x180: ``{edit name: mp4 path}``."""
    out = tmp_path_factory.mktemp("corpus")
    made: dict[str, Path] = corpus_generator.render(out, size=(320, 180), small=True, ffmpeg=ffmpeg_exe())
    return made


class ClipMaker:
    """Renders lavfi sources to small H.264 files in one temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, name: str, source: str, *, seconds: float = 2.0, size: str = "320x240", fps: int = 25,
                 extra: tuple[str, ...] = ()) -> Path:
        """Render ``source`` (a lavfi source, options allowed, no size/rate) to ``folder/name``."""
        path = self.folder / name
        spec = f"{source}{':' if '=' in source else '='}s={size}:r={fps}"
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", spec,
             "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", *extra,
             str(path)],
            check=True,
        )
        return path


@pytest.fixture
def make_clip(tmp_path: Path) -> ClipMaker:
    """A :class:`ClipMaker` writing into this test's ``tmp_path``."""
    return ClipMaker(tmp_path)
