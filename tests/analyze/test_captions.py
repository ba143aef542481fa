"""The ``captions`` analysis: the caption engine on an English clip, language detected, WebVTT out."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_modules import speech_corpus

from vidlake.analyze.registry import FileContext, file_function
from vidlake.ffmpeg import ffmpeg_exe

pytestmark = pytest.mark.slow


def test_registered_analysis(tmp_path: Path) -> None:
    corpus = speech_corpus()
    clip = corpus.render(tmp_path / "clip", "en", ffmpeg=ffmpeg_exe())
    fn = file_function("captions")
    assert fn is not None
    result = fn(FileContext(path=clip.path, work_dir=tmp_path / "w"))
    assert result["language"] == "en" and result["webvtt"].startswith("WEBVTT")
    assert "fox" in result["text"].lower().split()
    assert corpus.wer(clip.reference, result["text"]) <= 0.2
    assert list((tmp_path / "w").iterdir()) == []
