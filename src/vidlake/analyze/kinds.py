"""Registers the analysis kinds that ship with Vidlake (one import line per analysis module)."""

from __future__ import annotations

from vidlake.analyze.base import Analyser
from vidlake.analyze.registry import frame_analysis


@frame_analysis("scenes")
def _scenes() -> Analyser:
    from vidlake.analyze.scenes import ShotDetector

    return ShotDetector()


@frame_analysis("black_frames")
def _black() -> Analyser:
    from vidlake.analyze.quality import BlackFrameDetector

    return BlackFrameDetector()


@frame_analysis("frozen_frames")
def _frozen() -> Analyser:
    from vidlake.analyze.quality import FrozenFrameDetector

    return FrozenFrameDetector()


@frame_analysis("letterbox")
def _letterbox() -> Analyser:
    from vidlake.analyze.quality import LetterboxDetector

    return LetterboxDetector()
