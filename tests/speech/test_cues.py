"""Cue layout without the engine: CJK and Latin line widths, sentence splits, WebVTT text."""

from __future__ import annotations

import itertools
import re

from vidlake.speech.cues import (
    CJK_LINE_CHARS,
    LATIN_LINE_CHARS,
    MAX_CUE_S,
    Transcript,
    Word,
    join,
    to_cues,
    to_webvtt,
    width,
    wrap,
)


def test_join_spaces_latin_words_only() -> None:
    assert join(["Hello", "world", "."]) == "Hello world."
    assert join(["双十一", "Sale", "50%", "，", "快来", "！"]) == "双十一Sale 50%，快来！"
    assert join(["今天", "我们"]) == "今天我们"


def test_cjk_lines_hold_sixteen_characters() -> None:
    text = "今天我们来学习新的课程内容欢迎大家参加双十一活动"  # 24 characters
    lines = wrap(text)
    assert len(lines) == 2 and all(len(line) <= CJK_LINE_CHARS for line in lines)
    assert "".join(lines) == text
    assert abs(len(lines[0]) - len(lines[1])) <= 1  # balanced


def test_latin_words_are_not_broken_and_punctuation_never_starts_a_line() -> None:
    text = "欢迎来到Vidlake直播间，今天的主题是Kubernetes部署，请大家认真听讲。"
    lines = wrap(text)
    assert all(width(line) <= 1.0 for line in lines)
    assert "Vidlake" in "".join(lines) and "Kubernetes" in "".join(lines)
    assert not any(line[0] in "，。" for line in lines)
    latin = "word " * 20
    assert all(len(line) <= LATIN_LINE_CHARS for line in wrap(latin))


def test_sentence_end_starts_a_new_cue() -> None:
    words = [Word("好的。", 0.0, 0.5), Word("我们", 0.6, 0.9), Word("开始", 0.9, 1.2), Word("吧。", 1.2, 1.4)]
    cues = to_cues(Transcript(words=words, duration_s=3.0, language="zh"))
    assert [c.lines for c in cues] == [("好的。",), ("我们开始吧。",)]
    assert cues[0].end <= cues[1].start


def test_long_run_is_wrapped_and_cut() -> None:
    words = [Word(f"word{i:02d}", i * 0.3, i * 0.3 + 0.25) for i in range(40)]
    cues = to_cues(Transcript(words=words, duration_s=12.5))
    assert len(cues) > 2
    assert [w for c in cues for line in c.lines for w in line.split()] == [w.text for w in words]
    for cue in cues:
        assert len(cue.lines) <= 2 and all(len(line) <= LATIN_LINE_CHARS for line in cue.lines)
        assert cue.end - cue.start <= MAX_CUE_S
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))


def test_long_chinese_run_is_cut_into_two_line_cues() -> None:
    chars = "我们今天继续讲解上一节课没有讲完的内容大家可以打开课本第三十二页一起来看这道例题"
    words = [Word(ch, i * 0.2, i * 0.2 + 0.18) for i, ch in enumerate(chars)]
    cues = to_cues(Transcript(words=words, duration_s=10.0, language="zh"))
    assert "".join("".join(c.lines) for c in cues) == chars
    assert all(len(c.lines) <= 2 and all(len(line) <= CJK_LINE_CHARS for line in c.lines) for c in cues)


def test_webvtt_format() -> None:
    words = [Word(w, 0.5 + i * 0.4, 0.8 + i * 0.4) for i, w in enumerate(["tom", "&", "jerry", "<3", "cheese"])]
    words += [Word("later", 10.0, 10.4)]
    vtt = to_webvtt(Transcript(words=words, duration_s=12.0))
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.500 --> 00:00:02.400\n")
    assert "tom &amp; jerry &lt;3 cheese\n" in vtt
    assert "\n2\n00:00:10.000 --> 00:00:11.000\nlater\n" in vtt  # short cue held for 1 s
    for stamp in re.findall(r"(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)", vtt):
        assert stamp[0] < stamp[1]
