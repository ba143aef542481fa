from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from vidlake.ffmpeg import FFmpegCancelledError
from vidlake.package import hls
from vidlake.vod.ladder import plan_ladder
from vidlake.vod.probe import probe
from vidlake.vod.transcode import HlsResult, build_transcode_command, transcode_hls

MakeMedia = Callable[[str, list[str]], Path]


def _decode_segment(folder: Path, seg: hls.Segment) -> tuple[int, bool, tuple[int, int] | None, str | None]:
    """(frames decoded, first frame is a keyframe, video size, pix_fmt) for init + one segment."""
    assert seg.init_uri is not None
    data = (folder / seg.init_uri).read_bytes() + (folder / seg.uri).read_bytes()
    frames, first_key, size, pix = 0, False, None, None
    with av.open(io.BytesIO(data), format="mov") as c:
        stream = c.streams[0]
        for frame in c.decode(stream):
            if frames == 0 and isinstance(frame, av.VideoFrame):
                first_key = frame.key_frame
                size, pix = (frame.width, frame.height), frame.format.name
            frames += 1
    return frames, first_key, size, pix


@pytest.fixture(scope="module")
def encoded(landscape_mp4: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[HlsResult, list[float], list[Path]]:
    out = tmp_path_factory.mktemp("hls")
    p = probe(landscape_mp4)
    ladder = plan_ladder(p)
    percents: list[float] = []
    playable: list[Path] = []

    def on_playable(master: Path) -> None:
        # At this moment the master exists and every rung has at least one segment.
        parsed = hls.read(master)
        assert isinstance(parsed, hls.MasterPlaylist) and len(parsed.variants) == 2
        playable.append(master)

    result = transcode_hls(p, ladder, out, preset="ultrafast", threads=2, on_progress=percents.append,
                           on_playable=on_playable)
    return result, percents, playable


def test_command_is_single_process_with_split(landscape_mp4: Path, tmp_path: Path) -> None:
    p = probe(landscape_mp4)
    argv = build_transcode_command(p, plan_ladder(p), tmp_path).argv()
    fc = argv[argv.index("-filter_complex") + 1]
    assert "split=2" in fc and argv.count("-i") == 1
    assert argv[argv.index("-i") - 1] == "mov" and argv[argv.index("-protocol_whitelist") + 1] == "file"
    assert "-sc_threshold" in argv and argv[argv.index("-hls_playlist_type") + 1] == "event"


def test_playlists_are_vod_and_every_segment_decodes(encoded: tuple[HlsResult, list[float], list[Path]]) -> None:
    result = encoded[0]
    for v in (*result.variants, result.audio):
        assert v is not None
        text = v.playlist.read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
        pl = hls.read(v.playlist)
        assert isinstance(pl, hls.MediaPlaylist) and pl.segments
        for seg in pl.segments:
            frames, key, size, pix = _decode_segment(v.playlist.parent, seg)
            assert frames > 0
            if v.width:
                assert key, f"{v.name}/{seg.uri} does not start with a keyframe"
                assert size == (v.width, v.height) and pix == "yuv420p"
                assert frames == round(seg.duration * 25)


def test_keyframes_aligned_across_rungs(encoded: tuple[HlsResult, list[float], list[Path]]) -> None:
    result = encoded[0]
    durations = []
    for v in result.variants:
        pl = hls.read(v.playlist)
        assert isinstance(pl, hls.MediaPlaylist)
        durations.append([s.duration for s in pl.segments])
    assert len(durations) == 2 and durations[0] == durations[1]
    assert durations[0][0] == pytest.approx(2.0)
    assert sum(durations[0]) == pytest.approx(4.0, abs=0.05)


def test_master_attributes(encoded: tuple[HlsResult, list[float], list[Path]]) -> None:
    result = encoded[0]
    master = hls.read(result.master)
    assert isinstance(master, hls.MasterPlaylist)
    assert [r.type for r in master.renditions] == ["AUDIO"]
    audio_pl = result.master.parent / (master.renditions[0].uri or "")
    assert audio_pl.exists()
    assert [v.resolution for v in master.variants] == [(640, 360), (426, 240)]
    for variant in master.variants:
        folder = result.master.parent / Path(variant.uri).parent
        assert variant.average_bandwidth and 0 < variant.average_bandwidth <= variant.bandwidth * 1.05
        assert variant.frame_rate == pytest.approx(25.0)
        assert variant.audio == master.renditions[0].group_id
        assert variant.codecs is not None
        video_codec, audio_codec = variant.codecs.split(",")
        assert audio_codec == "mp4a.40.2"
        # The avc1 string must agree with the encoded stream as PyAV reads it.
        init = next(folder.glob("init*.mp4"))
        with av.open(str(init)) as c:
            cc = c.streams.video[0].codec_context
            ed = cc.extradata  # the avcC record as the demuxer read it
            assert ed is not None and ed[1] in (66, 77, 100)  # ultrafast yields constrained baseline
            assert video_codec == f"avc1.{ed[1]:02x}{ed[2]:02x}{ed[3]:02x}"
        # Measured average bandwidth is close to the file sizes over the duration.
        total_bits = 8 * sum(f.stat().st_size for f in folder.iterdir() if f.suffix in (".m4s", ".mp4"))
        assert variant.average_bandwidth - result.audio.average_bandwidth == pytest.approx(  # type: ignore[union-attr]
            total_bits / 4.0, rel=0.05)


def test_progress_and_playable(encoded: tuple[HlsResult, list[float], list[Path]]) -> None:
    result, percents, playable = encoded
    assert percents and percents[-1] == 100.0
    assert percents == sorted(percents)
    assert playable == [result.master]
    assert result.playable_after_s is not None and result.playable_after_s <= result.wall_s


@pytest.mark.parametrize("fixture_name", ["rotated_mp4", "hdr10_mp4", "interlaced_ts", "odd_mkv"])
def test_difficult_sources(fixture_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    src: Path = request.getfixturevalue(fixture_name)
    p = probe(src)
    ladder = plan_ladder(p)
    result = transcode_hls(p, ladder, tmp_path, preset="ultrafast")
    top = result.variants[0]
    assert (top.width, top.height) == (ladder.rungs[0].width, ladder.rungs[0].height)
    pl = hls.read(top.playlist)
    assert isinstance(pl, hls.MediaPlaylist)
    _frames, key, size, pix = _decode_segment(top.playlist.parent, pl.segments[0])
    assert key and size == (top.width, top.height) and pix == "yuv420p"
    if fixture_name == "rotated_mp4":
        assert top.height > top.width


def test_audio_only(audio_only_m4a: Path, tmp_path: Path) -> None:
    p = probe(audio_only_m4a)
    result = transcode_hls(p, plan_ladder(p), tmp_path)
    master = hls.read(result.master)
    assert isinstance(master, hls.MasterPlaylist)
    assert result.variants == () and result.audio is not None
    assert len(master.variants) == 1 and master.variants[0].codecs == "mp4a.40.2"
    assert master.variants[0].resolution is None and not master.renditions


def test_video_only(video_only_webm: Path, tmp_path: Path) -> None:
    p = probe(video_only_webm)
    result = transcode_hls(p, plan_ladder(p), tmp_path, preset="ultrafast")
    master = hls.read(result.master)
    assert isinstance(master, hls.MasterPlaylist)
    assert result.audio is None and not master.renditions
    assert master.variants[0].codecs is not None and "mp4a" not in master.variants[0].codecs


def test_cancel(landscape_mp4: Path, tmp_path: Path) -> None:
    p = probe(landscape_mp4)
    with pytest.raises(FFmpegCancelledError):
        transcode_hls(p, plan_ladder(p), tmp_path, cancel_check=lambda: True)


def test_variable_frame_rate_becomes_constant(make_media: MakeMedia, tmp_path: Path) -> None:
    """30 fps for 1 s, 15 fps for 2 s, 30 fps for 1 s: the output has 30 fps throughout (120 frames)."""
    src = make_media("vfr.mkv", ["-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=3", "-vf",
                                 "setpts='if(lt(N,30),N/30,if(lt(N,60),1+(N-30)/15,3+(N-60)/30))/TB'",
                                 "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast"])
    p = probe(src)
    assert p.duration_s == pytest.approx(4.0, abs=0.1)
    result = transcode_hls(p, plan_ladder(p), tmp_path, preset="ultrafast")
    top = result.variants[0]
    pl = hls.read(top.playlist)
    assert isinstance(pl, hls.MediaPlaylist)
    counts = [_decode_segment(top.playlist.parent, s)[0] for s in pl.segments]
    assert [s.duration for s in pl.segments] == [2.0, 2.0]
    assert counts == [60, 60]
