"""Registers the analysis kinds that ship with Vidlake (one import line per analysis module)."""

from __future__ import annotations

from typing import Any

from vidlake.analyze.base import Analyser
from vidlake.analyze.registry import FileContext, file_analysis, frame_analysis


@frame_analysis("scenes")
def _scenes() -> Analyser:
    from vidlake.analyze.scenes import ShotDetector

    return ShotDetector()


@frame_analysis("black")
def _black() -> Analyser:
    from vidlake.analyze.quality import BlackFrameDetector

    return BlackFrameDetector()


@frame_analysis("frozen")
def _frozen() -> Analyser:
    from vidlake.analyze.quality import FrozenFrameDetector

    return FrozenFrameDetector()


@frame_analysis("letterbox")
def _letterbox() -> Analyser:
    from vidlake.analyze.quality import LetterboxDetector

    return LetterboxDetector()


@frame_analysis("shot_quality")
def _shot_quality() -> Analyser:
    from vidlake.analyze.shot_quality import ShotQualityMeter

    return ShotQualityMeter()


@frame_analysis("faces")
def _faces() -> Analyser:
    from vidlake.analyze.faces import FaceDetector

    return FaceDetector()


@frame_analysis("cover")
def _cover() -> Analyser:
    # Owns its face detector; when "faces" runs too, build SmartCover(faces=<that FaceDetector>) instead.
    from vidlake.analyze.cover import SmartCover

    return SmartCover()


@file_analysis("captions")
def _captions(ctx: FileContext) -> dict[str, Any]:
    from vidlake.analyze.captions import captions_report

    return captions_report(ctx.path, ctx.work_dir, ctx.should_stop)


@file_analysis("loudness")
def _loudness(ctx: FileContext) -> dict[str, Any]:
    from vidlake.analyze.audio_quality import audio_report

    return audio_report(ctx.path, ctx.work_dir)


@file_analysis("rendition_quality")
def _rendition_quality(ctx: FileContext) -> dict[str, Any]:
    from vidlake.analyze.rendition_quality import rendition_report

    return rendition_report(ctx.path, ctx.renditions, ctx.work_dir)


@file_analysis("fingerprint")
def _fingerprint(ctx: FileContext) -> dict[str, Any]:
    from vidlake.analyze.fingerprint import fingerprint

    scenes = (ctx.results.get("scenes") or {}).get("scenes") or None
    return fingerprint(ctx.path, scenes).to_dict()


@file_analysis("beats")
def _beats(ctx: FileContext) -> dict[str, Any]:
    from vidlake.create.beats import beats_report

    return beats_report(ctx.path, ctx.work_dir, ctx.should_stop)
