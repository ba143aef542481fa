from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from vidlake.vod.probe import MediaRejected, ProbeLimits, ProbeResult, probe, sniff, validate

MakeMedia = Callable[[str, list[str]], Path]


def test_landscape(landscape_mp4: Path) -> None:
    r = probe(landscape_mp4)
    assert r.demuxer == "mov"
    assert r.duration_s == pytest.approx(4.0, abs=0.1)
    assert r.size_bytes == landscape_mp4.stat().st_size
    assert r.bit_rate and r.bit_rate > 0
    assert r.stream_count == 2
    v = r.video
    assert v is not None
    assert (v.codec, v.width, v.height) == ("h264", 640, 360)
    assert (v.display_width, v.display_height, v.rotation) == (640, 360, 0)
    assert v.avg_frame_rate == pytest.approx(25.0)
    assert v.r_frame_rate == pytest.approx(25.0)
    assert (v.pix_fmt, v.bit_depth, v.interlaced, v.hdr) == ("yuv420p", 8, False, False)
    assert r.audio is not None
    assert (r.audio.codec, r.audio.channels, r.audio.sample_rate) == ("aac", 2, 48000)


def test_rotated_reports_display_size(rotated_mp4: Path) -> None:
    v = probe(rotated_mp4).video
    assert v is not None
    assert (v.width, v.height) == (640, 360)
    assert v.rotation in (90, 270)
    assert (v.display_width, v.display_height) == (360, 640)


def test_portrait(portrait_mp4: Path) -> None:
    v = probe(portrait_mp4).video
    assert v is not None and (v.display_width, v.display_height) == (360, 640)


def test_odd_size_ntsc_rate(odd_mkv: Path) -> None:
    r = probe(odd_mkv)
    assert r.demuxer == "matroska"
    assert r.video is not None and (r.video.width, r.video.height) == (321, 179)
    assert r.video.frame_rate == pytest.approx(29.97, abs=0.01)
    assert r.audio is None


def test_hdr10(hdr10_mp4: Path) -> None:
    v = probe(hdr10_mp4).video
    assert v is not None
    assert v.codec == "hevc" and v.bit_depth == 10
    assert v.color_transfer == "smpte2084" and v.hdr


def test_interlaced(interlaced_ts: Path) -> None:
    r = probe(interlaced_ts)
    assert r.demuxer == "mpegts"
    assert r.video is not None and r.video.interlaced
    assert r.video.field_order in ("tt", "tb", "unknown")


def test_audio_only(audio_only_m4a: Path, audio_only_mp3: Path) -> None:
    a = probe(audio_only_m4a)
    assert a.video is None and a.audio is not None and a.audio.sample_rate == 44100
    m = probe(audio_only_mp3)
    assert m.demuxer == "mp3" and m.video is None and m.audio is not None and m.audio.codec == "mp3"


def test_video_only(video_only_webm: Path) -> None:
    r = probe(video_only_webm)
    assert r.demuxer == "matroska" and r.audio is None
    assert r.video is not None and r.video.codec == "vp9"


# --- hostile input -------------------------------------------------------------------------------

def _reject(path: Path, limits: ProbeLimits | None = None) -> MediaRejected:
    with pytest.raises(MediaRejected) as info:
        probe(path, limits)
    assert str(info.value)  # a human message
    return info.value


def test_text_renamed_mp4(tmp_path: Path) -> None:
    p = tmp_path / "notes.mp4"
    p.write_text("Dear diary,\nthis is not a video.\n")
    assert _reject(p).reason == "not_media"


def test_random_bytes(tmp_path: Path) -> None:
    p = tmp_path / "noise.mp4"
    p.write_bytes(bytes((i * 7919 + 13) % 251 for i in range(20000)))
    assert _reject(p).reason in ("not_media", "unsupported_container")


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    assert _reject(p).reason == "empty"


def test_m3u8_referencing_local_file(tmp_path: Path) -> None:
    p = tmp_path / "video.mp4"
    p.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
    assert _reject(p).reason == "playlist"


def test_ffconcat_list(tmp_path: Path, landscape_mp4: Path) -> None:
    p = tmp_path / "list.mp4"
    p.write_text(f"ffconcat version 1.0\nfile '{landscape_mp4}'\nfile 'file:///etc/passwd'\n")
    assert _reject(p).reason == "playlist"


def test_text_with_url(tmp_path: Path) -> None:
    p = tmp_path / "x.mkv"
    p.write_text("http://169.254.169.254/latest/meta-data\n")
    assert _reject(p).reason == "playlist"


def test_truncated_moov_at_end(tmp_path: Path, landscape_mp4: Path) -> None:
    data = landscape_mp4.read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: len(data) // 2])
    assert _reject(p).reason in ("not_media", "unsupported_container", "undecodable", "probe_failed")


def test_truncated_faststart(tmp_path: Path, faststart_mp4: Path) -> None:
    data = faststart_mp4.read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: int(len(data) * 0.6)])
    assert _reject(p).reason == "truncated"


def test_no_audio_or_video_streams(tmp_path: Path, make_media: MakeMedia) -> None:
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n")
    p = make_media("subs_only.mkv", ["-i", str(srt), "-c:s", "srt"])
    assert _reject(p).reason == "no_streams"


def test_forged_huge_dimensions(tmp_path: Path, make_media: MakeMedia) -> None:
    """A Matroska header claiming 65535x65535 raw video is refused without decoding a frame."""
    raw = make_media("raw256.mkv", ["-f", "lavfi", "-i", "testsrc2=s=256x256:r=5:d=1", "-c:v", "rawvideo",
                                    "-pix_fmt", "yuv420p"])
    data = bytearray(raw.read_bytes())
    w = data.find(b"\xb0\x82\x01\x00")  # PixelWidth = 256 (2-byte EBML uint)
    h = data.find(b"\xba\x82\x01\x00")  # PixelHeight = 256
    assert w > 0 and h > 0
    data[w : w + 4] = b"\xb0\x82\xff\xff"
    data[h : h + 4] = b"\xba\x82\xff\xff"
    p = tmp_path / "huge.mkv"
    p.write_bytes(bytes(data))
    assert _reject(p).reason in ("too_many_pixels", "undecodable")


def test_pixel_limit_message(landscape_mp4: Path) -> None:
    err = _reject(landscape_mp4, ProbeLimits(max_pixels=320 * 180))
    assert err.reason == "too_many_pixels" and "640x360" in str(err)


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        (ProbeLimits(max_bytes=1000), "too_large"),
        (ProbeLimits(max_duration_s=1.0), "too_long"),
        (ProbeLimits(max_streams=1), "too_many_streams"),
    ],
)
def test_limits(landscape_mp4: Path, limits: ProbeLimits, reason: str) -> None:
    assert _reject(landscape_mp4, limits).reason == reason


def test_probe_time_limit(landscape_mp4: Path) -> None:
    assert _reject(landscape_mp4, ProbeLimits(timeout_s=0.001)).reason == "probe_timeout"


def test_validate_without_streams(landscape_mp4: Path) -> None:
    r: ProbeResult = probe(landscape_mp4)
    with pytest.raises(MediaRejected) as info:
        validate(dataclasses.replace(r, video=None, audio=None), ProbeLimits())
    assert info.value.reason == "no_streams"


@pytest.mark.parametrize(
    "head",
    [b"#EXTM3U\n", b"\xef\xbb\xbf#EXTM3U\n", b"ffconcat version 1.0\n", b"file 'a.mp4'\n",
     b"<?xml version='1.0'?><MPD>", b"just words\n"],
)
def test_sniff_refuses_text(head: bytes) -> None:
    with pytest.raises(MediaRejected):
        sniff(head)


def test_sniff_accepts_binary(landscape_mp4: Path) -> None:
    sniff(landscape_mp4.read_bytes()[:4096])
