from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import av
import numpy as np
import pytest

from vidlake.ffmpeg import MediaInput
from vidlake.package import hls
from vidlake.vod.images import animated, fit_filter, storyboard, thumbnail
from vidlake.vod.probe import probe
from vidlake.vod.transcode import HlsResult

MAGIC = {"jpg": b"\xff\xd8\xff", "png": b"\x89PNG", "webp": b"RIFF", "gif": b"GIF8"}


@pytest.fixture(scope="module")
def top_playlist(hls_asset: HlsResult) -> MediaInput:
    return MediaInput.trusted_output(hls_asset.variants[0].playlist)


@pytest.mark.parametrize(
    ("fit_mode", "size"),
    [("preserve", (200, 112.5)), ("stretch", (200, 200)), ("crop", (200, 200)), ("smartcrop", (200, 200)),
     ("pad", (200, 200))],
)
def test_thumbnail_fit_modes(top_playlist: MediaInput, tmp_path: Path, fit_mode: str,
                             size: tuple[int, float]) -> None:
    out = thumbnail(top_playlist, tmp_path / "t.jpg", time_s=1.5, width=200, height=200,
                    fit_mode=fit_mode)  # type: ignore[arg-type]
    assert out.width == size[0] and abs(out.height - size[1]) <= 0.5  # 640x360 fitted: 112 or 113
    assert out.path.read_bytes()[:3] == MAGIC["jpg"]


def test_pad_has_black_bars(top_playlist: MediaInput, tmp_path: Path) -> None:
    out = thumbnail(top_playlist, tmp_path / "p.png", width=200, height=200, fit_mode="pad")
    with av.open(str(out.path)) as c:
        img = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert img[:20].max() < 10 and img[-20:].max() < 10  # top and bottom bars
    assert img[90:110].max() > 50  # the picture


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
def test_thumbnail_formats(top_playlist: MediaInput, tmp_path: Path, fmt: str) -> None:
    out = thumbnail(top_playlist, tmp_path / f"t.{fmt}", time_s=2.0, width=160)
    assert out.format == fmt and (out.width, out.height) == (160, 90)
    assert out.path.read_bytes()[: len(MAGIC[fmt])] == MAGIC[fmt]


def test_thumbnail_from_upload_with_pinned_demuxer(landscape_mp4: Path, tmp_path: Path) -> None:
    p = probe(landscape_mp4)
    out = thumbnail(MediaInput.untrusted(p.path, p.format_name), tmp_path / "u.jpg", time_s=1.0, height=90)
    assert (out.width, out.height) == (160, 90)


def test_thumbnail_time_changes_picture(top_playlist: MediaInput, tmp_path: Path) -> None:
    frames = []
    for t in (0.5, 3.0):
        out = thumbnail(top_playlist, tmp_path / f"{t}.png", time_s=t, width=160)
        with av.open(str(out.path)) as c:
            frames.append(next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int))
    assert np.abs(frames[0] - frames[1]).mean() > 1


def test_thumbnail_past_end_is_an_error(top_playlist: MediaInput, landscape_mp4: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        thumbnail(top_playlist, tmp_path / "late.jpg", time_s=60)
    with pytest.raises(ValueError):
        thumbnail(MediaInput.trusted_output(landscape_mp4), tmp_path / "late.jpg", time_s=5, duration_s=4.0)


def test_thumbnail_matches_source_frame(top_playlist: MediaInput, hls_asset: HlsResult, tmp_path: Path) -> None:
    """The frame at 3.0 s from the playlist equals frame 75 of the rung decoded start to end."""
    out = thumbnail(top_playlist, tmp_path / "f.png", time_s=3.0)
    with av.open(str(out.path)) as c:
        got = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    rung = hls_asset.variants[0].playlist
    pl = hls.read(rung)
    assert isinstance(pl, hls.MediaPlaylist) and pl.segments[0].init_uri
    names = [pl.segments[0].init_uri, *(seg.uri for seg in pl.segments)]
    data = b"".join((rung.parent / n).read_bytes() for n in names)
    with av.open(io.BytesIO(data), format="mov") as c:
        frames = [f.to_ndarray(format="rgb24").astype(int) for f in c.decode(video=0)]
    diffs = [float(np.abs(f - got).mean()) for f in frames]
    assert diffs.index(min(diffs)) == 75 and min(diffs) < 3


def test_bad_sizes_refused() -> None:
    with pytest.raises(ValueError):
        fit_filter(0, 10)
    with pytest.raises(ValueError):
        fit_filter(100_000, None)


@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_animated(top_playlist: MediaInput, tmp_path: Path, fmt: str) -> None:
    out = animated(top_playlist, tmp_path / f"a.{fmt}", start_s=1.0, end_s=2.0, width=160, fps=10)
    assert (out.width, out.height) == (160, 90)
    data = out.path.read_bytes()
    assert data[: len(MAGIC[fmt])] == MAGIC[fmt]
    if fmt == "gif":
        with av.open(str(out.path)) as c:
            assert sum(1 for _ in c.decode(video=0)) == 10  # 1 s at 10 fps
    else:
        assert b"ANIM" in data[:64] and data.count(b"ANMF") == 10


@pytest.mark.parametrize(
    "kwargs", [{"start_s": 0, "end_s": 11}, {"width": 2000}, {"fps": 60}, {"start_s": 3, "end_s": 2}]
)
def test_animated_bounds(top_playlist: MediaInput, tmp_path: Path, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        animated(top_playlist, tmp_path / "x.gif", **kwargs)  # type: ignore[arg-type]


def test_storyboard(hls_asset: HlsResult, tmp_path: Path) -> None:
    src = MediaInput.trusted_output(hls_asset.variants[-1].playlist)
    sb = storyboard(src, tmp_path / "storyboard.jpg", tmp_path / "storyboard.vtt", duration_s=4.0, count=8,
                    columns=3, tile_width=96)
    assert (sb.columns, sb.rows, sb.tile_width, sb.tile_height) == (3, 3, 96, 54)
    with av.open(str(sb.image)) as c:
        sprite = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert sprite.shape == (3 * 54, 3 * 96, 3)

    text = sb.vtt.read_text()
    assert text.startswith("WEBVTT\n")
    cues = re.findall(r"(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)",
                      text)
    assert len(cues) == 8
    assert cues[0][0] == "00:00:00.000" and cues[-1][1] == "00:00:04.000"
    tiles = []
    for _, _, uri, x, y, w, h in cues:
        x, y, w, h = int(x), int(y), int(w), int(h)  # type: ignore[assignment]
        assert uri == "storyboard.jpg"
        assert x + w <= sprite.shape[1] and y + h <= sprite.shape[0]  # type: ignore[operator]
        tiles.append(sprite[y : y + h, x : x + w])  # type: ignore[misc]
    for a, b in itertools.pairwise(tiles):
        assert np.abs(a - b).mean() > 1  # testsrc2 moves: consecutive tiles differ
    assert all(t.mean() > 20 for t in tiles)  # no empty (black) tile referenced
