"""Captions from generated speech: character error rate for Mandarin, word error rate for English.

The targets are stated here and fail on a broken engine (a wrong language, a missing model or garbage
output gives CER/WER near 1). Measured on this machine (2 cores, shared): Mandarin CER 0.21, English
WER 0.05 (``bench/captions.py`` prints the same figures with speed).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from vidlake.analyze.captions import transcribe
from vidlake.core.settings import load_settings
from vidlake.speech.cues import CJK_LINE_CHARS, LATIN_LINE_CHARS, MAX_CUE_S, MAX_LINES, to_cues, width
from vidlake.speech.engine import Engine, get_engine

pytestmark = pytest.mark.slow

#: Targets: Mandarin character error rate, English word error rate.
MAX_CER_ZH = 0.35
MAX_WER_EN = 0.20
#: Traditional forms of characters in the Mandarin sentences: none may appear.
TRADITIONAL = set("們來學習課內歡參這個產價請認聽師講馬開題評論區與")


@pytest.fixture(scope="module")
def zh_transcript(engine: Engine, zh_speech: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    started = time.monotonic()
    t = transcribe(zh_speech.path, tmp_path_factory.mktemp("w"), language="zh")
    t.elapsed_s = time.monotonic() - started  # type: ignore[attr-defined]
    return t


@pytest.fixture(scope="module")
def en_transcript(engine: Engine, en_speech: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return transcribe(en_speech.path, tmp_path_factory.mktemp("w"), language="en")


def test_mandarin_character_error_rate(zh_speech: Any, zh_transcript: Any, speech_corpus: Any,
                                       engine: Engine) -> None:
    error = speech_corpus.cer(zh_speech.reference, zh_transcript.text)
    speed = zh_transcript.elapsed_s / zh_transcript.duration_s
    print(f"CER {error:.3f}, {speed:.2f} of real time, model load {engine.load_s:.2f} s: {zh_transcript.text}")
    assert error <= MAX_CER_ZH
    assert zh_transcript.language == "zh"


def test_one_model_load_per_process(engine: Engine) -> None:
    assert get_engine() is engine
    assert get_engine(load_settings()) is engine  # the same folder and thread count: the same engine


def test_mandarin_is_simplified_and_punctuated(zh_transcript: Any) -> None:
    text = zh_transcript.text
    assert not TRADITIONAL & set(text), text
    assert text.count("。") >= 4  # one per sentence, roughly
    assert not re.search(r"[A-Za-z]{3,}", text)


def test_english_word_error_rate(en_speech: Any, en_transcript: Any, speech_corpus: Any) -> None:
    error = speech_corpus.wer(en_speech.reference, en_transcript.text)
    print(f"WER {error:.3f}: {en_transcript.text}")
    assert error <= MAX_WER_EN
    assert en_transcript.text[0].isupper() and en_transcript.text.rstrip()[-1] in ".!?"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_word_times_fall_in_the_spoken_spans(language: str, request: pytest.FixtureRequest) -> None:
    speech = request.getfixturevalue(f"{language}_speech")
    transcript = request.getfixturevalue(f"{language}_transcript")
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts)
    inside = [w for w in transcript.words if any(s - 0.5 <= w.start and w.end <= e + 0.5 for s, e in speech.spans)]
    assert len(inside) >= 0.8 * len(transcript.words)
    assert transcript.duration_s == pytest.approx(speech.spans[-1][1] + 1.0, abs=0.2)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_cues_follow_sentences_and_limits(language: str, request: pytest.FixtureRequest) -> None:
    speech = request.getfixturevalue(f"{language}_speech")
    cues = to_cues(request.getfixturevalue(f"{language}_transcript"))
    assert len(cues) >= len(speech.sentences) - 1
    for cue in cues:
        assert len(cue.lines) <= MAX_LINES and all(width(line) <= 1.0 for line in cue.lines), cue
        if language == "zh":
            assert all(len(line) <= CJK_LINE_CHARS for line in cue.lines)
        else:
            assert all(len(line) <= LATIN_LINE_CHARS for line in cue.lines)
        assert 0 < cue.end - cue.start <= MAX_CUE_S
    real = [c for c in cues if c.start < speech.spans[-1][1] - 0.5]  # a cue never spans two sentences
    for cue in real:
        assert sum(1 for s, e in speech.spans if cue.start < e - 0.3 and s + 0.3 < cue.end) <= 1, cue


def test_wrong_language_breaks_the_rate(zh_speech: Any, speech_corpus: Any, tmp_path: Path) -> None:
    """The CER target is meaningful: decoding Mandarin as English misses it. Whisper's temperature fallback
    samples when greedy decoding fails its checks, which it does on the wrong language, so the wrong-language
    CER varies from run to run (0.59 and above seen): the test asks only that it miss the target."""
    wrong = transcribe(zh_speech.path, tmp_path, language="en")
    assert speech_corpus.cer(zh_speech.reference, wrong.text) > MAX_CER_ZH


def test_vocabulary_phrases_bias_recognition(engine: Engine, speech_corpus: Any, tmp_path: Path) -> None:
    """A made-up product name is misheard without a vocabulary and written as given with one."""
    from vidlake.ffmpeg import ffmpeg_exe

    clip = speech_corpus.render(tmp_path, "en", ["our new product vidlake streams video to every phone"],
                                ffmpeg=ffmpeg_exe())
    plain = transcribe(clip.path, tmp_path / "w", language="en").text
    biased = transcribe(clip.path, tmp_path / "w", language="en", phrases=["Vidlake"]).text
    print(f"without: {plain!r}; with: {biased!r}")
    assert "vidlake" not in plain.lower()
    assert "Vidlake" in biased
