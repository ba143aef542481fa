"""VMAF/SSIM/PSNR: a starved rendition scores clearly below a well-fed one against the same source."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vidlake.analyze.registry import FileContext, file_function
from vidlake.analyze.rendition_quality import LOW_VMAF, compare


def _ff(*args: str) -> None:
    from vidlake.ffmpeg import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("vmaf")
    src = folder / "source.mp4"
    _ff("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=2", "-c:v", "libx264", "-crf", "10",
        "-pix_fmt", "yuv420p", str(src))
    out = {"source": src}
    for name, size, rate in (("high", "640:360", "1500k"), ("low", "320:180", "30k")):
        path = folder / f"{name}.mp4"
        _ff("-i", str(src), "-vf", f"scale={size}", "-c:v", "libx264", "-preset", "veryfast", "-b:v", rate,
            "-pix_fmt", "yuv420p", str(path))
        out[name] = path
    return out


def test_low_bitrate_scores_below_high_bitrate(ladder: dict[str, Path], tmp_path: Path) -> None:
    high = compare(ladder["high"], ladder["source"], tmp_path)
    low = compare(ladder["low"], ladder["source"], tmp_path)
    print("high", high, "\nlow", low)
    assert (high.width, high.height) == (640, 360) == (low.width, low.height)  # scaled up to the source
    assert high.frames == low.frames == 50
    assert high.vmaf > 80 and low.vmaf < LOW_VMAF and high.vmaf - low.vmaf > 30
    assert high.ssim > low.ssim and 0 < low.ssim < 1
    assert high.psnr_y > low.psnr_y + 3


def test_source_against_itself_is_near_perfect(ladder: dict[str, Path], tmp_path: Path) -> None:
    same = compare(ladder["source"], ladder["source"], tmp_path)
    assert same.vmaf > 95 and same.ssim > 0.999 and same.psnr_y >= 59.9  # libvmaf caps 8-bit PSNR at 60 dB


def test_registered_analysis_flags_the_starved_rendition(ladder: dict[str, Path], tmp_path: Path) -> None:
    fn = file_function("rendition_quality")
    assert fn is not None
    report = fn(FileContext(path=ladder["source"], work_dir=tmp_path / "w",
                            renditions={"high": ladder["high"], "low": ladder["low"]}))
    assert set(report["renditions"]) == {"high", "low"}
    assert report["flags"] == ["low_vmaf:low"]
    assert list((tmp_path / "w").iterdir()) == []
