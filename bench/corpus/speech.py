"""Generated speech with known text, for the caption tests and ``bench/captions.py``.

Mandarin: hanzi → tone-numbered pinyin (pypinyin, neutral tone as 5) → espeak-ng ``cmn-latn-pinyin``
(Debian's ``cmn`` voice reads tone digits as English numbers). English: espeak-ng ``en-us``. Each
sentence is its own utterance; utterances are joined with ``GAP_S`` seconds of silence and encoded as
AAC in an M4A, like uploaded media. Voices and speeds were picked for the best recognition of
espeak's formant speech (measured: Mandarin ``+m3`` at 120 wpm, CER 0.1-0.2; the default voice 0.6+).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

GAP_S = 1.0

ZH_SENTENCES = [
    "今天我们来学习新的课程内容。",
    "欢迎大家参加双十一活动。",
    "这个产品的价格非常便宜。",
    "请大家认真听老师讲课。",
    "我们的直播马上就要开始了。",
    "有问题可以在评论区留言。",
]
EN_SENTENCES = [
    "good morning everyone thank you for coming today",
    "we are going to talk about the new project and the plan for next year",
    "the quick brown fox jumps over the lazy dog",
    "please leave your questions in the comments below",
]
VOICES = {"zh": ("cmn-latn-pinyin+m3", 120), "en": ("en-us+f5", 140)}


@dataclass(frozen=True)
class Speech:
    """A generated clip: ``path`` (M4A), its ``language``, the ``sentences`` and each one's span (s)."""

    path: Path
    language: str
    sentences: list[str]
    spans: list[tuple[float, float]]

    @property
    def reference(self) -> str:
        """The spoken text (Mandarin: the characters; English: the words)."""
        return ("" if self.language == "zh" else " ").join(self.sentences)


def to_pinyin(text: str) -> str:
    """Tone-numbered pinyin of ``text`` (``你好`` → ``ni3 hao3``), punctuation dropped."""
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    return " ".join(s for s in syllables if re.fullmatch(r"[a-z]+[1-5]", s))


def espeak_exe() -> str:
    """The espeak-ng binary (Debian package ``espeak-ng``)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (Debian: apt-get install -y espeak-ng)")
    return exe


def render(folder: Path, language: str, sentences: list[str] | None = None, *, ffmpeg: str,
           name: str | None = None) -> Speech:
    """Speak ``sentences`` (default: this module's list for ``language``) into ``folder``."""
    sentences = list(sentences or (ZH_SENTENCES if language == "zh" else EN_SENTENCES))
    voice, speed = VOICES[language]
    folder.mkdir(parents=True, exist_ok=True)
    inputs: list[str] = []
    spans: list[tuple[float, float]] = []
    t = 0.0
    for i, text in enumerate(sentences):
        wav = folder / f"{language}-{i}.wav"
        said = to_pinyin(text) if language == "zh" else text
        subprocess.run([espeak_exe(), "-v", voice, "-s", str(speed), "-w", str(wav), said], check=True)
        with wave.open(str(wav)) as w:
            seconds = w.getnframes() / w.getframerate()
        spans.append((t, t + seconds))
        t += seconds + GAP_S
        inputs += ["-i", str(wav)]
    n = len(sentences)
    graph = "".join(f"[{i}:a]aresample=48000,apad=pad_dur={GAP_S}[a{i}];" for i in range(n))
    graph += "".join(f"[a{i}]" for i in range(n)) + f"concat=n={n}:v=0:a=1[out]"
    out = folder / (name or f"speech-{language}.m4a")
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph,
                    "-map", "[out]", "-c:a", "aac", "-b:a", "96k", str(out)], check=True)
    for i in range(n):
        (folder / f"{language}-{i}.wav").unlink()
    return Speech(out, language, sentences, spans)


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance between two token lists."""
    row = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hypothesis, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate over CJK characters (punctuation, spaces and Latin ignored)."""
    keep = re.compile(r"[\u4e00-\u9fff]")
    r, h = keep.findall(reference), keep.findall(hypothesis)
    return edit_distance(r, h) / max(1, len(r))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate, case and punctuation ignored."""
    def words(s: str) -> list[str]:
        return re.findall(r"[a-z0-9']+", s.lower())

    r = words(reference)
    return edit_distance(r, words(hypothesis)) / max(1, len(r))
