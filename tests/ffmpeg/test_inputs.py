from __future__ import annotations

from pathlib import Path

import pytest

from vidlake.ffmpeg import FFmpegCommand, MediaInput, UnsupportedContainerError, demuxer_for


@pytest.mark.parametrize(
    ("name", "pinned"),
    [("mov,mp4,m4a,3gp,3g2,mj2", "mov"), ("matroska,webm", "matroska"), ("mpegts", "mpegts"), ("flv", "flv"),
     ("avi", "avi"), ("mxf", "mxf"), ("wav", "wav"), ("mp3", "mp3"), ("aac", "aac"), ("ogg", "ogg"),
     ("flac", "flac")],
)
def test_allowed_containers(name: str, pinned: str) -> None:
    assert demuxer_for(name) == pinned


@pytest.mark.parametrize(
    "name", ["concat", "hls", "hls,applehttp", "image2", "subfile", "tee", "lavfi", "ffconcat", "tty", "",
             "mov,concat", "sdp", "rtsp"],
)
def test_refused_containers(name: str) -> None:
    with pytest.raises(UnsupportedContainerError):
        demuxer_for(name)


def test_untrusted_input_args(tmp_path: Path) -> None:
    src = tmp_path / "in put.mp4"
    args = MediaInput.untrusted(src, "mov,mp4,m4a,3gp,3g2,mj2").with_window(1.5, 2.0).args()
    assert args[args.index("-protocol_whitelist") + 1] == "file"
    assert "mov" in args[args.index("-format_whitelist") + 1].split(",")
    assert args[-4:] == ["-f", "mov", "-i", f"file:{src.resolve()}"]
    assert args[args.index("-ss") + 1] == "1.500" and args[args.index("-t") + 1] == "2.000"


def test_hand_built_untrusted_hls_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedContainerError):
        MediaInput(tmp_path / "x.m3u8", "hls").args()
    with pytest.raises(UnsupportedContainerError):
        MediaInput(tmp_path / "x.txt", "concat", trusted=True).args()


def test_trusted_playlist_uses_hls_with_file_only(tmp_path: Path) -> None:
    args = MediaInput.trusted_output(tmp_path / "index.m3u8").args()
    assert args[args.index("-f") + 1] == "hls"
    assert args[args.index("-protocol_whitelist") + 1] == "file"


def test_command_argv_order(tmp_path: Path) -> None:
    cmd = FFmpegCommand(threads=2)
    cmd.add_input(MediaInput.untrusted(tmp_path / "a.mkv", "matroska,webm"))
    cmd.filter_complex = "[0:v]null[v]"
    cmd.add_output(tmp_path / "o.mp4", ["-map", "[v]", "-c:v", "libx264"])
    argv = cmd.argv()
    assert argv[:3] == ["-nostdin", "-hide_banner", "-y"]
    assert argv.index("-i") < argv.index("-filter_complex") < argv.index("-map")
    assert argv[-1] == str(tmp_path / "o.mp4")
    assert argv.count("-threads") == 2  # decoder and encoder, both bounded


def test_command_needs_output() -> None:
    with pytest.raises(ValueError):
        FFmpegCommand().argv()
    with pytest.raises(ValueError):
        c = FFmpegCommand(threads=0)
        c.add_output("-", ["-f", "null"])
        c.argv()
