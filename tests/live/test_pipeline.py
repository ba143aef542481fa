"""The live pipeline without a server: the ffmpeg command on a real FLV file, the latency modes, and the
live/VOD playlists written from a session's segments (window, discontinuities)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import pytest
from pydantic import ValidationError

from vidlake.api.schemas.live import LiveStreamCreate
from vidlake.ffmpeg import ffmpeg_exe
from vidlake.live import pipeline
from vidlake.live.session import LiveSession, SegmentEntry, write_media_playlists
from vidlake.live.stats import health_public
from vidlake.package import hls


@pytest.fixture(scope="module")
def flv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flv") / "in.flv"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine", "-t", "3", "-c:v", "libx264",
                    "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-f", "flv", str(path)], check=True)
    return path


def test_latency_modes() -> None:
    assert [pipeline.plan(m).segment_s for m in ("standard", "reduced", "low")] == [6.0, 2.0, 1.0]
    assert pipeline.plan("low").window_segments == 30 and pipeline.plan("standard").window_segments == 5
    with pytest.raises(ValueError):
        pipeline.plan("ultra")


def test_pipeline_makes_decodable_ladder(flv: Path, tmp_path: Path) -> None:
    live_plan = pipeline.plan("low")
    argv = pipeline.build_argv(live_plan, tmp_path, 0, preset="ultrafast")
    with flv.open("rb") as stdin:
        subprocess.run(argv, stdin=stdin, check=True, timeout=60)
    heights = []
    for i in range(live_plan.variant_count):
        playlist = hls.read(tmp_path / pipeline.variant_dir(0, i) / "index.m3u8")
        assert isinstance(playlist, hls.MediaPlaylist) and len(playlist.segments) >= 3
        assert all(s.duration <= 1.5 for s in playlist.segments)
        for seg in playlist.segments:
            with av.open(str(tmp_path / pipeline.variant_dir(0, i) / seg.uri)) as c:
                frames = [f for f in c.decode(video=0)]
                assert frames
                heights.append(frames[0].height)
    assert set(heights) == {180}  # the 360p rung is capped at the source height
    assert not (tmp_path / "thumbnail.jpg").exists()  # live thumbnails come from segments, not from here
    last = tmp_path / pipeline.variant_dir(0, 0) / playlist_segments(tmp_path)[-1]
    subprocess.run(pipeline.thumbnail_argv(last, tmp_path / "thumbnail.jpg"), check=True, timeout=30)
    with av.open(str(tmp_path / "thumbnail.jpg")) as c:
        frame = next(c.decode(video=0))
        assert (frame.width, frame.height) == (320, 180)


def playlist_segments(root: Path) -> list[str]:
    playlist = hls.read(root / pipeline.variant_dir(0, 0) / "index.m3u8")
    assert isinstance(playlist, hls.MediaPlaylist)
    return [s.uri for s in playlist.segments]


def test_passthrough_rung_is_not_reencoded() -> None:
    argv = pipeline.build_argv(pipeline.plan("standard"), Path("/tmp/x-never-used"), 3, ffmpeg="ffmpeg")
    first_output = argv.index("-f", argv.index("pipe:0"))
    assert argv[argv.index("pipe:0") + 1:first_output][-2:] == ["-c", "copy"]
    assert "/tmp/x-never-used/run3/v0/index.m3u8" in argv


def _session(root: Path, runs: list[int]) -> LiveSession:
    from vidlake.package.publish import HlsPublisher
    from vidlake.storage.local import LocalStorage

    live_plan = pipeline.plan("standard")  # window of 5 segments
    live = LiveSession(stream_id="s", environment_id="e", stream_key="k", prefix="p", root=root, plan=live_plan,
                       asset_id=None, publisher=HlsPublisher(root, LocalStorage(root / "store"), "p"),
                       segments=[[] for _ in range(live_plan.variant_count)])
    for i in range(live_plan.variant_count):
        n = 0
        for run, count in enumerate(runs):
            for k in range(count):
                live.segments[i].append(SegmentEntry(f"run{run}/v{i}/{k:05d}.ts", 6.0, k == 0 and run > 0))
                n += 1
    return live


def test_live_window_and_discontinuity_sequence(tmp_path: Path) -> None:
    live = _session(tmp_path, [3, 4, 2])  # 9 segments, discontinuities before #3 and #7
    write_media_playlists(live, final=False)
    text = (tmp_path / "v0.m3u8").read_text()
    media = hls.parse(text)
    assert isinstance(media, hls.MediaPlaylist)
    assert [s.uri for s in media.segments] == ["run1/v0/00001.ts", "run1/v0/00002.ts", "run1/v0/00003.ts",
                                               "run2/v0/00000.ts", "run2/v0/00001.ts"]
    assert media.media_sequence == 4 and not media.endlist
    # The discontinuity that slid out of the window is counted by the discontinuity sequence.
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:1" in text and text.count("#EXT-X-DISCONTINUITY\n") == 1
    assert [k for k, s in enumerate(media.segments) if s.discontinuity] == [3]
    write_media_playlists(live, final=True)
    vod = hls.parse((tmp_path / "v1.m3u8").read_text())
    assert isinstance(vod, hls.MediaPlaylist) and vod.endlist and vod.playlist_type == "VOD"
    assert len(vod.segments) == 9 and [k for k, s in enumerate(vod.segments) if s.discontinuity] == [3, 7]


def test_create_request_validation() -> None:
    body = LiveStreamCreate.model_validate({"playback_policy": "public", "low_latency": True,
                                           "new_asset_settings": {"playback_policy": ["public"]}})
    req = body.service_request()
    assert req["latency_mode"] == "low" and req["reconnect_window"] == 60.0
    assert req["playback_policy"] == ["public"] and req["new_asset_settings"]["playback_policy"] == ["public"]
    assert LiveStreamCreate.model_validate({}).service_request()["new_asset_settings"] is None
    for bad in ({"reconnect_window": 1801}, {"reconnect_window": -1}, {"latency_mode": "ultra"},
                {"simulcast_targets": [{"url": "http://x/y"}]}, {"unknown": 1}):
        with pytest.raises(ValidationError):
            LiveStreamCreate.model_validate(bad)


def test_health_without_stats() -> None:
    assert health_public(None, connected=False) == {"connected": False}


def test_pipeline_reads_mpegts_for_every_rung(flv: Path, tmp_path: Path) -> None:
    """SRT ingest feeds MPEG-TS: ffmpeg then writes every rung, the passthrough one as ``-c copy``."""
    ts = tmp_path / "in.ts"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(flv), "-c", "copy", "-f", "mpegts",
                    str(ts)], check=True, timeout=60)
    live_plan = pipeline.plan("low")
    argv = pipeline.build_argv(live_plan, tmp_path / "out", 0, preset="ultrafast", input_format="mpegts")
    assert argv[argv.index("pipe:0") - 2:argv.index("pipe:0") + 1] == ["mpegts", "-i", "pipe:0"]
    with ts.open("rb") as stdin:
        subprocess.run(argv, stdin=stdin, check=True, timeout=60)
    for i in range(live_plan.variant_count):
        playlist = hls.read(tmp_path / "out" / pipeline.variant_dir(0, i) / "index.m3u8")
        assert isinstance(playlist, hls.MediaPlaylist) and len(playlist.segments) >= 3


def test_transcode_only_argv_leaves_rung_0_out(tmp_path: Path) -> None:
    argv = pipeline.build_argv(pipeline.plan("low"), tmp_path, 2, ffmpeg="ffmpeg", passthrough=False)
    assert str(tmp_path / "run2/v1/index.m3u8") in argv and str(tmp_path / "run2/v0/index.m3u8") not in argv
    assert argv.count("-c") == 0 and "libx264" in argv and not (tmp_path / "run2/v0").exists()
    with pytest.raises(ValueError):
        pipeline.build_argv(pipeline.plan("low", ()), tmp_path, 0, passthrough=False)  # nothing for ffmpeg
    with pytest.raises(ValueError):
        pipeline.build_argv(pipeline.plan("low"), tmp_path, 0, input_format="mp4")
    assert pipeline.simulcast_argv("rtmp://x/y", ffmpeg="ffmpeg", input_format="mpegts")[5:7] == ["-f", "mpegts"]
