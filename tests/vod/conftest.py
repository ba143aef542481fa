"""Tiny generated media for the VOD tests (made once per session with the real ffmpeg)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.vod.ladder import plan_ladder
from vidlake.vod.probe import probe
from vidlake.vod.transcode import HlsResult, transcode_hls

MakeMedia = Callable[[str, list[str]], Path]


def ffmpeg_cli(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-y", *args], check=True,
                   timeout=120)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def make_media(media_dir: Path) -> MakeMedia:
    """``make_media(name, args)`` runs ffmpeg once per name with ``args`` then ``media_dir/name``."""

    def make(name: str, args: list[str]) -> Path:
        out = media_dir / name
        if not out.exists():
            ffmpeg_cli(*args, str(out))
        return out

    return make


def _av(size: str = "640x360", rate: str = "25", seconds: float = 4, tone: bool = True) -> list[str]:
    args = ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds}"]
    if tone:
        args += ["-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:d={seconds}", "-ac", "2"]
    return args


@pytest.fixture(scope="session")
def landscape_mp4(make_media: MakeMedia) -> Path:
    """640x360, 25 fps, 4 s, H.264 + stereo AAC, moov at the end."""
    return make_media("landscape.mp4", [*_av(), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                                        "-shortest"])


@pytest.fixture(scope="session")
def faststart_mp4(make_media: MakeMedia) -> Path:
    return make_media("faststart.mp4", [*_av(seconds=2), "-c:v", "libx264", "-preset", "ultrafast",
                                        "-c:a", "aac", "-shortest", "-movflags", "+faststart"])


@pytest.fixture(scope="session")
def portrait_mp4(make_media: MakeMedia) -> Path:
    return make_media("portrait.mp4", [*_av(size="360x640", seconds=2), "-c:v", "libx264",
                                       "-preset", "ultrafast", "-c:a", "aac", "-shortest"])


@pytest.fixture(scope="session")
def rotated_mp4(make_media: MakeMedia, landscape_mp4: Path) -> Path:
    """The landscape file with a 90 degree display matrix (displays as 360x640)."""
    return make_media("rotated.mp4", ["-display_rotation", "90", "-i", str(landscape_mp4), "-c", "copy",
                                      "-t", "2"])


@pytest.fixture(scope="session")
def odd_mkv(make_media: MakeMedia) -> Path:
    """321x179 (odd) 4:4:4 FFV1 at 29.97 fps."""
    return make_media("odd.mkv", [*_av(size="320x180", rate="30000/1001", seconds=2, tone=False),
                                  "-vf", "scale=321:179,format=yuv444p", "-c:v", "ffv1"])


@pytest.fixture(scope="session")
def hdr10_mp4(make_media: MakeMedia) -> Path:
    """10-bit HEVC tagged PQ/BT.2020 (HDR10)."""
    return make_media("hdr10.mp4", [*_av(size="320x180", seconds=2, tone=False), "-vf",
                                    "format=yuv420p10le,setparams=color_trc=smpte2084:color_primaries=bt2020"
                                    ":colorspace=bt2020nc", "-c:v", "libx265", "-x265-params", "log-level=error",
                                    "-tag:v", "hvc1"])


@pytest.fixture(scope="session")
def interlaced_ts(make_media: MakeMedia) -> Path:
    """Top-field-first interlaced H.264 in MPEG-TS, 25 fps (50 fields/s)."""
    return make_media("interlaced.ts", [*_av(size="320x180", rate="50", seconds=2),
                                        "-vf", "tinterlace=interleave_top,setfield=tff",
                                        "-c:v", "libx264", "-preset", "ultrafast", "-flags", "+ildct+ilme",
                                        "-c:a", "aac", "-shortest"])


@pytest.fixture(scope="session")
def audio_only_m4a(make_media: MakeMedia) -> Path:
    return make_media("audio.m4a", ["-f", "lavfi", "-i", "sine=f=330:sample_rate=44100:d=3", "-c:a", "aac"])


@pytest.fixture(scope="session")
def audio_only_mp3(make_media: MakeMedia) -> Path:
    return make_media("audio.mp3", ["-f", "lavfi", "-i", "sine=f=330:d=2", "-c:a", "libmp3lame"])


@pytest.fixture(scope="session")
def video_only_webm(make_media: MakeMedia) -> Path:
    return make_media("video.webm", [*_av(size="320x180", seconds=2, tone=False), "-c:v", "libvpx-vp9",
                                     "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k"])


@pytest.fixture(scope="session")
def hls_asset(landscape_mp4: Path, tmp_path_factory: pytest.TempPathFactory) -> HlsResult:
    """The landscape source packaged as HLS (640x360 + 426x240 + audio, 4 s)."""
    p = probe(landscape_mp4)
    return transcode_hls(p, plan_ladder(p), tmp_path_factory.mktemp("asset"), preset="ultrafast")


@pytest.fixture(scope="session")
def audio_asset(audio_only_m4a: Path, tmp_path_factory: pytest.TempPathFactory) -> HlsResult:
    p = probe(audio_only_m4a)
    return transcode_hls(p, plan_ladder(p), tmp_path_factory.mktemp("audio_asset"))
