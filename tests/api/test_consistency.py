"""Writes are committed before the response leaves: with a slow commit, a client that reads the database
as soon as it gets a 201 must find the row (a commit after the response would lose this race)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from services import free_port, wait_port
from sqlalchemy import event

from vidlake.api.app import create_app
from vidlake.core.settings import Settings
from vidlake.db.migrate import upgrade
from vidlake.db.models import AccessToken
from vidlake.db.session import Database
from vidlake.startup import build_services


def test_commit_happens_before_the_response(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, bootstrap_token="ryw:a-secret-of-enough-length")
    upgrade(settings.database_url)
    services = build_services(settings)

    @event.listens_for(services.db.engine, "commit")
    def _slow_commit(_conn: Any) -> None:
        time.sleep(0.5)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(services=services), host="127.0.0.1", port=port,
                                           log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_port(port)
        r = httpx.post(f"http://127.0.0.1:{port}/system/v1/access-tokens", json={"name": "x"},
                       auth=("ryw", "a-secret-of-enough-length"), timeout=30)
        assert r.status_code == 201, r.text
        other = Database(settings.database_url)
        with other.session() as session:
            assert session.get(AccessToken, r.json()["data"]["id"]) is not None
        other.dispose()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        services.close()
