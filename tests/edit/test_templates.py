"""Template substitution: type preserving, inline text, every missing value reported."""

from __future__ import annotations

import json

import pytest
from edit_media import EXAMPLES

from vidlake.edit import Edit, TemplateError, apply_template, placeholders, substitute


def test_whole_value_placeholder_keeps_its_type() -> None:
    out = substitute({"a": "{{n}}", "b": "{{ obj }}", "c": ["{{flag}}"]}, {"n": 2.5, "obj": {"x": 1}, "flag": True})
    assert out == {"a": 2.5, "b": {"x": 1}, "c": [True]}


def test_inline_placeholders_become_text() -> None:
    out = substitute({"t": "Only {{price}} for {{n}} days"}, {"price": "$5", "n": 3})
    assert out == {"t": "Only $5 for 3 days"}


def test_missing_values_are_all_reported_with_paths() -> None:
    with pytest.raises(TemplateError) as info:
        substitute({"a": "{{x}}", "b": [{"c": "hi {{y}}"}], "d": "{{x}}"}, {})
    assert info.value.missing == {"x": ["a", "d"], "y": ["b[0].c"]}
    assert "x (used at a, d)" in str(info.value)


def test_keys_and_non_strings_are_untouched() -> None:
    assert substitute({"{{k}}": 1, "n": None}, {"k": "z"}) == {"{{k}}": 1, "n": None}


def test_placeholders_lists_names() -> None:
    assert placeholders({"a": "{{x}} and {{y}}", "b": ["{{z}}"]}) == {"x", "y", "z"}


@pytest.mark.parametrize("path", sorted((EXAMPLES / "templates").glob("*.json")), ids=lambda p: p.name)
def test_template_files_are_complete(path: object) -> None:
    template = json.loads(path.read_text())  # type: ignore[attr-defined]
    names = placeholders(template["edit"])
    assert names == set(template["placeholders"])  # every placeholder is documented
    assert names <= set(template["example"]) | set(template.get("defaults", {}))
    edit = Edit.model_validate(apply_template(template, template["example"]))
    assert edit.duration() > 0
    with pytest.raises(TemplateError):
        apply_template(template, {})


def test_defaults_fill_in_and_values_win() -> None:
    template = {"defaults": {"c": "#111111"}, "edit": {"bg": "{{c}}", "t": "{{t}}"}}
    assert apply_template(template, {"t": "x"}) == {"bg": "#111111", "t": "x"}
    assert apply_template(template, {"t": "x", "c": "#222222"})["bg"] == "#222222"
