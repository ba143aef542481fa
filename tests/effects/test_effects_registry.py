"""The effects list: every problem is a 400 naming the field; stages order the chain."""

from __future__ import annotations

import pytest

from vidlake.effects import EffectsInvalid, Stage, build, effect_types, parse_effects, to_json


def messages(data: object, **kw: bool) -> list[str]:
    with pytest.raises(EffectsInvalid) as info:
        parse_effects(data, **kw)
    assert info.value.status_code == 400
    return info.value.messages


def test_every_problem_names_its_field() -> None:
    errs = messages([{"type": "denoise", "strength": 2}, {"type": "sparkle"}, {"type": "sharpen", "size": 4},
                     {"type": "background", "mode": "paint"}, {"type": "face_blur", "colour": "#fff"}, 7])
    assert errs == [
        "effects[0].strength: must be <= 1",
        f"effects[1].type: must be one of {', '.join(effect_types())}",
        "effects[2].size: must be an odd number of pixels",
        "effects[3].mode: must be one of 'blur' or 'replace'",
        "effects[4].colour: is not a known field",
        "effects[5]: must be an object with a type",
    ]


def test_field_prefix_and_list_shape() -> None:
    assert messages({"type": "denoise"}) == ["effects: must be a list of effects"]
    assert messages([{"type": "denoise", "strength": -1}]) == ["effects[0].strength: must be >= 0"]
    with pytest.raises(EffectsInvalid) as info:
        parse_effects([{"type": "lut"}], field="timeline.tracks[0].clips[1].effects")
    assert info.value.messages == ["timeline.tracks[0].clips[1].effects[0].cube: is required"]


def test_stabilize_refused_on_live() -> None:
    assert messages([{"type": "stabilize"}], live=True) == ["effects[0].type: stabilize cannot run on a live stream"]
    assert parse_effects([{"type": "stabilize"}])


def test_src_must_be_an_asset_or_https() -> None:
    errs = messages([{"type": "background", "mode": "replace", "src": "file:///etc/passwd"}])
    assert errs[0].startswith("effects[0].src: ")


def test_build_orders_by_stage_keeping_request_order() -> None:
    params = parse_effects([{"type": "sharpen"}, {"type": "face_blur"}, {"type": "denoise"},
                            {"type": "background"}, {"type": "auto_color"}])
    names = [e.name for e in build(params)]
    assert names == ["denoise", "auto_color", "face_blur", "background", "sharpen"]
    assert [int(e.stage) for e in build(params)] == sorted(int(e.stage) for e in build(params))
    assert Stage.CLEANUP < Stage.FINISH
    assert to_json(params)[0] == {"type": "sharpen", "amount": 0.8, "size": 5}
