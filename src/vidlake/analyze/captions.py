"""Captions: speech in any media file → words with times → WebVTT, with the Whisper engine of
:mod:`vidlake.speech.engine` (Mandarin, English and the other Whisper languages; offline).

:func:`extract_pcm` takes the first audio stream as 16 kHz mono 16-bit PCM through ffmpeg (hardened
input); :func:`transcribe` recognises it in the given language (Whisper code; ``None`` detects it,
which is unreliable on short Mandarin clips). Cue layout and WebVTT live in :mod:`vidlake.speech.cues`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidlake.analyze.audio_quality import mono_pcm
from vidlake.speech.cues import Transcript, to_webvtt
from vidlake.speech.engine import SAMPLE_RATE, get_engine, pcm_to_audio

if TYPE_CHECKING:
    from vidlake.core.settings import Settings


def extract_pcm(path: Path, work_dir: Path, *, timeout_s: float = 3600.0) -> Path | None:
    """Write the first audio stream of ``path`` as raw 16 kHz mono s16le PCM into ``work_dir``.

    Returns the PCM file, or ``None`` when the file has no audio. ``timeout_s``: seconds."""
    pcm = work_dir / "captions_16k.s16"
    return pcm if mono_pcm(path, pcm, rate=SAMPLE_RATE, timeout_s=timeout_s) else None


def transcribe(path: Path, work_dir: Path, *, language: str | None = None, phrases: list[str] | None = None,
               settings: Settings | None = None, should_stop: Callable[[], bool] = lambda: False) -> Transcript:
    """Recognise the speech in ``path`` (any media file with audio); scratch files in ``work_dir``.
    ``language``: Whisper code (``zh``, ``en``...) or ``None`` to detect; ``phrases`` bias recognition."""
    pcm_path = extract_pcm(path, work_dir)
    if pcm_path is None:
        return Transcript(language=language or "en")
    try:
        pcm = pcm_path.read_bytes()
    finally:
        pcm_path.unlink(missing_ok=True)
    if not pcm:
        return Transcript(language=language or "en")
    return get_engine(settings).transcribe(pcm_to_audio(pcm), language, phrases=phrases, should_stop=should_stop)


def captions_report(path: Path, work_dir: Path, should_stop: Callable[[], bool] = lambda: False,
                    settings: Settings | None = None) -> dict[str, Any]:
    """The JSON result of the ``"captions"`` analysis (language detected): ``language``, ``text``,
    ``words`` (``{"text", "start", "end"}``, seconds), ``duration_s`` and the ``webvtt`` document."""
    t = transcribe(path, work_dir, settings=settings, should_stop=should_stop)
    return {
        "language": t.language,
        "duration_s": round(t.duration_s, 3),
        "text": t.text,
        "words": [{"text": w.text, "start": w.start, "end": w.end} for w in t.words],
        "webvtt": to_webvtt(t),
    }
