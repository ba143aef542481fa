"""Fixtures for the speech tests: one caption engine per test session, generated Mandarin and English speech."""

from __future__ import annotations

from types import ModuleType

import pytest
from bench_modules import speech_corpus as load_speech_corpus

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.speech.engine import Engine, get_engine


@pytest.fixture(scope="session")
def speech_corpus() -> ModuleType:
    """``bench/corpus/speech.py`` loaded as a module (espeak-ng speech with known text, CER/WER)."""
    return load_speech_corpus()


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The process's caption engine (loaded once for the whole test session)."""
    return get_engine()


@pytest.fixture(scope="session")
def zh_speech(speech_corpus: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> object:
    """Six Mandarin sentences spoken by espeak-ng (``cmn-latn-pinyin``), 1 s apart."""
    return speech_corpus.render(tmp_path_factory.mktemp("zh"), "zh", ffmpeg=ffmpeg_exe())


@pytest.fixture(scope="session")
def en_speech(speech_corpus: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> object:
    """Four English sentences spoken by espeak-ng (``en-us+f5``), 1 s apart."""
    return speech_corpus.render(tmp_path_factory.mktemp("en"), "en", ffmpeg=ffmpeg_exe())
