"""`vidlake render FILE --wait` against a real server: edit document or template + values → new asset."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from services import BIN, VidlakeServer

pytestmark = pytest.mark.slow

#: Green for 2 s, then (after a 0.5 s wipe) a colour chosen by the merge values; a title on top.
TEMPLATE = {
    "name": "cli-test",
    "defaults": {"title": "Hello"},
    "edit": {
        "timeline": {"tracks": [
            {"clips": [{"asset": {"type": "text", "text": "{{title}}"}, "start": 0, "length": 1}]},
            {"clips": [
                {"asset": {"type": "color", "color": "#00ff00"}, "start": 0, "length": 2},
                {"asset": {"type": "color", "color": "{{second}}"}, "start": 1.5, "length": 1.5,
                 "transition": {"in": "wipeleft", "duration": 0.5}},
            ]},
        ]},
        "output": {"resolution": {"width": 320, "height": 180}, "fps": 25},
    },
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VidlakeServer]:
    srv = VidlakeServer(Path(tmp_path_factory.mktemp("render-server")), workers=1).start()
    yield srv
    srv.stop()


def run(server: VidlakeServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIDLAKE_URL": server.url, "VIDLAKE_TOKEN_ID": server.token_id,
           "VIDLAKE_TOKEN_SECRET": server.token_secret, "COLUMNS": "200"}
    return subprocess.run([str(BIN / "vidlake"), "render", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_render_template_wait_prints_playback_url(server: VidlakeServer, tmp_path: Path) -> None:
    (tmp_path / "tpl.json").write_text(json.dumps(TEMPLATE))
    (tmp_path / "values.json").write_text(json.dumps({"second": "#ff00ff"}))
    result = run(server, str(tmp_path / "tpl.json"), "--values", str(tmp_path / "values.json"), "--wait",
                 "--preview")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "100%" in result.stderr  # the progress bar (non-TTY: its final state)
    lines = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines() if line.strip()}
    assert httpx.get(lines["playback:"]).status_code == 200
    with server.client() as c:
        asset = c.get(f"/video/v1/assets/{lines['asset:']}").json()["data"]
        edit = c.get(f"/video/v1/edits/{lines['edit:']}").json()["data"]
    assert asset["status"] == "ready" and asset["duration"] == pytest.approx(3.0, abs=0.15)
    assert edit["status"] == "completed" and edit["asset_id"] == asset["id"] and edit["preview"] is True
    assert "c=0xff00ff" in edit["details"]["filter_graph"]  # the merge value reached the render


def test_render_errors_name_the_problem(server: VidlakeServer, tmp_path: Path) -> None:
    (tmp_path / "tpl.json").write_text(json.dumps(TEMPLATE))
    result = run(server, str(tmp_path / "tpl.json"))
    assert result.returncode == 1 and "second" in result.stderr
    bad = json.loads(json.dumps(TEMPLATE["edit"]).replace("{{title}}", "x").replace("{{second}}", "#000000"))
    bad["timeline"]["tracks"][1]["clips"][1]["start"] = -1
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    result = run(server, str(tmp_path / "bad.json"), "--wait")
    assert result.returncode == 1
    assert "timeline.tracks[1].clips[1].start: must be >= 0" in result.stderr.replace("\n", "")
