"""Analysis kinds by name. A kind is either a frame analyser (runs inside the one shared decode of
``run_analysers``) or a file analysis (gets the local media path and runs on its own: audio, ffmpeg
filters, speech). The analyses job looks kinds up here; modules register themselves on import.

Register with::

    @frame_analysis("scenes")
    def _scenes() -> Analyser: return ShotDetector()

    @file_analysis("loudness")
    def loudness(ctx: FileContext) -> dict[str, Any]: ...
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidlake.analyze.base import Analyser

#: Modules that register analysis kinds (imported by ``load``).
MODULES: list[str] = ["vidlake.analyze.kinds"]


@dataclass
class FileContext:
    """What a file analysis gets. ``path``: the media (an MP4 or the source, local file);
    ``renditions``: local paths of encoded renditions keyed by name (for VMAF/SSIM/PSNR), when known;
    ``results``: results of the frame analyses of the same run (e.g. scenes, for fingerprints);
    ``work_dir``: scratch space; ``should_stop``: cancellation check."""

    path: Path
    work_dir: Path
    renditions: dict[str, Path] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    should_stop: Callable[[], bool] = lambda: False


FrameFactory = Callable[[], Analyser]
FileAnalysis = Callable[[FileContext], dict[str, Any]]

_FRAME: dict[str, FrameFactory] = {}
_FILE: dict[str, FileAnalysis] = {}


def frame_analysis(name: str) -> Callable[[FrameFactory], FrameFactory]:
    """Register a frame analyser factory under ``name`` (which must be the analyser's own ``name``:
    ``run_analysers`` keys results by it)."""

    def register(factory: FrameFactory) -> FrameFactory:
        _FRAME[name] = factory
        return factory

    return register


def file_analysis(name: str) -> Callable[[FileAnalysis], FileAnalysis]:
    """Register a whole-file analysis under ``name``."""

    def register(fn: FileAnalysis) -> FileAnalysis:
        _FILE[name] = fn
        return fn

    return register


def load() -> None:
    """Import every module that registers kinds."""
    for module in MODULES:
        importlib.import_module(module)


def kinds() -> list[str]:
    """Every registered kind name."""
    load()
    return sorted({*_FRAME, *_FILE})


def frame_factory(name: str) -> FrameFactory | None:
    """The frame analyser factory of ``name`` (None if it is a file analysis or unknown)."""
    load()
    return _FRAME.get(name)


def file_function(name: str) -> FileAnalysis | None:
    """The file analysis of ``name`` (None if it is a frame analysis or unknown)."""
    load()
    return _FILE.get(name)
