"""A caption clip's ``src``: the library resolver reads the asset's text track (WebVTT) from storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edit_media import frame_at

from vidlake.core.errors import InvalidParameters
from vidlake.core.settings import Settings
from vidlake.db.migrate import upgrade
from vidlake.db.models import Asset, Environment
from vidlake.edit import render, validate_edit
from vidlake.edit.service import LibraryResolver, check_document
from vidlake.runtime import Services
from vidlake.speech.tracks import track_key
from vidlake.startup import build_services
from vidlake.storage import keys

VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n欢迎来到直播间\n"


@pytest.fixture()
def services(tmp_path: Path) -> Iterator[Services]:
    url = f"sqlite:///{tmp_path / 'vidlake.db'}"
    upgrade(url)
    services = build_services(Settings(data_dir=tmp_path / "data", database_url=url))
    with services.db.session() as session:
        session.add(Environment(id="env1", name="test"))
        session.add(Environment(id="env2", name="other"))
        session.flush()
        session.add(Asset(id="lecture", environment_id="env1", status="ready", duration=10.0, tracks=[
            {"id": "v0", "type": "video", "max_width": 640, "max_height": 360},
            {"id": "lecturet0", "type": "text", "text_type": "subtitles", "text_source": "generated_vod",
             "language_code": "zh", "name": "中文", "status": "ready"}]))
        session.add(Asset(id="silent", environment_id="env1", status="ready", duration=5.0, tracks=[]))
    services.storage.put_bytes(track_key("env1", "lecture", "lecturet0"), VTT.encode(), "text/vtt")
    yield services
    services.close()


def _doc(**asset: Any) -> dict[str, Any]:
    return {"timeline": {"background": "#202020", "tracks": [{"clips": [
        {"asset": {"type": "caption", **asset}, "start": 0, "length": 1}]}]},
        "output": {"resolution": {"width": 640, "height": 360}, "fps": 10}}


def _messages(services: Services, env: str, doc: dict[str, Any]) -> list[str]:
    with services.db.session() as session, pytest.raises(InvalidParameters) as info:
        check_document(session, services, env, doc)
    return [str(m) for m in info.value.args]


def test_track_src_is_checked_and_burned(services: Services, tmp_path: Path) -> None:
    for doc in (_doc(src="asset:lecture"), _doc(src="asset:lecture", track_id="lecturet0"),
                _doc(src="asset:lecture", language_code="zh")):
        with services.db.session() as session:
            assert check_document(session, services, "env1", doc) == 1.0
    where = "timeline.tracks[0].clips[0].asset.src"
    (msg,) = _messages(services, "env1", _doc(src="asset:lecture", language_code="en"))
    assert msg == (f"{where}: cannot use source 'asset:lecture/text/lang:en': asset 'lecture' has no text track "
                   "in language 'en'; its text tracks: lecturet0 (zh)")
    (msg,) = _messages(services, "env1", _doc(src="asset:silent"))
    assert msg.startswith(where) and "its text tracks: none" in msg
    (msg,) = _messages(services, "env2", _doc(src="asset:lecture"))
    assert msg.startswith(where) and "no asset 'lecture' in this environment" in msg

    out = tmp_path / "burned.mp4"
    render(validate_edit(_doc(src="asset:lecture", style={"size": 40}), LibraryResolver(services, "env1",
                                                                                     work_dir=tmp_path)),
           out, timeout_s=60)
    assert (frame_at(out, 0.5).astype(float).min(axis=2) > 200).sum() > 300


def test_older_track_file_and_missing_file(services: Services) -> None:
    """Tracks made before text/{id}.vtt are read from captions-{language}.vtt, as playback serves them."""
    services.storage.delete(track_key("env1", "lecture", "lecturet0"))
    (msg,) = _messages(services, "env1", _doc(src="asset:lecture"))
    assert "text track 'lecturet0' of asset 'lecture' is missing from storage" in msg
    services.storage.put_bytes(keys.asset_image("env1", "lecture", "captions-zh.vtt"),
                               b"WEBVTT\n\n00:00.000 --> 00:00.500\nx\n\n00:00.400 --> 00:01.000\ny\n", "text/vtt")
    (msg,) = _messages(services, "env1", _doc(src="asset:lecture"))  # that file is the one read
    assert msg.endswith("cues[1].start: 0.4 s is before the end of cue [0] (0.5 s); cues must be in time order "
                        "and not overlap"), msg
