"""FLV writer/reader and tag-body parsing, checked against ffmpeg's own FLV and PyAV."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import av
import pytest

from vidlake.live.rtmp import flv
from vidlake.live.rtmp.errors import RtmpProtocolError


def test_header_bytes() -> None:
    assert flv.header() == b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00"
    assert flv.header(audio=False)[4] == 0x01
    assert flv.header(video=False)[4] == 0x04


def test_tag_layout_with_timestamp_extension() -> None:
    data = flv.tag(9, 0x12345678, b"abc")
    assert data[0] == 9
    assert data[1:4] == b"\x00\x00\x03"
    assert data[4:7] == b"\x34\x56\x78" and data[7] == 0x12
    assert data[8:11] == b"\x00\x00\x00"
    assert data[11:14] == b"abc"
    assert data[14:] == struct.pack(">I", 14)
    (tag,) = flv.read_tags(data, with_header=False)
    assert tag == flv.FlvTag(9, 0x12345678, b"abc")


def test_ffmpeg_flv_tags_parse(sample_flv: Path, sample_spec: Any) -> None:
    tags = list(flv.read_tags(sample_flv.read_bytes()))
    video = [t for t in tags if t.tag_type == flv.TAG_VIDEO]
    audio = [t for t in tags if t.tag_type == flv.TAG_AUDIO]
    assert tags[0].tag_type == flv.TAG_SCRIPT
    vinfo = [flv.parse_video(t.data) for t in video]
    assert vinfo[0].sequence_header and vinfo[0].codec == "h264" and vinfo[0].keyframe
    assert vinfo[0].codec_string is not None and vinfo[0].codec_string.startswith("avc1.")
    assert vinfo[-1].end_of_sequence  # ffmpeg closes the stream with an AVC end-of-sequence tag
    frames = [v for v in vinfo if not (v.sequence_header or v.end_of_sequence)]
    assert len(frames) == sample_spec.frames
    assert sum(v.keyframe for v in frames) == sample_spec.frames // sample_spec.gop
    ainfo = [flv.parse_audio(t.data) for t in audio]
    assert ainfo[0].sequence_header and ainfo[0].codec == "aac"
    assert ainfo[0].sample_rate == 44100 and ainfo[0].channels == 2
    assert not any(a.sequence_header for a in ainfo[1:])


def test_rewritten_flv_decodes_with_pyav(sample_flv: Path, sample_spec: Any, tmp_path: Path) -> None:
    tags = list(flv.read_tags(sample_flv.read_bytes()))
    out = tmp_path / "rewritten.flv"
    out.write_bytes(flv.header() + b"".join(flv.tag(t.tag_type, t.timestamp_ms, t.data) for t in tags))
    with av.open(str(out)) as container:
        kinds = sorted(s.type for s in container.streams)
        assert kinds == ["audio", "video"]
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == sample_spec.frames


def test_enhanced_rtmp_video() -> None:
    # IsExHeader | keyframe<<4 | SequenceStart, FourCC hvc1
    seq = flv.parse_video(bytes((0x80 | 0x10 | 0,)) + b"hvc1" + b"\x01\x02")
    assert seq.enhanced and seq.codec == "hevc" and seq.keyframe and seq.sequence_header
    frame = flv.parse_video(bytes((0x80 | 0x20 | 1,)) + b"hvc1" + b"\xff\xff\xfe" + b"nal")
    assert frame.codec == "hevc" and not frame.keyframe and frame.composition_time_ms == -2
    av1 = flv.parse_video(bytes((0x80 | 0x10 | 3,)) + b"av01" + b"obu")
    assert av1.codec == "av1" and av1.keyframe and not av1.sequence_header


def test_legacy_avc_nalu_composition_time() -> None:
    info = flv.parse_video(b"\x27\x01\x00\x00\x50" + b"nal")
    assert info.codec == "h264" and not info.keyframe and info.composition_time_ms == 80


def test_enhanced_audio_and_mp3() -> None:
    opus = flv.parse_audio(bytes((0x90,)) + b"Opus" + b"head")
    assert opus.codec == "opus" and opus.sequence_header and opus.enhanced
    mp3 = flv.parse_audio(bytes((0x2F,)) + b"frame")
    assert mp3.codec == "mp3" and mp3.sample_rate == 44100 and mp3.channels == 2


@pytest.mark.parametrize(
    ("fn", "body"),
    [
        (flv.parse_video, b""),
        (flv.parse_video, b"\x17\x00"),
        (flv.parse_video, b"\x90hv"),
        (flv.parse_audio, b""),
        (flv.parse_audio, b"\xaf"),
        (flv.parse_audio, b"\x90Op"),
    ],
)
def test_truncated_bodies_raise(fn: object, body: bytes) -> None:
    with pytest.raises(RtmpProtocolError):
        fn(body)  # type: ignore[operator]


def test_read_tags_truncated_and_not_flv() -> None:
    with pytest.raises(RtmpProtocolError):
        list(flv.read_tags(b"NOTFLV" + bytes(20)))
    data = flv.header() + flv.tag(9, 0, b"x" * 10)
    with pytest.raises(RtmpProtocolError):
        list(flv.read_tags(data[:-3]))


def test_split_aggregate_rebases_timestamps() -> None:
    body = flv.tag(9, 5000, b"v1") + flv.tag(8, 5010, b"a1") + flv.tag(9, 5040, b"v2")
    subs = flv.split_aggregate(body, 100)
    assert [(s.tag_type, s.timestamp_ms, s.data) for s in subs] == [(9, 100, b"v1"), (8, 110, b"a1"), (9, 140, b"v2")]
