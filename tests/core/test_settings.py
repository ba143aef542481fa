"""Settings: environment, TOML file, validation, documentation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from vidlake.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.data_dir == tmp_path / "data"
    assert s.database_url == f"sqlite:///{tmp_path / 'data' / 'vidlake.db'}"
    assert s.storage_url == f"file://{tmp_path / 'data' / 'storage'}"
    assert (s.http_host, s.http_port, s.rtmp_port, s.executor) == ("127.0.0.1", 8000, 1935, "local")
    assert s.public_url == "http://127.0.0.1:8000"


def test_env_and_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "vidlake.toml"
    toml.write_text('http_port = 9001\nexecutor = "celery"\njob_modules = ["a", "b"]\n')
    monkeypatch.setenv("VIDLAKE_CONFIG", str(toml))
    monkeypatch.setenv("VIDLAKE_HTTP_PORT", "9002")
    from vidlake.core import settings as module

    class FromFile(Settings):
        model_config = {**Settings.model_config, "toml_file": str(toml)}  # type: ignore[typeddict-item]

    s = FromFile()
    assert s.http_port == 9002  # the environment wins
    assert s.executor == "celery" and s.job_modules == ["a", "b"]
    monkeypatch.setenv("VIDLAKE_JOB_MODULES", "x, y")
    assert module.Settings().job_modules == ["x", "y"]


@pytest.mark.parametrize(("name", "value"), [
    ("VIDLAKE_HTTP_PORT", "70000"), ("VIDLAKE_EXECUTOR", "k8s"), ("VIDLAKE_BOOTSTRAP_TOKEN", "id:short"),
    ("VIDLAKE_WORKERS", "-1"), ("VIDLAKE_TYPO_SETTING", "1"),
])
def test_bad_values_are_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    if name == "VIDLAKE_TYPO_SETTING":
        Settings()  # unknown environment variables are ignored (they may belong to other tools)
        return
    with pytest.raises(ValidationError) as info:
        Settings()
    assert name.removeprefix("VIDLAKE_").lower() in str(info.value)


def test_every_setting_is_documented() -> None:
    from vidlake.core.settings_docs import render

    doc = (ROOT / "docs" / "configuration.md").read_text()
    missing = [n for n in Settings.model_fields if f"VIDLAKE_{n.upper()}" not in doc]
    assert not missing, f"document these in docs/configuration.md: {missing}"
    assert doc == render(), "regenerate: python -m vidlake.core.settings_docs > docs/configuration.md"
