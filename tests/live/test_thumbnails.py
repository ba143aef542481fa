"""Live thumbnails from the segmenter's keyframes, through the real helper process."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import av
import pytest

from vidlake.ffmpeg import ffmpeg_exe
from vidlake.live.rtmp import flv
from vidlake.live.segmenter import Segmenter
from vidlake.live.thumbnails import Thumbnailer, render


@pytest.fixture(scope="module")
def keyframes(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The first keyframe of each segment of a 3 s 640x480 FLV (Annex B, as the segmenter keeps it)."""
    root = tmp_path_factory.mktemp("thumbs")
    source = root / "in.flv"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=640x480:rate=25", "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
                    "-pix_fmt", "yuv420p", "-f", "flv", str(source)], check=True, timeout=60)
    found: list[bytes] = []

    def closed(name: str, duration: float) -> None:
        assert seg.closed_keyframe is not None
        found.append(seg.closed_keyframe)

    seg = Segmenter(root / "segs", 1.0, closed)
    for tag in flv.read_tags(source.read_bytes()):
        seg.feed(tag)
    seg.close()
    return found


def _size(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return frame.width, frame.height


def test_render_writes_a_jpeg_at_most_360_high(keyframes: list[bytes], tmp_path: Path) -> None:
    assert len(keyframes) == 3
    dest = tmp_path / "thumbnail.jpg"
    render(keyframes[1], dest)
    assert dest.read_bytes()[:2] == b"\xff\xd8" and _size(dest) == (480, 360)
    assert [p.name for p in tmp_path.iterdir()] == ["thumbnail.jpg"]
    with pytest.raises(ValueError):
        render(b"\x00\x00\x00\x01\x09\xf0", tmp_path / "none.jpg")  # an AUD alone: no picture


def test_helper_process_renders_and_survives_bad_input(keyframes: list[bytes], tmp_path: Path) -> None:
    async def go() -> list[bool]:
        thumbs = Thumbnailer()
        try:
            return [await thumbs.render(keyframes[0], tmp_path / "a.jpg"),
                    await thumbs.render(b"garbage", tmp_path / "b.jpg"),
                    await thumbs.render(keyframes[2], tmp_path / "c.jpg")]
        finally:
            await thumbs.close()

    assert asyncio.run(go()) == [True, False, True]
    assert _size(tmp_path / "a.jpg") == (480, 360) and _size(tmp_path / "c.jpg") == (480, 360)
    assert not (tmp_path / "b.jpg").exists()
