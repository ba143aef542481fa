"""Vocabularies and text-track state on SQLite and PostgreSQL (migration 0007 applied by the fixture)."""

from __future__ import annotations

import pytest

from vidlake.core.errors import InvalidParameters, NotFound
from vidlake.db.models import Asset, Environment, Job
from vidlake.db.session import Database
from vidlake.speech import tracks, vocabularies
from vidlake.storage import open_storage


def _asset(db: Database) -> str:
    with db.session() as session:
        session.add(Environment(id="env1", name="test"))
        session.flush()
        session.add(Asset(id="asset1", environment_id="env1", status="ready", settings={}, tracks=[
            {"id": "a0", "type": "audio", "primary": True}], static_renditions=[]))
    return "asset1"


def test_vocabulary_rows(db: Database) -> None:
    _asset(db)
    with db.session() as session:
        row = vocabularies.create(session, "env1", "课程", ["机器学习", "机器学习", " Vidlake  Pro "], None)
        vid = row.id
    with db.session() as session:
        row = vocabularies.get(session, "env1", vid)
        assert row.phrases == ["机器学习", "Vidlake Pro"]
        vocabularies.update(row, {"phrases": ["双十一"], "passthrough": "x"})
    with db.session() as session:
        assert vocabularies.public(vocabularies.get(session, "env1", vid))["phrases"] == ["双十一"]
        assert vocabularies.phrases_for(session, "env1", [vid, vid], "ids") == ["双十一"]
        with pytest.raises(InvalidParameters, match=r"ids\[0\]"):
            vocabularies.phrases_for(session, "other-env", [vid], "ids")
        with pytest.raises(NotFound):
            vocabularies.get(session, "other-env", vid)
        assert [r.id for r in vocabularies.list_rows(session, "env1", 0, 10)] == [vid]


def test_track_lifecycle(db: Database, tmp_path: object) -> None:
    asset_id = _asset(db)
    storage = open_storage(f"file://{tmp_path}/storage")
    with db.session() as session:
        asset = session.get(Asset, asset_id)
        assert asset is not None
        made = tracks.add_generated(session, asset, "a0", [{"language_code": "zh-CN"}])
        up = tracks.add_uploaded(session, asset, url="http://example.com/a.srt", language_code="en",
                                 name=None, closed_captions=True, passthrough=None)
        with pytest.raises(InvalidParameters, match="language_code"):
            tracks.add_generated(session, asset, "a0", [{"language_code": "tlh"}])
        assert session.query(Job).filter(Job.kind == tracks.TRACK_KIND).count() == 2
    assert made[0]["name"] == "中文 (generated)" and up["name"] == "English"
    with db.session() as session:
        assert tracks.finish(session, asset_id, made[0]["id"])
        assert tracks.finish(session, asset_id, up["id"], error=("invalid_input", "line 3: broken timestamp"))
    with db.session() as session:
        asset = session.get(Asset, asset_id)
        assert asset is not None
        by_id = {t["id"]: t for t in asset.tracks}
        assert by_id[made[0]["id"]]["status"] == "ready"
        assert by_id[up["id"]]["error"]["messages"] == ["line 3: broken timestamp"]
        tracks.delete(session, storage, asset, up["id"])
    with db.session() as session:
        asset = session.get(Asset, asset_id)
        assert asset is not None and up["id"] not in {t["id"] for t in asset.tracks}
        assert not tracks.finish(session, asset_id, up["id"])  # a job finishing late finds it gone
