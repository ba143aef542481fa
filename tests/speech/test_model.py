"""The Whisper model assembled from its two wheels: verified by size and SHA-256, never half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidlake.speech import model


def test_assembles_verifies_and_reuses(tmp_path: Path) -> None:
    folder = model.ensure_model(tmp_path)
    assert (folder / "model.bin").stat().st_size == model.MODEL_BYTES
    assert {p.name for p in folder.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt",
                                                  model.STAMP}
    assert json.loads((folder / model.STAMP).read_text())["sha256"] == model.MODEL_SHA256
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert model.ensure_model(tmp_path) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime  # not assembled twice
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no temporary folder left


def test_truncated_model_is_assembled_again(tmp_path: Path) -> None:
    folder = model.ensure_model(tmp_path)
    with (folder / "model.bin").open("r+b") as f:
        f.truncate(1000)
    again = model.ensure_model(tmp_path)
    assert (again / "model.bin").stat().st_size == model.MODEL_BYTES


def test_hash_mismatch_refuses_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "MODEL_SHA256", "0" * 64)
    with pytest.raises(model.ModelError, match="SHA-256"):
        model.ensure_model(tmp_path)
    assert list(tmp_path.iterdir()) == []
