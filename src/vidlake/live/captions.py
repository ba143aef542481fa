"""Live captions: the session's speech transcribed as it arrives into a WebVTT subtitle rendition.

Each rung-0 segment the session lists is handed to :class:`LiveCaptioner` (``segment_added``). On one
worker thread it decodes the segment's audio (PyAV, the session's own output) to 16 kHz mono and places
it on the *session timeline* (seconds from the session's first segment, what the recording's timeline
becomes). Audio is transcribed in windows that end at a pause (:data:`PAUSE_S` of quiet audio), from the
commit point ``C`` to that pause, whole: whole sentences are what Whisper recognises best (measured on
espeak-ng English: WER 0.03 with pause-cut windows against 0.13 with fixed 3 s windows). Chinese,
Cantonese and Japanese windows hold at least :data:`MIN_CJK_WINDOW_S` seconds (Whisper base needs the
context: sentence-long Mandarin windows gave a CER of 0.60, 8 s windows 0.38). Without a pause for
:data:`MAX_WINDOW_S` seconds the window is cut anyway, and words ending less than :data:`HOLD_S` before
its end wait for the next window. Segments waiting behind a slow transcription are taken together.

Every segment wholly before ``C`` gets its WebVTT file (``subs/{n}.vtt``: cues in session time, repeated
unchanged in every segment they overlap, ``X-TIMESTAMP-MAP`` tying the segment's session start to its
first MPEG-TS timestamp) and is listed in ``subs/{language}.m3u8``, a sliding window like the video's;
the master lists it as a ``SUBTITLES`` rendition. A cue in a listed segment never changes again. At the
end of the session everything pending is committed, the playlist is closed, and the whole transcript
becomes a ``generated_live`` text track of the recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidlake.package import hls
from vidlake.package.live_hls import write_playlist
from vidlake.speech.cues import Cue, Transcript, Word, cues_to_webvtt, timestamp, to_cues

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
HOLD_S = 1.0  #: words ending less than this before the newest audio wait for the next segment (seconds)
MAX_WINDOW_S = 12.0  #: most audio transcribed at once (seconds); older audio is committed as it is
MIN_NEW_S = 0.8  #: least new audio (seconds) worth a transcription
#: Chinese, Cantonese, Japanese: Whisper base needs more context; a window ends at a pause only when it holds
#: this much audio (seconds). Measured on espeak Mandarin: sentence-long windows gave a CER of 0.60.
MIN_CJK_WINDOW_S = 8.0
CJK = ("zh", "yue", "ja")
PAUSE_S = 0.4  #: a pause this long (seconds) ends a window: what came before it is transcribed whole
QUIET_RMS = 0.01  #: audio below this RMS level (full scale 1.0) is quiet, or below 10% of the window's loud level
SUBS_DIR = "subs"


@dataclass(frozen=True)
class CaptionSettings:
    """A live stream's generated subtitles: Whisper ``language``, the track's ``language_code`` and
    ``name``, vocabulary ``phrases``, ``passthrough``."""

    language: str
    language_code: str
    name: str
    phrases: list[str] = field(default_factory=list)
    passthrough: str | None = None

    @property
    def playlist(self) -> str:
        """The subtitle playlist's path below the session root."""
        return f"{SUBS_DIR}/{self.language_code}.m3u8"


@dataclass
class _Segment:
    index: int
    start_s: float  #: session time of its first frame (seconds)
    duration_s: float
    pts90k: int | None  #: its first video (else audio) MPEG-TS timestamp, 90 kHz
    listed_at: float  #: monotonic time its video was listed
    written: bool = False


#: ``transcribe(audio, language, phrases)`` → words in seconds from the audio's start.
Transcriber = Callable[[np.ndarray, str, list[str]], Transcript]


def segment_audio(path: Path) -> tuple[np.ndarray, float, int | None]:
    """The audio of an MPEG-TS segment as float32 16 kHz mono; the offset (seconds) of its first sample
    after the segment's first video frame; that frame's 90 kHz timestamp (``None``: no timestamps)."""
    import av

    with av.open(str(path)) as container:
        video = next(iter(container.streams.video), None)
        audio = next(iter(container.streams.audio), None)
        first_video: float | None = None
        first_audio: float | None = None
        pts90k: int | None = None
        chunks: list[np.ndarray] = []
        if audio is None:
            return np.zeros(0, np.float32), 0.0, None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        streams = [s for s in (video, audio) if s is not None]
        for packet in container.demux(*streams):
            if packet.pts is not None and packet.time_base is not None:
                t = float(packet.pts * packet.time_base)
                if packet.stream is video and first_video is None:
                    first_video, pts90k = t, int(packet.pts * packet.time_base * 90000)
                if packet.stream is audio and first_audio is None:
                    first_audio = t
            if packet.stream is audio:
                for frame in packet.decode():
                    assert isinstance(frame, av.AudioFrame)
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if pts90k is None and first_audio is not None:
        pts90k = int(first_audio * 90000)
    offset = (first_audio - first_video) if first_audio is not None and first_video is not None else 0.0
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return samples, offset, pts90k


class AudioTimeline:
    """Audio samples placed at session times (seconds); gaps read as silence."""

    def __init__(self) -> None:
        self.chunks: list[tuple[float, np.ndarray]] = []

    def add(self, start_s: float, samples: np.ndarray) -> None:
        """Place ``samples`` (16 kHz) from ``start_s``."""
        if len(samples):
            self.chunks.append((start_s, samples))

    @property
    def end_s(self) -> float:
        """Session time of the newest sample."""
        return max((s + len(a) / SAMPLE_RATE for s, a in self.chunks), default=0.0)

    def window(self, a: float, b: float) -> np.ndarray:
        """The samples from ``a`` to ``b`` seconds."""
        n = max(0, round((b - a) * SAMPLE_RATE))
        out = np.zeros(n, np.float32)
        for start, samples in self.chunks:
            lo = round((start - a) * SAMPLE_RATE)
            i0, i1 = max(0, lo), min(n, lo + len(samples))
            if i1 > i0:
                out[i0:i1] = samples[i0 - lo:i1 - lo]
        return out

    def forget_before(self, t: float) -> None:
        """Drop chunks that end before ``t`` seconds."""
        self.chunks = [(s, a) for s, a in self.chunks if s + len(a) / SAMPLE_RATE >= t]


class LiveCaptioner:
    """Captions of one live session (module docstring). ``root``: the session directory;
    ``window_segments``: segments the live subtitle playlist lists; ``transcribe``: the engine call;
    ``changed``: called on the event loop when files were written (to publish them)."""

    def __init__(self, settings: CaptionSettings, root: Path, window_segments: int, transcribe: Transcriber,
                 changed: Callable[[], None], spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]) -> None:
        self.settings = settings
        self.root = root
        self.window_segments = window_segments
        self.transcribe = transcribe
        self.changed = changed
        self.spawn = spawn
        self.audio = AudioTimeline()
        self.segments: list[_Segment] = []
        self.words: list[Word] = []  #: committed words not in a frozen cue yet
        self.frozen: list[Cue] = []  #: cues already in a published segment (never change again)
        self.commit_s = 0.0
        self.delays: list[float] = []  #: seconds from a segment's video being listed to its captions being
        self._queue: asyncio.Queue[tuple[Path, float, float, float] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._next_start = 0.0  #: session time of the next segment (seconds)
        (root / SUBS_DIR).mkdir(parents=True, exist_ok=True)
        self._write_playlist(final=False)

    def segment_added(self, path: Path, duration_s: float) -> None:
        """The session listed its next rung-0 segment (``path``, ``duration_s`` seconds long)."""
        if self._task is None:
            self._task = self.spawn(self._run())
        self._queue.put_nowait((path, self._next_start, duration_s, time.monotonic()))
        self._next_start += duration_s

    async def close(self) -> None:
        """Commit everything, close the playlist (the session ended)."""
        if self._task is None:
            self._task = self.spawn(self._run())
        self._queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await self._task

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():  # behind: take every waiting segment into one transcription
                batch.append(self._queue.get_nowait())
            segments = [item for item in batch if item is not None]
            try:
                if segments:
                    await asyncio.to_thread(self._add, segments)
                if len(segments) < len(batch):
                    await asyncio.to_thread(self._finish)
                self.changed()
            except Exception:
                log.exception("live captions failed on a segment; going on")
            if len(segments) < len(batch):
                return

    # -- worker thread ----------------------------------------------------------------------------
    def _add(self, items: list[tuple[Path, float, float, float]]) -> None:
        for path, start_s, duration_s, listed_at in items:
            samples, offset, pts90k = segment_audio(path)
            self.segments.append(_Segment(len(self.segments), start_s, duration_s, pts90k, listed_at))
            self.audio.add(start_s + max(0.0, offset), samples)
        end = self.segments[-1].start_s + self.segments[-1].duration_s
        pause = self._last_pause(self.commit_s, min(end, self.audio.end_s or end))
        least = MIN_CJK_WINDOW_S if self.settings.language in CJK else MIN_NEW_S
        if pause is not None and (pause - self.commit_s >= least or pause == self.audio.end_s):
            self._pass(self.commit_s, pause, commit_all=True)  # whole sentences, up to a pause
        elif end - self.commit_s >= MAX_WINDOW_S:
            self._transcribe(end, final=False)  # no pause for long: cut, holding back the edge
        self._write_ready(final=False)

    def _last_pause(self, a: float, b: float) -> float | None:
        """Session time of the middle of the last pause (:data:`PAUSE_S` of audio below the quiet level)
        between ``a`` and ``b`` seconds that follows some sound (``b`` when all of it is quiet), or
        ``None``."""
        audio = self.audio.window(a, b)
        frame = SAMPLE_RATE // 50  # 20 ms
        n = len(audio) // frame
        if n < 2:
            return None
        rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))
        loud = float(np.percentile(rms, 95))
        if loud < QUIET_RMS:
            return b  # silence only: nothing to wait for
        quiet = rms < max(QUIET_RMS, 0.1 * loud)
        need = round(PAUSE_S * 50)
        run, last = 0, None
        for i, q in enumerate(quiet):
            run = run + 1 if q else 0
            if run >= need and not quiet[: i - run + 1].all():
                last = i - run // 2
        return a + last * 0.02 if last is not None else None

    def _finish(self) -> None:
        end = max([s.start_s + s.duration_s for s in self.segments], default=0.0)
        if end > self.commit_s:
            self._transcribe(end, final=True)
        self.commit_s = max(self.commit_s, end)
        self._write_ready(final=True)

    def _transcribe(self, end: float, *, final: bool) -> None:
        while end - self.commit_s > MAX_WINDOW_S:  # too far behind: commit a full window as it is
            self._pass(self.commit_s, self.commit_s + MAX_WINDOW_S, commit_all=False)
        self._pass(self.commit_s, end, commit_all=final)

    def _pass(self, a: float, b: float, *, commit_all: bool) -> None:
        transcript = self.transcribe(self.audio.window(a, b), self.settings.language, self.settings.phrases)
        words = [Word(w.text, round(a + w.start, 3), round(a + w.end, 3)) for w in transcript.words]
        limit = b if commit_all else b - HOLD_S
        taken = [w for w in words if commit_all or w.end <= limit]
        rest = words[len(taken):]
        self.words.extend(taken)
        # The next pass starts where the first word not taken starts (or at the limit, in silence).
        self.commit_s = max(self.commit_s, min(limit, rest[0].start) if rest else limit)
        self.audio.forget_before(self.commit_s - 1.0)

    def cues(self) -> list[Cue]:
        """Every committed cue, session times: the frozen ones, then cues of the words after them."""
        return [*self.frozen, *to_cues(Transcript(words=list(self.words), language=self.settings.language))]

    def _freeze(self, before_s: float) -> None:
        """Cues that start before ``before_s`` are published: they never change again (later words start
        new cues)."""
        loose = to_cues(Transcript(words=list(self.words), language=self.settings.language))
        done = [c for c in loose if c.start < before_s]
        if done:
            self.frozen.extend(done)
            last = done[-1].end
            self.words = [w for w in self.words if w.start >= last]

    def _write_ready(self, *, final: bool) -> None:
        ready = [seg for seg in self.segments if not seg.written
                 and (final or seg.start_s + seg.duration_s <= self.commit_s + 1e-6)]
        if not ready:
            if final:
                self._write_playlist(final=True)
            return
        self._freeze(ready[-1].start_s + ready[-1].duration_s)
        cues = self.cues()
        wrote = False
        for seg in self.segments:
            if seg.written or (not final and seg.start_s + seg.duration_s > self.commit_s + 1e-6):
                continue
            end = seg.start_s + seg.duration_s
            # A cue that spans segments is repeated unchanged in each (players drop the copies).
            inside = [c for c in cues if c.end > seg.start_s and c.start < end]
            text = cues_to_webvtt(inside)
            if seg.pts90k is not None:
                head, _, rest = text.partition("\n")
                text = f"{head}\nX-TIMESTAMP-MAP=MPEGTS:{seg.pts90k},LOCAL:{timestamp(seg.start_s)}\n{rest}"
            (self.root / SUBS_DIR / f"{seg.index:05d}.vtt").write_text(text, encoding="utf-8")
            seg.written = wrote = True
            if not final:
                self.delays.append(time.monotonic() - seg.listed_at)
        if wrote or final:
            self._write_playlist(final=final)

    def _write_playlist(self, *, final: bool) -> None:
        written = [s for s in self.segments if s.written]
        shown = written if final else written[-self.window_segments:]
        target = max([math.ceil(s.duration_s) for s in shown], default=1)
        playlist = hls.MediaPlaylist(
            segments=[hls.Segment(f"{s.index:05d}.vtt", s.duration_s) for s in shown], version=3,
            target_duration=max(1, target), media_sequence=shown[0].index if shown else 0, endlist=final,
            playlist_type="VOD" if final else None)
        write_playlist(self.root / self.settings.playlist, playlist)

    def status(self) -> dict[str, Any]:
        """Health figures: segments captioned, caption delay after the video (seconds, newest and
        largest), seconds of audio waiting."""
        return {"language_code": self.settings.language_code,
                "segments": sum(1 for s in self.segments if s.written),
                "delay_s": round(self.delays[-1], 3) if self.delays else None,
                "max_delay_s": round(max(self.delays), 3) if self.delays else None,
                "pending_s": round(max(0.0, self.audio.end_s - self.commit_s), 3)}

    def webvtt(self) -> str:
        """The whole transcript as one WebVTT document (session times = the recording's)."""
        return cues_to_webvtt(self.cues())
