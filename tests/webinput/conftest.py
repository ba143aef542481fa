"""Fixtures of the web input tests: a ``vidlake serve`` with live ingest (and so the web input runner)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from services import VidlakeServer


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    server = VidlakeServer(tmp_path_factory.mktemp("webinput"), rtmp=True, workers=1).start()
    yield server
    server.stop()
