"""Subtitle files: SRT/WebVTT parsing, encodings (GBK/GB18030), validation errors that name the line."""

from __future__ import annotations

import codecs

import pytest

from vidlake.speech.subtitles import SubtitleError, check_language, decode, parse

SRT_ZH = """1
00:00:01,000 --> 00:00:03,500
欢迎来到直播间

2
00:00:04,000 --> 00:00:06,000
今天的课程开始了
<i>请认真听讲</i>
"""


def test_srt_in_utf8_and_gbk_gives_the_same_webvtt() -> None:
    utf8 = parse(SRT_ZH.encode())
    gbk = parse(SRT_ZH.replace("\n", "\r\n").encode("gbk"))
    assert (utf8.encoding, gbk.encoding) == ("utf-8", "gb18030")
    assert utf8.to_webvtt() == gbk.to_webvtt()
    vtt = gbk.to_webvtt()
    assert vtt.startswith("WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.500\n欢迎来到直播间\n")
    assert "<i>请认真听讲</i>" in vtt
    assert [c.start for c in gbk.cues] == [1.0, 4.0]


def test_boms_and_gb18030_only_characters() -> None:
    text = "1\n00:00:00,500 --> 00:00:01,000\n𠀀 and 丂\n"  # outside GBK, inside GB18030
    assert decode(text.encode("gb18030"))[0] == text
    assert decode(codecs.BOM_UTF8 + b"WEBVTT\n")[1] == "utf-8-sig"
    assert parse(codecs.BOM_UTF16_LE + SRT_ZH.encode("utf-16-le")).cues[1].lines[0] == "今天的课程开始了"


def test_webvtt_with_notes_styles_and_hourless_times() -> None:
    vtt = ("WEBVTT - lesson\n\nNOTE made by hand\n\nSTYLE\n::cue { color: red }\n\n"
           "intro\n00:01.000 --> 00:02.000 align:start\nHello & <b>bold</b> <script>\n")
    subs = parse(vtt.encode())
    assert subs.format == "webvtt" and len(subs.cues) == 1
    assert subs.cues[0].lines == ("Hello &amp; <b>bold</b> &lt;script&gt;",)


@pytest.mark.parametrize(("text", "message"), [
    ("1\n00:00:01,000 --> 00:00:0x,000\nhi\n", "line 2: broken timestamp"),
    ("1\n00:00:01,000 --> 00:00:02,000\na\n\n2\n00:00:75,000 --> 00:00:76,000\nb\n", "line 6: broken timestamp"),
    ("1\n00:00:03,000 --> 00:00:02,000\nhi\n", "line 2: the cue ends"),
    ("1\n00:00:05,000 --> 00:00:06,000\na\n\n2\n00:00:01,000 --> 00:00:02,000\nb\n", "line 6: cue out of order"),
    ("1\n00:00:01,000 --> 00:00:04,000\na\n\n2\n00:00:03,000 --> 00:00:05,000\nb\n", "line 6: cue overlaps"),
    ("1\nno timing here\nhi\n", "line 2: expected a cue timing"),
    ("WEBVTTX\n\n00:01.000 --> 00:02.000\nx\n", "line 1: a WebVTT file starts with 'WEBVTT'"),
    ("\n\n", "no cue found"),
])
def test_bad_files_name_the_line(text: str, message: str) -> None:
    with pytest.raises(SubtitleError, match=message):
        parse(text.encode())


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    bytes(range(256)) * 4,
    b"1\n00:00:01,000 --> 00:00:02,000\nbell\x07\n",
])
def test_binary_is_not_text(data: bytes) -> None:
    with pytest.raises(SubtitleError, match=r"not|control character"):
        parse(data)


def test_language_must_match_the_script() -> None:
    cues = (f"{i}\n00:00:{i:02d},000 --> 00:00:{i:02d},900\n今天的课程开始了 OK\n\n" for i in range(1, 6))
    zh = parse("".join(cues).encode())
    check_language(zh, "zh-CN")
    with pytest.raises(SubtitleError, match="language_code 'en'"):
        check_language(zh, "en")
    en = parse(b"1\n00:00:01,000 --> 00:00:02,000\nThis is an English subtitle line of some length\n")
    check_language(en, "en-US")
    with pytest.raises(SubtitleError, match="language_code 'zh'"):
        check_language(en, "zh")
