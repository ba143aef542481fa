"""Line breaking and face choice (no ffmpeg): CJK between characters with kinsoku, Latin at spaces."""

from __future__ import annotations

import pytest

from vidlake.edit.text_layout import NO_END, NO_START, face_for, layout_text, measure, missing_characters, wrap

ZH = "欢迎来到直播间，今天我们一起学习机器学习入门课程。老师说：「请大家认真听讲！」（下课后提问）"


@pytest.mark.parametrize("limit", [120, 150, 200, 260, 333])
def test_cjk_wraps_inside_the_width_with_kinsoku(limit: int) -> None:
    lines = wrap(ZH, "sans-sc", 24, limit)
    assert "".join(lines) == ZH  # nothing lost, nothing added
    assert len(lines) > 1
    for n, line in enumerate(lines):
        assert measure(line, "sans-sc", 24) <= limit
        assert line[0] not in NO_START, (n, line)
        assert line[-1] not in NO_END, (n, line)


@pytest.mark.parametrize("limit", [110, 140, 200, 300])
def test_latin_words_are_never_split(limit: int) -> None:
    text = "双十一 Sale 50%，限时抢购 iPhone15 Pro Max 只要 4999 元！Welcome everyone"
    lines = wrap(text, "sans-sc", 24, limit)
    assert len(lines) > 1
    for line in lines:
        assert measure(line, "sans-sc", 24) <= limit
        assert line == line.strip()  # spaces at a break are dropped
    for word in ("Sale", "50%，", "iPhone15", "Pro", "Max", "4999", "Welcome", "everyone"):
        assert any(word in line for line in lines), (word, lines)


def test_breaks_between_cjk_and_latin_without_spaces() -> None:
    lines = wrap("限时抢购Sale", "sans-sc", 24, measure("限时抢购", "sans-sc", 24) + 1)
    assert lines == ["限时抢购", "Sale"]


def test_korean_breaks_at_spaces() -> None:
    lines = wrap("안녕하세요 여러분 반갑습니다", "sans-kr", 24, measure("안녕하세요 여러", "sans-kr", 24))
    assert lines == ["안녕하세요", "여러분", "반갑습니다"]


def test_a_word_wider_than_the_limit_breaks_between_characters() -> None:
    lines = wrap("Supercalifragilistic", "sans", 24, 80)
    assert "".join(lines) == "Supercalifragilistic" and len(lines) > 1
    assert all(measure(line, "sans", 24) <= 80 for line in lines)


def test_newlines_and_no_limit() -> None:
    assert wrap("第一行\n第二行", "sans-sc", 24, None) == ["第一行", "第二行"]
    assert wrap("第一行\n\n第三行", "sans-sc", 24, 1000) == ["第一行", "", "第三行"]


def test_face_choice_and_coverage() -> None:
    assert face_for("sans", "Hello, world! 50% €") == "sans"
    assert face_for("sans", "Hello 世界") == "sans-sc"
    assert face_for("sans-black", "大促") == "sans-sc-bold"
    assert face_for("sans-jp", "大促") == "sans-jp"
    assert missing_characters("sans", "双十一 Sale 50%") == []
    assert missing_characters("sans", "Sale 😀") == ["😀"]
    block = layout_text("双十一 Sale 50%", "sans", 30, None)
    assert block.face == "sans-sc" and block.lines == ("双十一 Sale 50%",)
    assert block.font_file.suffix == ".otf" and block.width_px == pytest.approx(measure(block.text, "sans-sc", 30))
