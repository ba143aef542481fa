from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from vidlake.vod.ladder import DEFAULT_TIERS, even, output_frame_rate, plan_ladder
from vidlake.vod.probe import AudioInfo, ProbeResult, VideoInfo


def make_probe(
    width: int | None = 1920,
    height: int | None = 1080,
    *,
    rotation: int = 0,
    fps: float = 30.0,
    audio: bool = True,
    channels: int = 2,
    sample_rate: int = 48000,
) -> ProbeResult:
    video = None
    if width and height:
        dw, dh = (height, width) if rotation in (90, 270) else (width, height)
        video = VideoInfo(codec="h264", width=width, height=height, display_width=dw, display_height=dh,
                          rotation=rotation, avg_frame_rate=fps, r_frame_rate=fps, pix_fmt="yuv420p",
                          bit_depth=8, color_transfer=None, color_primaries=None, field_order="progressive",
                          interlaced=False)
    a = AudioInfo(codec="aac", channels=channels, sample_rate=sample_rate) if audio else None
    return ProbeResult(path=Path("x.mp4"), format_name="mov,mp4", demuxer="mov", duration_s=10.0,
                       size_bytes=1, bit_rate=1, stream_count=2, video=video, audio=a)


def sizes(probe: ProbeResult, **kw: object) -> list[tuple[int, int]]:
    return [(r.width, r.height) for r in plan_ladder(probe, **kw).rungs]  # type: ignore[arg-type]


def test_1080p_default_ladder() -> None:
    ladder = plan_ladder(make_probe())
    assert [r.name for r in ladder.rungs] == ["1080p", "720p", "480p", "360p", "240p"]
    assert sizes(make_probe()) == [(1920, 1080), (1280, 720), (852, 480), (640, 360), (426, 240)]
    tiers = dict(DEFAULT_TIERS)
    for r in ladder.rungs:
        assert r.video_bitrate == tiers[r.short_side]
        assert r.video_bitrate < r.maxrate < r.bufsize
        assert r.audio_bitrate == 128_000
    assert ladder.audio is not None and (ladder.audio.channels, ladder.audio.sample_rate) == (2, 48000)
    assert ladder.frame_rate == Fraction(30) and ladder.gop_frames == 60 and ladder.segment_s == 2.0


def test_bitrates_decrease_down_the_ladder() -> None:
    rates = [r.video_bitrate for r in plan_ladder(make_probe(3840, 2160), max_resolution_tier="2160p").rungs]
    assert rates == sorted(rates, reverse=True) and len(set(rates)) == len(rates)


@pytest.mark.parametrize(("tier", "top"), [("1080p", (1920, 1080)), ("1440p", (2560, 1440)),
                                           ("2160p", (3840, 2160))])
def test_max_resolution_tier_caps_4k(tier: str, top: tuple[int, int]) -> None:
    assert sizes(make_probe(3840, 2160), max_resolution_tier=tier)[0] == top


def test_unknown_tier_refused() -> None:
    with pytest.raises(ValueError):
        plan_ladder(make_probe(), max_resolution_tier="720p")  # type: ignore[arg-type]


def test_never_upscales() -> None:
    for w, h in [(640, 360), (854, 480), (1000, 562), (320, 180)]:
        for rw, rh in sizes(make_probe(w, h)):
            assert rw <= w and rh <= h


def test_small_source_single_rung() -> None:
    assert sizes(make_probe(320, 180)) == [(320, 180)]


def test_non_standard_top_rung_then_tiers() -> None:
    ladder = plan_ladder(make_probe(1000, 600))
    assert ladder.rungs[0].name == "600p" and (ladder.rungs[0].width, ladder.rungs[0].height) == (1000, 600)
    assert [r.name for r in ladder.rungs[1:]] == ["480p", "360p", "240p"]
    assert 1_200_000 < ladder.rungs[0].video_bitrate < 3_000_000


def test_portrait_uses_short_side() -> None:
    ladder = plan_ladder(make_probe(1080, 1920))
    assert [r.name for r in ladder.rungs][:2] == ["1080p", "720p"]
    assert sizes(make_probe(1080, 1920))[:2] == [(1080, 1920), (720, 1280)]


def test_rotation_swaps_to_display_orientation() -> None:
    assert sizes(make_probe(1920, 1080, rotation=90))[0] == (1080, 1920)


def test_odd_dimensions_become_even() -> None:
    for w, h in sizes(make_probe(321, 179)) + sizes(make_probe(1279, 719)):
        assert w % 2 == 0 and h % 2 == 0
    assert sizes(make_probe(321, 179))[0] == (320, 178)


def test_audio_only() -> None:
    ladder = plan_ladder(make_probe(None, None))
    assert ladder.rungs == () and ladder.top is None and ladder.audio is not None


def test_video_only() -> None:
    ladder = plan_ladder(make_probe(audio=False))
    assert ladder.audio is None and all(r.audio_bitrate == 0 for r in ladder.rungs)


def test_mono_audio_gets_half_bitrate_and_odd_rates_resample() -> None:
    ladder = plan_ladder(make_probe(channels=1, sample_rate=22050))
    assert ladder.audio is not None
    assert (ladder.audio.channels, ladder.audio.bitrate, ladder.audio.sample_rate) == (1, 64_000, 48000)


def test_high_frame_rate_raises_bitrate() -> None:
    low = plan_ladder(make_probe(fps=30)).rungs[0].video_bitrate
    high = plan_ladder(make_probe(fps=60)).rungs[0].video_bitrate
    assert high > low


@pytest.mark.parametrize(
    ("fps", "expected"),
    [(29.97, Fraction(30000, 1001)), (23.976, Fraction(24000, 1001)), (25.0, Fraction(25)),
     (120.0, Fraction(60)), (59.94, Fraction(60000, 1001)), (None, Fraction(30)), (15.0, Fraction(15)),
     (12.5, Fraction(25, 2))],
)
def test_output_frame_rate(fps: float | None, expected: Fraction) -> None:
    assert output_frame_rate(fps) == expected


def test_gop_matches_segment_for_ntsc() -> None:
    ladder = plan_ladder(make_probe(fps=29.97))
    assert ladder.gop_frames == 60
    assert ladder.segment_s == pytest.approx(60 * 1001 / 30000)


def test_even() -> None:
    assert [even(x) for x in (0, 1, 2, 3, 853.3, 1080)] == [2, 2, 2, 2, 852, 1080]
