"""Planning the rendition ladder from a probe result (pure).

The tier of a rung is its *short* side (a 1080x1920 portrait video is "1080p"), so portrait and
landscape get the same treatment. Nothing is upscaled; dimensions are even; the top rung is the
source size capped by ``max_resolution_tier``; lower rungs are the standard tiers below it.
Bitrates are in bits per second and target ~30 fps; above 34 fps they are raised by half.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from vidlake.vod.probe import ProbeResult

MaxTier = Literal["1080p", "1440p", "2160p"]

#: (short side in pixels, video bits per second at ~30 fps), highest first.
DEFAULT_TIERS: tuple[tuple[int, int], ...] = (
    (2160, 14_000_000),
    (1440, 8_000_000),
    (1080, 5_000_000),
    (720, 3_000_000),
    (480, 1_200_000),
    (360, 800_000),
    (240, 400_000),
)
TIER_SHORT_SIDE: dict[str, int] = {"1080p": 1080, "1440p": 1440, "2160p": 2160}
HIGH_FPS_FACTOR = 1.5
MAXRATE_FACTOR = 1.25
BUFSIZE_FACTOR = 2.0
#: Lower rungs closer than this fraction to the rung above are skipped (no near-duplicates).
MIN_STEP = 0.85
STANDARD_RATES: tuple[Fraction, ...] = (
    Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
    Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60),
)
MAX_FPS = 60.0


@dataclass(frozen=True)
class Rung:
    """One video rendition. ``width``/``height`` pixels (even); ``video_bitrate``, ``maxrate``
    (VBV peak) and ``bufsize`` (VBV buffer) in bits; ``audio_bitrate`` bits per second of the audio
    served with it (0 for video-only)."""

    name: str
    width: int
    height: int
    video_bitrate: int
    maxrate: int
    bufsize: int
    audio_bitrate: int

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)


@dataclass(frozen=True)
class AudioPlan:
    """The single AAC-LC audio rendition: ``bitrate`` bits per second, ``sample_rate`` Hz."""

    bitrate: int
    channels: int
    sample_rate: int
    name: str = "audio"


@dataclass(frozen=True)
class Ladder:
    """The plan for one asset. ``frame_rate`` frames per second (exact fraction) of every rung,
    ``gop_frames`` frames per keyframe interval, ``segment_s`` the HLS segment length in seconds."""

    rungs: tuple[Rung, ...]
    audio: AudioPlan | None
    frame_rate: Fraction | None
    gop_frames: int
    segment_s: float

    @property
    def top(self) -> Rung | None:
        return self.rungs[0] if self.rungs else None


def even(value: float) -> int:
    """The even integer at or below ``value`` (never upscales), at least 2."""
    return max(2, int(value + 1e-6) // 2 * 2)


def output_frame_rate(fps: float | None) -> Fraction:
    """The constant output rate for a source rate (fps): snapped to a standard rate within 0.5 %,
    halved while above 60, 30 when unknown."""
    if not fps or fps <= 0:
        return Fraction(30)
    while fps > MAX_FPS + 0.5:
        fps /= 2
    nearest = min(STANDARD_RATES, key=lambda std: abs(fps - float(std)))
    if abs(fps - float(nearest)) / float(nearest) < 0.005:
        return nearest
    return Fraction(round(fps * 1000), 1000)


def _bitrate_for(short_side: int, fps: float, tiers: tuple[tuple[int, int], ...]) -> int:
    exact = dict(tiers)
    if short_side in exact:
        base = exact[short_side]
    else:
        # Scale from the nearest tier by (pixel ratio) ** 0.75 = (short-side ratio) ** 1.5.
        ref_short, ref_rate = min(tiers, key=lambda t: abs(t[0] - short_side))
        base = int(ref_rate * (short_side / ref_short) ** 1.5)
    if fps > 34:
        base = int(base * HIGH_FPS_FACTOR)
    return max(100_000, base)


def plan_ladder(
    probe: ProbeResult,
    *,
    max_resolution_tier: MaxTier = "1080p",
    tiers: tuple[tuple[int, int], ...] = DEFAULT_TIERS,
    segment_s: float = 2.0,
    audio_bitrate: int = 128_000,
) -> Ladder:
    """Plan the renditions for ``probe``.

    ``max_resolution_tier`` caps the short side of the top rung; ``segment_s`` is the target segment
    and keyframe interval in seconds; ``audio_bitrate`` bits per second for stereo (mono gets half).
    """
    if max_resolution_tier not in TIER_SHORT_SIDE:
        raise ValueError(f"max_resolution_tier must be one of {sorted(TIER_SHORT_SIDE)}")
    audio = None
    if probe.audio is not None:
        channels = 1 if probe.audio.channels == 1 else 2
        rate = 44100 if probe.audio.sample_rate == 44100 else 48000
        audio = AudioPlan(bitrate=audio_bitrate if channels == 2 else audio_bitrate // 2,
                          channels=channels, sample_rate=rate)
    a_bps = audio.bitrate if audio else 0

    v = probe.video
    if v is None:
        return Ladder(rungs=(), audio=audio, frame_rate=None, gop_frames=0, segment_s=segment_s)

    fps = output_frame_rate(v.frame_rate)
    gop = max(1, round(segment_s * fps))
    dw, dh = v.display_width, v.display_height
    portrait = dh > dw
    src_short, src_long = (dw, dh) if portrait else (dh, dw)
    aspect = src_long / src_short
    cap = TIER_SHORT_SIDE[max_resolution_tier]
    top_short = min(src_short, cap)

    shorts = [top_short]
    for tier_short, _ in sorted(tiers, reverse=True):
        if tier_short < top_short * MIN_STEP and tier_short <= shorts[-1] * MIN_STEP:
            shorts.append(tier_short)

    rungs: list[Rung] = []
    seen: set[tuple[int, int]] = set()
    for short in shorts:
        s_even = even(short)
        long_even = min(even(short * aspect), even(src_long))
        w, h = (s_even, long_even) if portrait else (long_even, s_even)
        if (w, h) in seen:
            continue
        seen.add((w, h))
        bps = _bitrate_for(short, float(fps), tiers)
        rungs.append(Rung(
            name=f"{short}p", width=w, height=h, video_bitrate=bps,
            maxrate=int(bps * MAXRATE_FACTOR), bufsize=int(bps * BUFSIZE_FACTOR), audio_bitrate=a_bps,
        ))
    return Ladder(rungs=tuple(rungs), audio=audio, frame_rate=fps, gop_frames=gop,
                  segment_s=gop / float(fps))
