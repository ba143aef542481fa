"""Fixtures shared by the whole suite: settings on a temp dir, real PostgreSQL/Redis/S3 servers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))

from services import fresh_pg_database, postgres, redis, s3_server

from vidlake.core.settings import Settings
from vidlake.db.migrate import upgrade
from vidlake.db.session import Database


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for the session."""
    with postgres() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server for the session."""
    with redis() as url:
        yield url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible HTTP server (moto) for the session."""
    with s3_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database backend, migrated and empty."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vidlake.db'}"
    else:
        base = request.getfixturevalue("postgres_url")
        url = fresh_pg_database(base, tmp_path.name)
    upgrade(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings on a temp data dir and each database backend, with fast retries for tests."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, job_lease_s=2, job_backoff_base_s=0.05,
                    job_backoff_max_s=1)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The migrated database of ``settings``."""
    database = Database(settings.database_url)
    yield database
    database.dispose()
