from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vidlake.ffmpeg import (
    FFmpegCommand,
    MediaInput,
    UnsupportedContainerError,
    demuxer_for,
    demuxer_for_file,
    ffmpeg_exe,
)


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


def _png(path: Path) -> Path:
    """A 16x16 PNG written under ``path`` whatever its extension."""
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=s=16x16", "-frames:v", "1",
                    "-c:v", "png", "-f", "image2", "-update", "1", "-y", str(path)], check=True, timeout=30)
    return path


def test_files_without_a_probe_get_a_pinned_demuxer(tmp_path: Path) -> None:
    """Edit sources: stills by signature (a .jpg that is a PNG is read as PNG), media by extension,
    nothing else; the still is read by one single-image demuxer, never image2's patterns."""
    still = _png(tmp_path / "logo.jpg")
    assert demuxer_for_file(still) == "png_pipe"
    args = MediaInput.local_file(still).args()
    assert args[args.index("-f") + 1] == "png_pipe" and "image2" not in args
    assert args[args.index("-format_whitelist") + 1] == "png_pipe"
    assert MediaInput.local_file(tmp_path / "x.ts").demuxer == "mpegts"
    assert MediaInput.local_file(tmp_path / "v.m3u8", "hls").trusted
    for name in ("list.ffconcat", "a.txt", "noext"):
        with pytest.raises(UnsupportedContainerError):
            demuxer_for_file(tmp_path / name)
    media = MediaInput(tmp_path / "a.mp4", "mov", streams="audio", seek_s=1.0, duration_s=2.0).args()
    assert "-vn" in media and media.index("-vn") < media.index("-i")
    with pytest.raises(UnsupportedContainerError):
        MediaInput(tmp_path / "a.mp4", "mov", framerate=25).args()


def test_pyav_options_refuse_demuxers_that_read_other_files(tmp_path: Path) -> None:
    """Analysis helpers open files in process with PyAV: a concat list passes ``file`` as the only
    protocol, so the format allow-list is what refuses it."""
    import av

    from vidlake.ffmpeg import PYAV_OPTIONS

    _png(tmp_path / "f.png")
    listing = tmp_path / "list.txt"
    listing.write_text("ffconcat version 1.0\nfile 'f.png'\n")
    with av.open(str(listing), options={"protocol_whitelist": "file"}) as container:  # what they did before
        assert container.format.name == "concat"
    with pytest.raises(av.error.FFmpegError):
        av.open(str(listing), options=dict(PYAV_OPTIONS))
