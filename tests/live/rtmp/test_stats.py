"""Session statistics: bitrate window, keyframe interval, metadata."""

from __future__ import annotations

from vidlake.live.stats import AudioInfo, StatsTracker, VideoInfo


def test_bitrate_keyframe_interval_and_fps() -> None:
    st = StatsTracker(window_s=2.0)
    key = VideoInfo("h264", keyframe=True, sequence_header=False)
    inter = VideoInfo("h264", keyframe=False, sequence_header=False)
    st.on_video(VideoInfo("h264", True, True), 0, 40, now=100.0)  # sequence header: not a frame
    for i in range(100):  # 4 s at 25 fps, 1000 bytes per frame, keyframe every 50 frames
        st.on_video(key if i % 50 == 0 else inter, i * 40, 1000, now=100.0 + i * 0.04)
    snap = st.snapshot()
    assert snap.video_frames == 100 and snap.keyframes == 2
    assert snap.keyframe_interval_s == 2.0
    assert snap.measured_fps == 25.0
    # last 2 s of media time: 51 frames (timestamps 1960..3960 inclusive) of 8000 bits
    assert snap.bitrate_bps == 51 * 8000 / 2.0
    assert snap.last_timestamp_ms == 99 * 40 and snap.last_frame_at == 100.0 + 99 * 0.04
    assert snap.video_codec == "h264"


def test_bitrate_before_the_window_is_full() -> None:
    st = StatsTracker(window_s=5.0)
    for i in range(11):
        st.on_audio(AudioInfo("aac", False), i * 100, 500)
    assert st.snapshot().bitrate_bps == 11 * 500 * 8 / 1.0


def test_metadata_and_audio_config() -> None:
    st = StatsTracker()
    st.on_metadata({"width": 1280.0, "height": 720.0, "framerate": 29.97, "encoder": "obs-output module"})
    st.on_audio(AudioInfo("aac", True, 48000, 2), 0, 7)
    snap = st.snapshot()
    assert (snap.width, snap.height, snap.fps) == (1280, 720, 29.97)
    assert snap.encoder == "obs-output module"
    assert (snap.audio_codec, snap.audio_sample_rate, snap.audio_channels) == ("aac", 48000, 2)
    assert snap.audio_frames == 0
    st.on_metadata({"width": "bad", "height": True, "videoframerate": 30.0})
    assert st.snapshot().width == 1280 and st.snapshot().fps == 30.0


def test_empty_stats() -> None:
    snap = StatsTracker().snapshot()
    assert snap.bitrate_bps == 0.0 and snap.keyframe_interval_s is None and snap.measured_fps is None
