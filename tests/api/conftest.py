"""A real ``vidlake serve`` process per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from services import VidlakeServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    srv = VidlakeServer(Path(tmp_path_factory.mktemp("server")), workers=1).start()
    yield srv
    srv.stop()
