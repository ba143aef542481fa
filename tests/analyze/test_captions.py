"""Captions: espeak-ng speech with known text and known pauses -> pocketsphinx -> WER and WebVTT.

espeak-ng (Debian package ``espeak-ng``) is required: the test fails, not skips, without it.
The voice is ``en-us+f5`` at 140 words per minute: pocketsphinx's accuracy on espeak's formant
synthesis depends a lot on the voice (measured here: ``+f5``/``+f2`` 0.1-0.2 WER, the default male
voice 0.4-0.8).
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from vidlake.analyze.captions import (
    MAX_CUE_S,
    MAX_LINE_CHARS,
    MAX_LINES,
    Transcript,
    Word,
    to_cues,
    to_webvtt,
    transcribe,
)
from vidlake.analyze.registry import FileContext, file_function
from vidlake.ffmpeg import ffmpeg_exe

SENTENCES = [
    "good morning everyone thank you for coming today",
    "we are going to talk about the new project and the plan for next year",
    "the quick brown fox jumps over the lazy dog",
]
GAP_S = 1.5
#: Word error rate bound; measured 0.19 on this audio (see the module docstring).
MAX_WER = 0.35


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level edit distance over the reference length."""
    r, h = reference.split(), hypothesis.split()
    row = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, row[0] = row[0], i
        for j, hw in enumerate(h, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (rw != hw))
    return row[-1] / max(1, len(r))


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[float, float]]]:
    """An AAC file of the sentences separated by ``GAP_S`` s of silence, and each sentence's span."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("espeak-ng is not installed (Debian: apt-get install -y espeak-ng); captions tests need it")
    folder = tmp_path_factory.mktemp("speech")
    inputs: list[str] = []
    spans: list[tuple[float, float]] = []
    t = 0.0
    for i, text in enumerate(SENTENCES):
        wav = folder / f"s{i}.wav"
        subprocess.run([espeak, "-v", "en-us+f5", "-s", "140", "-w", str(wav), text], check=True)
        with wave.open(str(wav)) as w:
            seconds = w.getnframes() / w.getframerate()
        spans.append((t, t + seconds))
        t += seconds + GAP_S
        inputs += ["-i", str(wav)]
    n = len(SENTENCES)
    graph = "".join(f"[{i}:a]aresample=48000,apad=pad_dur={GAP_S}[a{i}];" for i in range(n))
    graph += "".join(f"[a{i}]" for i in range(n)) + f"concat=n={n}:v=0:a=1[out]"
    out = folder / "speech.m4a"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph,
                    "-map", "[out]", "-c:a", "aac", "-b:a", "96k", str(out)], check=True)
    return out, spans


@pytest.fixture(scope="module")
def transcript(speech: tuple[Path, list[tuple[float, float]]],
               tmp_path_factory: pytest.TempPathFactory) -> Transcript:
    return transcribe(speech[0], tmp_path_factory.mktemp("asr"))


def test_word_error_rate_on_clear_speech(speech: tuple[Path, list[tuple[float, float]]],
                                         transcript: Transcript) -> None:
    spans = speech[1]
    reference = " ".join(SENTENCES)
    error = wer(reference, transcript.text)
    print(f"WER {error:.3f}: {transcript.text!r}")
    assert error <= MAX_WER
    assert transcript.duration_s == pytest.approx(spans[-1][1] + GAP_S, abs=0.2)
    # Word times fall inside the spoken spans (with a little slack), in order.
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts)
    for w in transcript.words:
        assert any(s - 0.3 <= w.start and w.end <= e + 0.3 for s, e in spans), w


def test_cues_split_on_pauses_and_respect_limits(speech: tuple[Path, list[tuple[float, float]]],
                                                 transcript: Transcript) -> None:
    spans = speech[1]
    cues = to_cues(transcript)
    for cue in cues:
        assert len(cue.lines) <= MAX_LINES and all(len(line) <= MAX_LINE_CHARS for line in cue.lines)
        assert 0 < cue.end - cue.start <= MAX_CUE_S
        # No cue straddles a pause between sentences.
        assert sum(1 for s, e in spans if cue.start < e and s < cue.end - 0.3) == 1, cue
    assert cues == sorted(cues, key=lambda c: c.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))


def test_webvtt_format() -> None:
    words = [Word(w, 0.5 + i * 0.4, 0.8 + i * 0.4) for i, w in enumerate(["tom", "&", "jerry", "<3", "cheese"])]
    words += [Word("later", 10.0, 10.4)]
    vtt = to_webvtt(Transcript(words=words, duration_s=12.0))
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.500 --> 00:00:02.400\n")
    assert "tom &amp; jerry &lt;3 cheese\n" in vtt
    assert "\n2\n00:00:10.000 --> 00:00:11.000\nlater\n" in vtt  # short cue held for 1 s
    for stamp in re.findall(r"(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)", vtt):
        assert stamp[0] < stamp[1]


def test_long_run_is_wrapped_and_cut() -> None:
    words = [Word(f"word{i:02d}", i * 0.3, i * 0.3 + 0.25) for i in range(40)]
    cues = to_cues(Transcript(words=words, duration_s=12.5))
    assert len(cues) > 2
    assert [w for c in cues for line in c.lines for w in line.split()] == [w.text for w in words]
    for cue in cues:
        assert len(cue.lines) <= 2 and all(len(line) <= MAX_LINE_CHARS for line in cue.lines)
        assert cue.end - cue.start <= MAX_CUE_S


def test_registered_analysis(speech: tuple[Path, list[tuple[float, float]]], tmp_path: Path) -> None:
    fn = file_function("captions")
    assert fn is not None
    result = fn(FileContext(path=speech[0], work_dir=tmp_path / "w"))
    assert result["language"] == "en" and result["webvtt"].startswith("WEBVTT")
    assert "fox" in result["text"].split()
    assert list((tmp_path / "w").iterdir()) == []
