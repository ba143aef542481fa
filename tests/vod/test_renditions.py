from __future__ import annotations

from pathlib import Path

import av
import pytest

from vidlake.package import hls
from vidlake.vod.renditions import audio_m4a, concat_fmp4, pick_static_variant, static_mp4
from vidlake.vod.transcode import HlsResult


def _top_level_boxes(path: Path) -> list[bytes]:
    data = path.read_bytes()
    pos, boxes = 0, []
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        boxes.append(data[pos + 4 : pos + 8])
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        if size < 8:
            break
        pos += size
    return boxes


def test_static_mp4_is_top_rung_with_faststart(hls_asset: HlsResult, tmp_path: Path) -> None:
    out = static_mp4(hls_asset.master, tmp_path / "high.mp4")
    assert (out.width, out.height) == (640, 360) and out.size_bytes == out.path.stat().st_size
    boxes = _top_level_boxes(out.path)
    assert b"moov" in boxes and b"mdat" in boxes
    assert boxes.index(b"moov") < boxes.index(b"mdat")
    assert b"moof" not in boxes  # progressive, not fragmented
    with av.open(str(out.path)) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (640, 360)
        assert c.duration / 1_000_000 == pytest.approx(4.0, abs=0.1)
        frames = sum(1 for _ in c.decode(v))
    assert frames == 100  # 4 s at 25 fps, nothing lost in the remux


def test_static_mp4_respects_cap(hls_asset: HlsResult, tmp_path: Path) -> None:
    out = static_mp4(hls_asset.master, tmp_path / "low.mp4", max_short_side=300)
    assert (out.width, out.height) == (426, 240)


def test_pick_static_variant_caps_at_1080() -> None:
    master = hls.MasterPlaylist(variants=[
        hls.Variant("2160p/index.m3u8", 20_000_000, resolution=(3840, 2160)),
        hls.Variant("1080p/index.m3u8", 6_000_000, resolution=(1920, 1080)),
        hls.Variant("720p/index.m3u8", 3_000_000, resolution=(1280, 720)),
    ])
    chosen = pick_static_variant(master)
    assert chosen is not None and chosen.uri == "1080p/index.m3u8"
    assert pick_static_variant(hls.MasterPlaylist()) is None


def test_audio_m4a(hls_asset: HlsResult, tmp_path: Path) -> None:
    out = audio_m4a(hls_asset.master, tmp_path / "audio.m4a")
    with av.open(str(out.path)) as c:
        assert [s.type for s in c.streams] == ["audio"]
        assert c.streams.audio[0].codec_context.codec.canonical_name == "aac"
        assert c.duration / 1_000_000 == pytest.approx(4.0, abs=0.1)


def test_audio_m4a_from_audio_only_asset(audio_asset: HlsResult, tmp_path: Path) -> None:
    out = audio_m4a(audio_asset.master, tmp_path / "a.m4a")
    with av.open(str(out.path)) as c:
        assert c.duration / 1_000_000 == pytest.approx(3.0, abs=0.1)
    with pytest.raises(ValueError):
        static_mp4(audio_asset.master, tmp_path / "none.mp4")


def test_concat_refuses_escaping_uris(tmp_path: Path) -> None:
    pl = tmp_path / "index.m3u8"
    pl.write_text('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2,\n../../etc/passwd\n')
    (tmp_path / "init.mp4").write_bytes(b"\x00")
    with pytest.raises(ValueError):
        concat_fmp4(pl, tmp_path / "out.mp4")
