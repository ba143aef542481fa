"""How many of the Video/System (or, with ``--data``, Data) operations that mux-python calls a Vidlake app serves.

Every ``call_api('<path>', '<METHOD>', ...)`` of mux-python's Video and System API classes is one
operation (79 in mux-python 5.1.2). An operation is *served* when the app has a route for its method
and path, and *answered as unsupported* when that route is tagged ``not supported`` (it gives Mux's
error shape and says why). Run: ``python bench/mux_sdk_coverage.py [--list]``.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mux_python

#: mux-python's API modules for Video and System (Data's monitoring/metrics APIs are another product).
VIDEO_SYSTEM_MODULES = (
    "assets_api", "delivery_usage_api", "direct_uploads_api", "drm_configurations_api", "live_streams_api",
    "playback_id_api", "playback_restrictions_api", "signing_keys_api", "spaces_api",
    "transcription_vocabularies_api", "url_signing_keys_api", "web_inputs_api",
)
#: mux-python's Data (Mux Data) API modules, counted with ``--data``.
DATA_MODULES = (
    "metrics_api", "video_views_api", "dimensions_api", "errors_api", "filters_api", "exports_api",
    "incidents_api", "real_time_api", "monitoring_api", "annotations_api",
)
_CALL = re.compile(r"call_api\(\s*'([^']+)',\s*'([A-Z]+)'")
UNSUPPORTED_TAG = "not supported"


@dataclass(frozen=True)
class Operation:
    """One SDK operation and how the app answers it: ``served``, ``unsupported`` or ``missing``."""

    module: str
    method: str
    path: str
    status: str


def sdk_operations(modules: tuple[str, ...] = VIDEO_SYSTEM_MODULES) -> list[tuple[str, str, str]]:
    """(module, HTTP method, path with ``{PARAM}`` placeholders) of every call in mux-python's ``modules``."""
    folder = Path(mux_python.__file__).parent / "api"
    out = []
    for module in modules:
        for path, method in _CALL.findall((folder / f"{module}.py").read_text()):
            out.append((module, method, path))
    return out


def coverage(data: bool = False) -> list[Operation]:
    """Each SDK operation matched against the OpenAPI paths of a fresh app (on a temporary data dir)."""
    from vidlake.api.app import create_app
    from vidlake.core.settings import Settings
    from vidlake.db.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        upgrade(settings.database_url)
        spec = create_app(settings).openapi()["paths"]
    routes = [(re.compile(re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), ops) for path, ops in spec.items()
              if path.startswith(("/data/",) if data else ("/video/", "/system/"))]
    result = []
    for module, method, path in sdk_operations(DATA_MODULES if data else VIDEO_SYSTEM_MODULES):
        concrete = re.sub(r"\{[A-Z_]+\}", "x1", path)
        status = "missing"
        for pattern, ops in routes:
            op = ops.get(method.lower())
            if op is not None and pattern.match(concrete):
                status = "unsupported" if UNSUPPORTED_TAG in op.get("tags", []) else "served"
                break
        result.append(Operation(module, method, path, status))
    return result


def main() -> None:
    """Print the counts (and with ``--list`` every operation)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list", action="store_true", help="print every operation with its status")
    parser.add_argument("--data", action="store_true", help="the Data (Mux Data) operations instead")
    args = parser.parse_args()
    ops = coverage(data=args.data)
    if args.list:
        for op in ops:
            print(f"{op.status:12} {op.method:6} {op.path}")
    counts = {s: sum(op.status == s for op in ops) for s in ("served", "unsupported", "missing")}
    print(f"{len(ops)} operations: {counts['served']} served, {counts['unsupported']} answered as not "
          f"supported, {counts['missing']} missing")


if __name__ == "__main__":
    main()
