"""Mux's official Node SDK (``@mux/mux-node``, a devDependency in package.json) driven from tests.

``run_node`` runs a small async JavaScript body with ``mux`` (a client pointed at a Vidlake server: only
``baseURL`` changes) and ``input`` (JSON from the test) in scope; what the body returns comes back as
JSON. The SDK is loaded from the project root's ``node_modules`` (``npm ci``), never from elsewhere.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MUX_NODE = ROOT / "node_modules" / "@mux" / "mux-node"

_PRELUDE = """
const { default: Mux } = require(process.env.MUX_NODE_PATH);
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const mux = new Mux({ tokenId: input.tokenId, tokenSecret: input.tokenSecret, baseURL: input.baseURL,
                      webhookSecret: input.webhookSecret ?? null, maxRetries: 0 });
(async () => {
%s
})().then((out) => { process.stdout.write(JSON.stringify(out === undefined ? null : out)); },
          (err) => { process.stdout.write(JSON.stringify({ error: String(err && err.message || err),
                                                             status: err && err.status || null }));
                     process.exitCode = 3; });
"""


class NodeError(AssertionError):
    """The script threw: ``status`` is the HTTP status of an API error (None for others)."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(f"{message} (HTTP {status})")
        self.status = status


def available() -> bool:
    """True when node and the SDK are installed (``npm ci`` in the project root)."""
    return shutil.which("node") is not None and (MUX_NODE / "package.json").is_file()


def run_node(script: str, base_url: str, auth: tuple[str, str], **values: Any) -> Any:
    """Run ``script`` (JavaScript inside an async function) and return its JSON result; raises ``NodeError``
    when it throws."""
    payload = {"baseURL": base_url, "tokenId": auth[0], "tokenSecret": auth[1], **values}
    env = {"PATH": "/usr/bin:/bin", "MUX_NODE_PATH": str(MUX_NODE), "HOME": str(ROOT)}
    done = subprocess.run(["node", "-e", _PRELUDE % script], input=json.dumps(payload).encode(), env=env,
                          capture_output=True, timeout=120, cwd=ROOT)
    out = done.stdout.decode()
    if done.returncode not in (0, 3) or not out:
        raise AssertionError(f"node failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    result = json.loads(out)
    if done.returncode == 3:
        raise NodeError(result["error"], result["status"])
    return result
