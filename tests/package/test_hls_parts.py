"""LL-HLS tags (RFC 8216bis): EXT-X-SERVER-CONTROL, EXT-X-PART-INF, EXT-X-PART written and parsed back."""

from __future__ import annotations

import pytest

from vidlake.package import hls, hls_uris


def _live() -> hls.MediaPlaylist:
    return hls.MediaPlaylist(
        segments=[hls.Segment("a/00007.ts", 1.0),
                  hls.Segment("a/00008.ts", 1.0, parts=[hls.Part("a/parts/00008.0.ts", 0.334, True),
                                                        hls.Part("a/parts/00008.1.ts", 0.333),
                                                        hls.Part("a/parts/00008.2.ts", 0.333)])],
        version=6, media_sequence=7, independent_segments=True,
        server_control=hls.ServerControl(can_block_reload=True, part_hold_back=1.002), part_target=0.334,
        parts=[hls.Part("b/parts/00000.0.ts", 0.2, True)], parts_discontinuity=True)


def test_ll_tags_round_trip() -> None:
    text = hls.dumps(_live())
    lines = text.splitlines()
    assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.002" in lines
    assert "#EXT-X-PART-INF:PART-TARGET=0.334" in lines
    first = lines.index('#EXT-X-PART:DURATION=0.334,URI="a/parts/00008.0.ts",INDEPENDENT=YES')
    assert lines[first + 1] == '#EXT-X-PART:DURATION=0.333,URI="a/parts/00008.1.ts"'
    assert lines[first + 3].startswith("#EXTINF:1") and lines[first + 4] == "a/00008.ts"
    # the segment in progress: after the last one, behind its discontinuity
    assert lines[-2:] == ["#EXT-X-DISCONTINUITY", '#EXT-X-PART:DURATION=0.2,URI="b/parts/00000.0.ts",INDEPENDENT=YES']
    back = hls.parse_media(text)
    assert back.target_duration == 1
    back.target_duration = None
    assert back == _live()
    assert hls.dumps(back) == text


def test_has_part_is_what_blocking_reload_waits_for() -> None:
    pl = _live()
    assert pl.next_msn == 9
    assert pl.has_part(8) and pl.has_part(8, 5) and pl.has_part(0)
    assert pl.has_part(9, 0) and not pl.has_part(9, 1) and not pl.has_part(9) and not pl.has_part(10, 0)


def test_rewrite_and_finalize() -> None:
    pl = hls_uris.rewrite_uris(_live(), hls_uris.append_query("token=t"))
    assert isinstance(pl, hls.MediaPlaylist)
    assert all(p.uri.endswith("?token=t") for p in [*pl.segments[1].parts, *pl.parts])
    vod = _live().finalized()
    text = hls.dumps(vod)
    assert "EXT-X-PART" not in text and "SERVER-CONTROL" not in text and text.endswith("#EXT-X-ENDLIST\n")


@pytest.mark.parametrize("line", ['#EXT-X-PART:DURATION=0.3', '#EXT-X-PART:DURATION=x,URI="p.ts"',
                                  "#EXT-X-PART-INF:PART-TARGET=0", "#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=-1"])
def test_bad_ll_tags_are_refused(line: str) -> None:
    with pytest.raises(hls.PlaylistError):
        hls.parse_media(f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n{line}\n#EXTINF:1,\na.ts\n")
