"""Validation: every kind of error, reported at its field path, all at once."""

from __future__ import annotations

from typing import Any

import pytest
from edit_media import Media

from vidlake.edit import EditValidationError, Limits, edit_json_schema, find_errors, validate_edit


def doc(*clips: dict[str, Any], output: dict[str, Any] | None = None, **timeline: Any) -> dict[str, Any]:
    return {"timeline": {"tracks": [{"clips": list(clips)}], **timeline},
            "output": output or {"resolution": "360p"}}


def video(src: str = "asset:red", start: float = 0, length: float = 2, **more: Any) -> dict[str, Any]:
    asset = {"type": "video", "src": src, **more.pop("asset", {})}
    return {"asset": asset, "start": start, "length": length, **more}


def messages(data: dict[str, Any], media: Media | None = None, limits: Limits | None = None) -> list[str]:
    _, _, errors = find_errors(data, media.resolver() if media else None, limits)
    return [str(e) for e in errors]


def test_valid_document_resolves_sources(media: Media) -> None:
    validated = validate_edit(doc(video(), video("asset:green", 2, 2)), media.resolver())
    assert set(validated.sources) == {"asset:red", "asset:green"}
    assert validated.edit.duration() == 4


def test_negative_start_points_at_the_field() -> None:
    errs = messages({"timeline": {"tracks": [{"clips": [video()]},
                                             {"clips": [video(), video(), video(), video(start=-1)]}]}})
    assert errs == ["timeline.tracks[1].clips[3].start: must be >= 0"]


def test_structure_errors_are_all_reported() -> None:
    bad = doc(
        video(length=0),
        {"asset": {"type": "video", "src": "ftp://x", "bogus": 1}, "start": 0, "length": 1},
        {"asset": {"type": "text", "text": "hi", "style": {"color": "red"}}, "start": 0, "length": 1,
         "transition": {"in": "spin"}},
        {"asset": {"type": "sticker"}, "start": 0, "length": 1},
    )
    errs = messages(bad)
    assert "timeline.tracks[0].clips[0].length: must be > 0" in errs
    assert "timeline.tracks[0].clips[1].asset.bogus: is not a known field" in errs
    assert "timeline.tracks[0].clips[1].asset.src: must be asset:<id>, live:<id> or an https:// URL" in errs
    assert "timeline.tracks[0].clips[2].asset.style.color: must be a colour like #rrggbb or #rrggbbaa" in errs
    assert any(e.startswith("timeline.tracks[0].clips[2].transition.in: must be one of") for e in errs)
    assert any(e.startswith("timeline.tracks[0].clips[3].asset: type must be one of") for e in errs)


def test_unknown_asset_and_other_environment(media: Media) -> None:
    errs = messages(doc(video("asset:nope"), video("https://example.com/a.mp4", 2)), media)
    assert errs[0].startswith("timeline.tracks[0].clips[0].asset.src: cannot use source 'asset:nope'")
    assert "unknown asset id" in errs[0]
    assert errs[1].startswith("timeline.tracks[0].clips[1].asset.src: cannot use source 'https://")


def test_clip_past_the_end_of_its_source(media: Media) -> None:
    # red.mp4 lasts 4 s: trim 1 + 2 s x speed 2 = 5 s
    errs = messages(doc(video(length=2, speed=2, asset={"trim": 1})), media)
    assert len(errs) == 1
    assert errs[0].startswith("timeline.tracks[0].clips[0].length: runs past the end of its source")
    assert "5 s > source duration 4" in errs[0]
    assert messages(doc(video(length=3, asset={"trim": 1})), media) == []


def test_wrong_kind_of_source(media: Media) -> None:
    errs = messages(doc(video("asset:music"), {"asset": {"type": "audio", "src": "asset:logo"},
                                               "start": 0, "length": 1}), media)
    assert "timeline.tracks[0].clips[0].asset.src: source 'asset:music' has no picture" in errs
    assert "timeline.tracks[0].clips[1].asset.src: source 'asset:logo' has no audio" in errs


def test_output_limits() -> None:
    limits = Limits(max_width=1280, max_height=720, max_duration_s=10, max_fps=30, max_clips=3)
    errs = messages(doc(video(length=11), video(), video(), video(),
                        output={"resolution": "1080p", "fps": 60}), limits=limits)
    assert "output.resolution: width 1920 px is above the limit 1280" in errs
    assert "output.resolution: height 1080 px is above the limit 720" in errs
    assert "output.fps: 60 is above the limit 30" in errs
    assert "timeline: lasts 11 s, above the limit 10 s" in errs
    assert "timeline.tracks: 4 clips is above the limit 3" in errs
    odd = messages(doc(video(), output={"resolution": {"width": 641, "height": 360}}))
    assert odd == ["output.resolution: width and height must be even, got 641x360"]


def test_overlaps_and_transitions() -> None:
    errs = messages(doc(
        video(start=0, length=2),
        video(start=0.5, length=1),  # overlap 1.5 s >= this clip's 1 s
        video(start=4, length=1, transition={"in": "fade", "out": "fade", "duration": 0.6}),
    ))
    assert any(e.startswith("timeline.tracks[0].clips[1].start: overlaps clip [0]") for e in errs)
    assert "timeline.tracks[0].clips[2].transition.duration: 2 x 0.6 s of transitions do not fit in the " \
           "clip's 1 s" in errs
    three = messages(doc(video(start=0, length=3), video(start=2, length=3), video(start=2.5, length=3)))
    assert any("overlaps two earlier clips" in e for e in three)


def test_kind_specific_fields() -> None:
    errs = messages(doc(
        video(),
        {"asset": {"type": "audio", "src": "asset:tone"}, "start": 0, "length": 1, "filter": "blur"},
        {"asset": {"type": "text", "text": "   "}, "start": 0, "length": 1, "effect": "zoomIn"},
    ))
    assert "timeline.tracks[0].clips[1].filter: does not apply to an audio clip" in errs
    assert "timeline.tracks[0].clips[2].effect: does not apply to a text clip" in errs
    assert "timeline.tracks[0].clips[2].asset.text: must not be blank" in errs


def test_soundtrack_checks(media: Media) -> None:
    errs = messages(doc(video(), soundtrack={"src": "asset:logo", "fade_in": 2, "fade_out": 1}), media)
    assert "timeline.soundtrack.fade_out: fade_in + fade_out exceed the timeline's 2 s" in errs
    assert "timeline.soundtrack.src: source 'asset:logo' has no audio" in errs


def test_needs_a_visual_clip() -> None:
    errs = messages(doc({"asset": {"type": "audio", "src": "asset:tone"}, "start": 0, "length": 1}))
    assert errs == ["timeline.tracks: needs at least one visual clip (video, image, text, color, caption)"]


def test_validate_edit_raises_with_every_error(media: Media) -> None:
    with pytest.raises(EditValidationError) as info:
        validate_edit(doc(video(start=-1), video("asset:nope", 3)), media.resolver())
    assert [e.path for e in info.value.errors] == ["timeline.tracks[0].clips[0].start"]
    with pytest.raises(EditValidationError) as info:
        validate_edit(doc(video(length=9), video("asset:nope", 9)), media.resolver())
    paths = [e.path for e in info.value.errors]
    assert paths == ["timeline.tracks[0].clips[0].length", "timeline.tracks[0].clips[1].asset.src"]
    assert "timeline.tracks[0].clips[1].asset.src" in str(info.value)


def test_json_schema_exports_aliases_and_defaults() -> None:
    schema = edit_json_schema()
    assert "in" in schema["$defs"]["Transition"]["properties"]
    assert schema["$defs"]["Clip"]["properties"]["fit"]["default"] == "crop"
    assert "seconds" in schema["$defs"]["Clip"]["properties"]["start"]["description"]


def color(**more: Any) -> dict[str, Any]:
    return {"asset": {"type": "color", "color": "#336699"}, "start": 0, "length": 2, **more}


def test_scaled_layers_are_bounded_before_ffmpeg_starts() -> None:
    """The outside test's document: a 1600x1600 output with one colour clip at scale 10 asked ffmpeg for a
    16000x16000 layer (1.65 GB for two frames). It is now a 400 naming the clip's scale."""
    square = {"resolution": {"width": 1600, "height": 1600}}
    errs = messages(doc(color(scale=10), output=square))
    assert any(e.startswith("timeline.tracks[0].clips[0].scale: makes a layer of 256000000 pixels") for e in errs)
    assert messages(doc(color(scale=2), output=square)) == []  # 3200x3200 is within one layer's bound
    three = {"timeline": {"tracks": [{"clips": [color(scale=10)]} for _ in range(3)]}, "output": square}
    assert {e.split(":")[0] for e in messages(three)} >= {
        f"timeline.tracks[{i}].clips[0].scale" for i in range(3)} | {"timeline.tracks"}


def test_total_layer_pixels_frames_and_text_size_are_bounded(media: Media) -> None:
    limits = Limits(max_total_layer_pixels=3 * 640 * 360, max_frames=100, max_text_px=200)
    many = doc(*[color(start=i, length=1) for i in range(4)], output={"resolution": "360p"})
    assert any(e.startswith("timeline.tracks: the clips' layers") for e in messages(many, limits=limits))
    long = doc(color(length=5), output={"resolution": "360p", "fps": 30})
    assert "output.fps: 5 s at 30 fps is 150 frames, above the limit of 100" in messages(long, limits=limits)
    text = {"asset": {"type": "text", "text": "big", "style": {"size": 100}}, "start": 0, "length": 1, "scale": 3}
    assert "timeline.tracks[0].clips[0].scale: text of size 100 at scale 3 is 300 px, above the limit 200" in \
        messages(doc(text, color(start=1, length=1)), limits=limits)
    # fit "none" depends on the source's own size: bounded once the source is resolved
    big = video(fit="none", scale=10)
    assert messages(doc(big), media, Limits(max_layer_pixels=320 * 180 * 10)) != []
    assert messages(doc(big), media, Limits(max_layer_pixels=320 * 180 * 100)) == []


def test_video_clips_count_their_decoders(media: Media) -> None:
    """Clips of a video also hold decoded source frames: the budget admits fewer of them than colours."""
    clips = [video(start=i * 0.1, length=0.1) for i in range(10)]
    colours = [color(start=i * 0.1, length=0.1) for i in range(10)]
    out = {"resolution": {"width": 320, "height": 180}}
    budget = Limits(max_total_layer_pixels=320 * 180 * 20)
    assert messages(doc(*colours, output=out), media, budget) == []
    assert any(e.startswith("timeline.tracks: the clips'") for e in messages(doc(*clips, output=out), media, budget))
