"""The ``caption`` asset: inline cues and text tracks burned in with drawtext, validation of cues."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from edit_media import Media, frame_at
from PIL import Image, ImageDraw, ImageFont

from vidlake.edit import RenderResult, Resolver, SourceInfo, compile_edit, find_errors, render, validate_edit
from vidlake.edit.captions_burn import MAX_CUES, CueError, parse_cues
from vidlake.edit.filters import escape_value
from vidlake.edit.fonts import font_path

W, H = 640, 360
VTT = """WEBVTT

NOTE made by hand

c1
00:00:00.000 --> 00:00:01.000 align:center
<v Teacher>欢迎来到 <b>直播间</b></v>

00:01.000 --> 00:02.000
Hello &amp; 世界
"""


def _doc(asset: dict[str, Any], length: float = 2, **clip: Any) -> dict[str, Any]:
    return {"timeline": {"background": "#404040", "tracks": [
        {"clips": [{"asset": {"type": "caption", **asset}, "start": 0, "length": length, **clip}]}]},
        "output": {"resolution": {"width": W, "height": H}, "fps": 10}}


def _no_sources(src: str) -> SourceInfo:
    raise KeyError(src)


def _render(doc: dict[str, Any], out: Path, resolver: Resolver = _no_sources) -> RenderResult:
    return render(validate_edit(doc, resolver), out, timeout_s=60)


def _errors(doc: dict[str, Any], resolver: Any = None) -> list[str]:
    return [str(e) for e in find_errors(doc, resolver)[2]]


def _white(frame: np.ndarray) -> np.ndarray:
    return frame.astype(float).min(axis=2) > 200


def _reference(text: str, size: int) -> np.ndarray:
    image = Image.new("L", (W * 2, H), 0)
    font = ImageFont.truetype(str(font_path("sans-sc")), size, layout_engine=ImageFont.Layout.RAQM)
    ImageDraw.Draw(image).text((4, 4), text, fill=255, font=font)
    return np.asarray(image) > 128


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    assert len(xs), "nothing drawn"
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_bad_cues_name_the_field() -> None:
    cues = [{"start": 0, "end": 1, "text": "一"}, {"start": 2, "end": 2, "text": "二"},
            {"start": 2, "end": 3, "text": "  "}, {"start": 2.5, "end": 4, "text": "四"}]
    where = "timeline.tracks[0].clips[0]"
    assert _errors(_doc({"cues": cues}, length=5)) == [
        f"{where}.asset.cues[1].end: must be after start (2 s), got 2 s",
        f"{where}.asset.cues[2].text: must not be blank",
        f"{where}.asset.cues[3].start: 2.5 s is before the end of cue [2] (3 s); cues must be in time order "
        "and not overlap",
    ]
    many = [{"start": i, "end": i + 0.5, "text": "x"} for i in range(MAX_CUES + 1)]
    assert _errors(_doc({"cues": many}, length=5)) == [f"{where}.asset.cues: {MAX_CUES + 1} cues is above the "
                                                       f"limit {MAX_CUES}"]
    long_text = _errors(_doc({"cues": [{"start": 0, "end": 1, "text": "长" * 501}]}))
    assert long_text == [f"{where}.asset.cues[0].text: String should have at most 500 characters"]
    assert _errors(_doc({})) == [f"{where}.asset: needs either cues or src (an asset with a text track)"]
    assert _errors(_doc({"cues": [{"start": 0, "end": 1, "text": "a"}], "track_id": "t1"})) == [
        f"{where}.asset.track_id: applies only with src"]
    assert _errors(_doc({"cues": [{"start": 0, "end": 1, "text": "a"}]}, position="top")) == [
        f"{where}.position: does not apply to a caption clip (see asset.style)"]
    assert _errors(_doc({"cues": [{"start": 0, "end": 1, "text": "a 😀"}]})) == [
        f"{where}.asset.cues[0].text: has characters no bundled font can draw: '😀' (U+1F600)"]
    assert _errors(_doc({"cues": [{"start": 0, "end": 1, "text": "a"}], "style": {"position": "left"}}))[0] \
        .startswith(f"{where}.asset.style.position: must be one of")


def test_webvtt_and_srt_are_read() -> None:
    cues = parse_cues(VTT)
    assert [(c.start, c.end, c.text) for c in cues] == [(0.0, 1.0, "欢迎来到 直播间"), (1.0, 2.0, "Hello & 世界")]
    srt = "1\r\n00:00:01,500 --> 00:00:02,250\r\n第一行\r\n第二行\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nx\r\n"
    assert [(c.start, c.end, c.text) for c in parse_cues(srt)] == [(1.5, 2.25, "第一行\n第二行"), (3.0, 4.0, "x")]
    with pytest.raises(CueError, match=r"line 3: '00:00:xx\.000' is not a timestamp"):
        parse_cues("WEBVTT\n\n00:00:xx.000 --> 00:00:01.000\nhi\n")


def test_cues_show_at_their_times_with_outline_and_box(tmp_path: Path) -> None:
    cues = [{"start": 0.0, "end": 0.8, "text": "双十一大促"}, {"start": 1.2, "end": 2.0, "text": "春节快乐啊"}]
    out = tmp_path / "c.mp4"
    _render(_doc({"cues": cues, "style": {"size": 48, "outline": 4}}), out)
    first, gap, second = (frame_at(out, t) for t in (0.4, 1.0, 1.6))
    assert not _white(gap).any()  # no cue between 0.8 and 1.2 s
    m1, m2 = _white(first), _white(second)
    x0, y0, x1, y1 = _bbox(m1)
    ref = _bbox(_reference("双十一大促", 48))
    assert abs((x1 - x0) - (ref[2] - ref[0])) <= 2 and abs((y1 - y0) - (ref[3] - ref[1])) <= 2
    assert abs((x0 + x1) / 2 - W / 2) <= 3  # centred
    assert H - 40 - 60 < y1 <= H - 40  # bottom, inside the 40 px margin
    assert (m1 ^ m2).sum() > 0.5 * m1.sum()  # a different cue, different glyphs
    dark = first.astype(float).max(axis=2) < 30  # the black outline around the white glyphs (grey background)
    assert dark[y0 - 4: y1 + 5, x0 - 4: x1 + 5].sum() > 0.5 * m1.sum()
    assert not dark[:y0 - 10].any()

    boxed = tmp_path / "b.mp4"
    _render(_doc({"cues": cues[:1], "style": {"size": 48, "outline": 0, "background": "#000000",
                                              "padding": 12, "position": "top", "margin": 20}}), boxed)
    frame = frame_at(boxed, 0.4)
    bx0, by0, bx1, by1 = _bbox(frame.astype(float).max(axis=2) < 30)
    tx0, ty0, tx1, ty1 = _bbox(_white(frame))
    assert abs(by0 - (20 - 12)) <= 2  # at the top: the box starts one padding above the 20 px margin
    assert min(tx0 - bx0, bx1 - tx1, ty0 - by0, by1 - ty1) >= 10  # padding around the text on every side


def test_long_cjk_cues_wrap_inside_max_width(tmp_path: Path) -> None:
    text = "欢迎来到直播间，今天我们一起学习机器学习入门课程。双十一 Sale 50%！"
    out = tmp_path / "w.mp4"
    _render(_doc({"cues": [{"start": 0, "end": 1, "text": text}], "style": {"size": 32, "max_width": 320}},
                 length=1), out)
    mask = _white(frame_at(out, 0.5))
    x0, _, x1, _ = _bbox(mask)
    assert 260 <= x1 - x0 + 1 <= 320
    rows = mask.any(axis=1).astype(int)
    assert int((np.diff(rows) == 1).sum()) >= 2  # at least three lines


def test_cues_from_a_text_track_with_trim(media: Media, tmp_path: Path) -> None:
    asked: list[str] = []

    def resolve(src: str) -> SourceInfo:
        asked.append(src)
        if src == "asset:lecture/text/lang:zh":
            return SourceInfo(path=src, duration_s=None, has_video=False, has_audio=False, text=VTT)
        if src == "asset:broken/text/":
            return SourceInfo(path=src, duration_s=None, has_video=False, has_audio=False,
                              text="WEBVTT\n\n00:00:01.000 --> 00:00:00.500\nbackwards\n")
        return media.resolver()(src)

    doc = _doc({"src": "asset:lecture", "language_code": "zh", "trim": 1.0, "style": {"size": 40}}, length=1)
    doc["timeline"]["tracks"].append({"clips": [{"asset": {"type": "video", "src": "asset:blue"}, "start": 0,
                                                 "length": 1}]})
    out = tmp_path / "track.mp4"
    result = _render(doc, out, resolve)
    assert "asset:lecture/text/lang:zh" in asked
    (script,) = result.compiled.files.values()  # the cues go to sendcmd in a file, not in the graph
    assert "欢迎" not in script  # the first cue ends where the trim does
    assert "0-1 [enter] drawtext@cap" in script and "Hello & 世界" in script.replace("\\", "")  # now at 0 s
    assert _white(frame_at(out, 0.5)).sum() > 200

    broken = _doc({"src": "asset:broken"})
    assert _errors(broken, resolve) == ["timeline.tracks[0].clips[0].asset.src: text track of 'asset:broken': "
                                        "cues[0].end: must be after start (1 s), got 0.5 s"]
    assert _errors(_doc({"src": "asset:blue", "track_id": "t9"}), resolve)[0].startswith(
        "timeline.tracks[0].clips[0].asset.src: cannot use source 'asset:blue/text/t9'")


def test_back_to_back_cues_switch_on_the_frame(tmp_path: Path) -> None:
    """One drawtext per clip, switched by sendcmd: the frame at a shared boundary shows the next cue only."""
    cues = [{"start": 0.0, "end": 0.5, "text": "第一句"}, {"start": 0.5, "end": 1.0, "text": "Second 第二句"}]
    out = tmp_path / "b2b.mp4"
    result = _render(_doc({"cues": cues}, length=1), out)
    assert result.compiled.video_graph.count("drawtext@") == 1
    first, boundary, later = (_white(frame_at(out, t)) for t in (0.2, 0.5, 0.8))
    assert boundary.sum() > 100 and (boundary ^ later).sum() < 0.05 * later.sum()
    assert (boundary ^ first).sum() > 0.5 * first.sum()


def test_cue_text_with_sendcmd_and_graph_specials_is_drawn_exactly(tmp_path: Path) -> None:
    text = "50% off: it's [new], a;b \\ c #1 {x}"
    out = tmp_path / "special.mp4"
    _render(_doc({"cues": [{"start": 0, "end": 1, "text": text}], "style": {"size": 30, "outline": 0}}, length=1), out)
    x0, y0, x1, y1 = _bbox(_white(frame_at(out, 0.5)))
    image = Image.new("L", (W * 2, H), 0)
    font = ImageFont.truetype(str(font_path("sans")), 30, layout_engine=ImageFont.Layout.RAQM)
    ImageDraw.Draw(image).text((4, 4), text, fill=255, font=font)
    rx0, ry0, rx1, ry1 = _bbox(np.asarray(image) > 200)
    assert abs((x1 - x0) - (rx1 - rx0)) <= 2 and abs((y1 - y0) - (ry1 - ry0)) <= 2


def test_sendcmd_scripts_are_vidlake_paths_beside_the_output_and_removed(tmp_path: Path) -> None:
    """The only files the command reads besides its hardened inputs are the sendcmd scripts (a filter
    option: the inputs' protocol whitelist does not cover it), so their paths come from the output path
    alone, never from the document, and they are gone once the render ends."""
    out = tmp_path / "a dir" / "it's.mp4"  # graph specials in the path itself
    out.parent.mkdir()

    def doc(text: str) -> dict[str, Any]:
        d = _doc({"cues": [{"start": 0, "end": 1, "text": text}], "style": {"size": 30}}, length=1)
        d["timeline"]["tracks"].append({"clips": [{"asset": {"type": "caption", "cues": [
            {"start": 5, "end": 6, "text": "never shown"}]}, "start": 0, "length": 1}]})  # no cue inside
        return d

    hostile = "/etc/passwd', sendcmd=f=/etc/hostname [x]"
    compiled = compile_edit(validate_edit(doc(hostile), _no_sources), out)
    assert list(compiled.files) == list(compile_edit(validate_edit(doc("二"), _no_sources), out).files)
    (script,) = compiled.files  # the clip with no cue in its window draws nothing and needs no file
    assert Path(script).parent == out.parent and Path(script).name.startswith("it's.cap")
    assert Path(script).name.endswith(".sendcmd")
    assert compiled.video_graph.count(f"sendcmd=f={escape_value(script)},") == 1
    result = _render(doc(hostile), out)
    assert result.out_path.stat().st_size > 0 and _white(frame_at(out, 0.5)).sum() > 100
    assert sorted(p.name for p in out.parent.iterdir()) == ["it's.mp4"]  # the script was removed
