"""The in-process passthrough rung: FLV made by ffmpeg → :class:`Segmenter` → MPEG-TS segments that ffmpeg
decodes without an error, with continuous timestamps and durations that match the media."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.live import mpegts
from vidlake.live.rtmp import flv
from vidlake.live.segmenter import Segmenter

FPS = 30
GOP = 30  # a keyframe every second
SECONDS = 4


def _make_flv(path: Path, *, video: bool, audio: bool) -> Path:
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    if video:
        argv += ["-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={FPS}"]
    if audio:
        argv += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
    argv += ["-t", str(SECONDS)]
    if video:  # the default preset makes B-frames: PTS != DTS
        argv += ["-c:v", "libx264", "-g", str(GOP), "-pix_fmt", "yuv420p"]
    if audio:
        argv += ["-c:a", "aac", "-b:a", "64k"]
    subprocess.run([*argv, "-f", "flv", str(path)], check=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def flvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("flv")
    return {"av": _make_flv(root / "av.flv", video=True, audio=True),
            "video": _make_flv(root / "video.flv", video=True, audio=False),
            "audio": _make_flv(root / "audio.flv", video=False, audio=True)}


@dataclass
class Result:
    out: Path
    segments: list[tuple[str, float]]
    dropped: int


def _segment(source: Path, out: Path, target_s: float = 1.0, *, chunked: int = 0) -> Result:
    """Run ``source`` through a Segmenter (``chunked``: through FlvStreamReader in slices of that size)."""
    found: list[tuple[str, float]] = []
    seg = Segmenter(out, target_s, lambda name, d: found.append((name, d)))
    data = source.read_bytes()
    if chunked:
        reader = flv.FlvStreamReader()
        for i in range(0, len(data), chunked):
            for tag in reader.feed(data[i:i + chunked]):
                seg.feed(tag)
    else:
        for tag in flv.read_tags(data):
            seg.feed(tag)
    seg.close()
    return Result(out, found, seg.dropped)


def _ffmpeg_errors(path: Path) -> str:
    r = subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-i", str(path), "-f", "null", "-"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stderr


def _packets(path: Path, kind: str) -> list[tuple[int, int, bool]]:
    """(pts, dts, keyframe) of every packet of the first ``kind`` stream, in 90 kHz ticks."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0] if kind == "video" else c.streams.audio[0]
        return [(int(p.pts), int(p.dts), bool(p.is_keyframe)) for p in c.demux(stream)
                if p.dts is not None and p.pts is not None]


def _source_counts(source: Path) -> tuple[int, int]:
    """(video frames, audio frames) of the source FLV."""
    v = a = 0
    for tag in flv.read_tags(source.read_bytes()):
        if tag.tag_type == flv.TAG_VIDEO and tag.data[1] == 1:
            v += 1
        elif tag.tag_type == flv.TAG_AUDIO and tag.data[1] == 1:
            a += 1
    return v, a


@pytest.mark.parametrize("kind", ["av", "video", "audio"])
def test_segments_decode_with_continuous_timestamps(flvs: dict[str, Path], tmp_path: Path, kind: str) -> None:
    source = flvs[kind]
    res = _segment(source, tmp_path / "out")
    names = [n for n, _ in res.segments]
    assert names == [f"{i:05d}.ts" for i in range(len(names))] and len(names) == SECONDS
    assert sorted(p.name for p in res.out.iterdir()) == names  # no temporary file left behind
    durations = [d for _, d in res.segments]
    assert all(abs(d - 1.0) <= 0.03 for d in durations[:-1]), durations  # cut on the 1 s keyframes
    # The last one runs to the end of the last frame (the AAC encoder's padding may end a frame later).
    assert 0.97 <= durations[-1] <= 1.1, durations
    has_video, has_audio = kind != "audio", kind != "video"
    for name in names:
        path = res.out / name
        assert _ffmpeg_errors(path) == ""
        data = path.read_bytes()
        assert len(data) % 188 == 0 and data[0] == 0x47 and data[1] & 0x1F == 0  # starts with the PAT
        with av.open(str(path)) as c:
            assert (len(c.streams.video), len(c.streams.audio)) == (int(has_video), int(has_audio))
        if has_video:
            assert _packets(path, "video")[0][2], f"{name} does not start with a keyframe"
    # Timestamps run on from segment to segment, and each segment starts where the previous one's
    # duration says it ends.
    track = "video" if has_video else "audio"
    per_seg = [_packets(res.out / n, track) for n in names]
    step = 90_000 // FPS if has_video else round(1024 * 90_000 / 44_100)
    for k in range(1, len(per_seg)):
        prev_dts = max(dts for _, dts, _ in per_seg[k - 1])
        first_dts = min(dts for _, dts, _ in per_seg[k])
        assert abs(first_dts - prev_dts - step) <= 90, (k, prev_dts, first_dts)
        start_gap = first_dts - min(dts for _, dts, _ in per_seg[k - 1])
        assert abs(start_gap - durations[k - 1] * 90_000) <= 90
    # Every frame of the source is in the segments (ffmpeg's FLV starts with a keyframe).
    whole = tmp_path / "whole.ts"
    whole.write_bytes(b"".join((res.out / n).read_bytes() for n in names))
    assert _ffmpeg_errors(whole) == ""
    src_video, src_audio = _source_counts(source)
    if has_video:
        assert len(_packets(whole, "video")) == src_video == FPS * SECONDS
        with av.open(str(whole)) as c:
            frames = sum(1 for _ in c.decode(video=0))
        assert frames == src_video
    if has_audio:
        audio = _packets(whole, "audio")
        assert src_video == 0 or len(audio) >= src_audio - 3  # a/v: audio before the first keyframe drops
        if not has_video:
            assert len(audio) == src_audio
    assert res.dropped <= 3


def test_b_frames_keep_presentation_order(flvs: dict[str, Path], tmp_path: Path) -> None:
    res = _segment(flvs["video"], tmp_path / "out")
    packets = _packets(res.out / res.segments[1][0], "video")
    assert any(pts != dts for pts, dts, _ in packets)  # reordered frames: PTS carried apart from DTS
    assert all(pts >= dts for pts, dts, _ in packets)
    with av.open(str(res.out / res.segments[1][0])) as c:
        shown = [int(f.pts or 0) for f in c.decode(video=0)]
    assert shown == sorted(shown) and len(set(shown)) == GOP


def test_continuity_counters_run_across_segments(flvs: dict[str, Path], tmp_path: Path) -> None:
    res = _segment(flvs["av"], tmp_path / "out", chunked=1000)  # fed through the incremental FLV reader
    data = b"".join((res.out / n).read_bytes() for n, _ in res.segments)
    last: dict[int, int] = {}
    pcrs = 0
    for off in range(0, len(data), 188):
        pkt = data[off:off + 188]
        assert pkt[0] == 0x47
        pid, afc, cc = ((pkt[1] & 0x1F) << 8) | pkt[2], (pkt[3] >> 4) & 3, pkt[3] & 0x0F
        if afc & 2 and pkt[4] and pkt[5] & 0x10:
            pcrs += 1
            assert pid == mpegts.VIDEO_PID
        if afc & 1:
            if pid in last:
                assert cc == (last[pid] + 1) & 0x0F, (off // 188, pid)
            last[pid] = cc
    assert set(last) == {0, mpegts.PMT_PID, mpegts.VIDEO_PID, mpegts.AUDIO_PID}
    assert pcrs >= FPS * SECONDS  # one PCR per video frame


def test_longer_target_cuts_on_later_keyframes(flvs: dict[str, Path], tmp_path: Path) -> None:
    res = _segment(flvs["av"], tmp_path / "out", target_s=2.0)
    assert [round(d, 1) for _, d in res.segments][:1] == [2.0] and len(res.segments) == 2


def test_flv_stream_reader_matches_read_tags(flvs: dict[str, Path]) -> None:
    data = flvs["av"].read_bytes()
    reader = flv.FlvStreamReader()
    got = []
    for i in range(0, len(data), 7):
        got += reader.feed(data[i:i + 7])
    assert got == list(flv.read_tags(data))
    with pytest.raises(flv.RtmpProtocolError):
        flv.FlvStreamReader().feed(b"NOT AN FLV STREAM")


def test_crc_and_codec_configs() -> None:
    assert mpegts.crc32_mpeg2(b"123456789") == 0x0376E6E7  # the CRC-32/MPEG-2 check value
    aac = mpegts.AacConfig.parse(bytes((0x12, 0x10)))  # AAC LC, 44.1 kHz, stereo
    assert (aac.profile, aac.sampling_index, aac.channel_config) == (1, 4, 2)
    assert aac.adts_header(100) == bytes((0xFF, 0xF1, 0x50, 0x80, 0x0D, 0x7F, 0xFC))
    he = mpegts.AacConfig.parse(bytes((0x2B, 0x11, 0x88, 0x00)))  # HE-AAC (type 5), 24 kHz core, stereo
    assert (he.profile, he.sampling_index, he.channel_config) == (1, 6, 2)
    sps, pps = b"\x67\x42\xc0\x1e\xaa", b"\x68\xce\x3c\x80"
    record = bytes((1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1)) + len(sps).to_bytes(2, "big") + sps + b"\x01" + \
        len(pps).to_bytes(2, "big") + pps
    config = mpegts.AvcConfig.parse(record)
    assert config == mpegts.AvcConfig(4, (sps,), (pps,))
    idr, sei = b"\x65\x88\x84\x00", b"\x06\x05\x01\x00"
    avcc = b"".join(len(n).to_bytes(4, "big") + n for n in (sei, idr))
    start = mpegts.START_CODE
    assert mpegts.avcc_to_annexb(avcc, config, keyframe=True) == \
        mpegts.AUD + start + sps + start + pps + start + sei + start + idr
    p_slice = b"\x41\x9a\x00"
    assert mpegts.avcc_to_annexb(len(p_slice).to_bytes(4, "big") + p_slice, config, keyframe=False) == \
        mpegts.AUD + start + p_slice
    with pytest.raises(ValueError):
        mpegts.avcc_to_annexb(b"\x00\x00\x00\x09\x65", config, keyframe=False)
