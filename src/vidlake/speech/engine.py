"""The caption engine: faster-whisper with Whisper *base* (multilingual), loaded once per process.

:func:`get_engine` loads the model (see :mod:`vidlake.speech.model`) the first time a process asks
and hands the same :class:`Engine` to every later caller (jobs of a worker process share it; a lock
keeps two threads from loading it twice). ``HF_HUB_OFFLINE=1`` is set before faster-whisper is
imported, so nothing reaches for a model hub. ``compute_type="int8"`` on the CPU, ``cpu_threads`` from
``VIDLAKE_SPEECH_THREADS``.

Decoding choices, measured on espeak-ng speech (``bench/captions.py``): the language is always passed
when known (auto-detection called short Mandarin clips Thai or Japanese); no initial prompt by default
(on synthetic Mandarin a "simplified Chinese" prompt was echoed into the output and raised the CER
from 0.13 to 0.42), so Chinese text goes through OpenCC ``t2s`` for simplified characters instead;
each 30 s window is decoded without the previous window's text (``condition_on_previous_text=False``:
one misheard window does not derail the next); Silero VAD (bundled with faster-whisper) skips silence
and music, where Whisper otherwise invents text. Whisper gives Chinese no punctuation without a
prompt: a segment that ends without one gets "。", a pause of :data:`COMMA_PAUSE_S` inside gets "，".
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidlake.speech.cues import Transcript, Word
from vidlake.speech.model import default_root, ensure_model

if TYPE_CHECKING:
    from vidlake.core.settings import Settings

SAMPLE_RATE = 16000
BEAM_SIZE = 5
#: A pause inside a Chinese segment at least this long (seconds) gets a comma.
COMMA_PAUSE_S = 0.45
_PUNCT = "，。？！、；：,.?!;:…"
_CJK_LANGS = ("zh", "yue", "ja")
_FULL_WIDTH = str.maketrans({",": "，", "?": "？", "!": "！", ";": "；", ":": "："})


class Engine:
    """One loaded Whisper model. ``load_s``: seconds the load took; ``threads``: CPU threads."""

    def __init__(self, model_dir: Path, threads: int) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from faster_whisper import WhisperModel

        started = time.monotonic()
        self.model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads)
        self.load_s = time.monotonic() - started
        self.threads = threads
        self._t2s: Any = None
        self._lock = threading.Lock()

    def _simplified(self, text: str) -> str:
        if self._t2s is None:
            import opencc

            self._t2s = opencc.OpenCC("t2s")
        return str(self._t2s.convert(text))

    def transcribe(self, audio: np.ndarray, language: str | None, *, phrases: list[str] | None = None,
                   should_stop: Callable[[], bool] = lambda: False, beam_size: int = BEAM_SIZE,
                   fallback: bool = True) -> Transcript:
        """Recognise ``audio`` (float32 mono samples at 16 kHz, -1..1). ``language``: a Whisper code, or
        ``None`` to detect it; ``phrases`` (a transcription vocabulary) bias recognition as hot-words;
        ``beam_size`` 1 decodes greedily and ``fallback=False`` never retries a window at higher
        temperatures (live captions: bounded time per window)."""
        hotwords = ", ".join(p.strip() for p in phrases or [] if p.strip()) or None
        with self._lock:  # one decode at a time per model (CTranslate2 already uses every thread)
            segments, info = self.model.transcribe(
                audio, language=language, beam_size=beam_size, word_timestamps=True,
                condition_on_previous_text=False, vad_filter=True, hotwords=hotwords,
                temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0] if fallback else [0.0],
                vad_parameters={"min_silence_duration_ms": 500})
            words: list[Word] = []
            lang = info.language or language or "en"
            for segment in segments:
                if should_stop():
                    break
                words.extend(self._segment_words(segment, lang))
        return Transcript(words=words, duration_s=len(audio) / SAMPLE_RATE, language=lang)

    def _segment_words(self, segment: Any, language: str) -> list[Word]:
        raw = [(w.word, float(w.start), float(w.end)) for w in segment.words or [] if w.word.strip()]
        cjk = language in _CJK_LANGS
        out: list[Word] = []
        for i, (text, start, end) in enumerate(raw):
            text = text.strip()
            if language in ("zh", "yue"):
                text = self._simplified(text).translate(_FULL_WIDTH)
            if cjk and text[-1] not in _PUNCT:
                if i == len(raw) - 1:
                    text += "。"
                elif raw[i + 1][1] - end >= COMMA_PAUSE_S:
                    text += "，"
            out.append(Word(text, round(start, 3), round(max(end, start), 3)))
        return out


_ENGINES: dict[tuple[str, int], Engine] = {}
_LOAD_LOCK = threading.Lock()


def get_engine(settings: Settings | None = None) -> Engine:
    """This process's engine for the model folder and thread count of ``settings`` (loaded on first use)."""
    root = settings.speech_model_dir if settings is not None and settings.speech_model_dir else None
    threads = settings.speech_threads if settings is not None else 2
    key = (str(root or default_root()), threads)
    with _LOAD_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = Engine(ensure_model(root), threads)
        return engine


def pcm_to_audio(pcm: bytes) -> np.ndarray:
    """16-bit little-endian PCM bytes → float32 samples in -1..1."""
    return np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
