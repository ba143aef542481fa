from __future__ import annotations

import subprocess
from pathlib import Path

import av
import pytest

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.package.codecs import CodecStringError, codec_string


@pytest.mark.parametrize(("profile", "expected_idc"), [("baseline", 66), ("main", 77), ("high", 100)])
def test_avc_codec_string_matches_stream(tmp_path: Path, profile: str, expected_idc: int) -> None:
    out = tmp_path / "v.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=0.2",
                    "-c:v", "libx264", "-profile:v", profile, "-pix_fmt", "yuv420p", str(out)], check=True)
    s = codec_string(out)
    with av.open(str(out)) as c:
        ed = c.streams.video[0].codec_context.extradata
    assert ed is not None and ed[1] == expected_idc
    assert s == f"avc1.{ed[1]:02x}{ed[2]:02x}{ed[3]:02x}"


@pytest.mark.parametrize(("profile", "aot"), [("aac_low", 2)])
def test_aac_codec_string(tmp_path: Path, profile: str, aot: int) -> None:
    out = tmp_path / "a.m4a"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=d=0.2", "-c:a", "aac",
                    "-profile:a", profile, str(out)], check=True)
    assert codec_string(out) == f"mp4a.40.{aot}"


def test_unknown_init_refused() -> None:
    with pytest.raises(CodecStringError):
        codec_string(b"\x00\x00\x00\x08free")
