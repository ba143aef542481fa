"""Live captions: error rate and transcription cost of :class:`vidlake.live.captions.LiveCaptioner`.

espeak-ng speech with known text (``bench/corpus/speech.py``: Mandarin and English) plus testsrc2 is cut
by ffmpeg into 2 s MPEG-TS segments, as a live session lists them; the segments are handed to the
captioner one by one (as fast as it takes them) with the shared Whisper engine. Printed per language:
the CER (Mandarin) / WER (English) of the cues, and the transcription's CPU cost as seconds of
transcription per second of audio, against the baseline of the same engine transcribing the whole clip
at once (the VOD caption job) in the same run. ``1 / cost`` is how many caption streams fit on this
machine beside nothing else; the live end-to-end delay is measured by ``tests/live/test_live_captions.py``
(printed there) because it includes the ingest.

    .venv/bin/python bench/live_captions.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))

import speech as corpus
from vidlake.ffmpeg import ffmpeg_exe
from vidlake.live.captions import CaptionSettings, LiveCaptioner, segment_audio
from vidlake.package import hls
from vidlake.speech.engine import get_engine


def segments(folder: Path, speech: Path, seconds: float) -> list[tuple[Path, float]]:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
                    "-i", str(speech), "-filter_complex", "[1:a]apad[a]", "-map", "0:v", "-map", "[a]",
                    "-t", f"{seconds:.1f}", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac",
                    "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
                    "-hls_segment_filename", str(folder / "%05d.ts"), str(folder / "index.m3u8")], check=True)
    playlist = hls.read(folder / "index.m3u8")
    assert isinstance(playlist, hls.MediaPlaylist)
    return [(folder / s.uri, s.duration) for s in playlist.segments]


def run(language: str, work: Path) -> dict[str, Any]:
    speech = corpus.render(work / "speech", language, ffmpeg=ffmpeg_exe())
    segs = segments(work, speech.path, speech.spans[-1][1] + 4.0)
    engine = get_engine()
    spent = [0.0]

    def transcribe(audio: Any, lang: str, phrases: list[str]) -> Any:
        t = time.process_time()
        out = engine.transcribe(audio, lang, phrases=phrases)
        spent[0] += time.process_time() - t
        return out

    out = work / "out"
    out.mkdir()
    captioner = LiveCaptioner(CaptionSettings(language, language, language), out, 15, transcribe, lambda: None,
                              None)  # type: ignore[arg-type]
    start = 0.0
    for path, duration in segs:
        captioner._add([(path, start, duration, time.monotonic())])
        start += duration
    captioner._finish()
    joiner = "" if language == "zh" else " "
    hyp = joiner.join(" ".join(c.lines) for c in captioner.cues())
    measure = corpus.cer if language == "zh" else corpus.wer
    audio = sum(len(segment_audio(p)[0]) for p, _ in segs) / 16000
    # Baseline: the whole clip at once (what the VOD job does).
    whole = [segment_audio(p)[0] for p, _ in segs]
    import numpy as np

    t = time.process_time()
    vod = engine.transcribe(np.concatenate(whole), language)
    vod_cost = (time.process_time() - t) / audio
    return {"error": measure(speech.reference, hyp), "vod_error": measure(speech.reference, vod.text),
            "cost": spent[0] / audio, "vod_cost": vod_cost, "audio_s": audio}


def main() -> None:
    rows = {}
    for language in ("en", "zh"):
        with tempfile.TemporaryDirectory(prefix="bench-live-captions-") as tmp:
            rows[language] = run(language, Path(tmp))
        print(f"# {language}: {rows[language]}", flush=True)
    print("\n| language | live error | VOD error (whole clip) | live CPU s per audio s | VOD CPU s per audio s "
          "| live / VOD cost | caption streams per core (1 / live cost) |")
    print("|---|---|---|---|---|---|---|")
    for lang, r in rows.items():
        metric = "CER" if lang == "zh" else "WER"
        print(f"| {lang} | {metric} {r['error']:.3f} | {metric} {r['vod_error']:.3f} | {r['cost']:.2f} | "
              f"{r['vod_cost']:.2f} | {r['cost'] / r['vod_cost']:.2f} | {1 / r['cost']:.1f} |")


if __name__ == "__main__":
    main()
