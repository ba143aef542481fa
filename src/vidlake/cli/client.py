"""A small HTTP client for the Vidlake API, used by the user-facing CLI commands.

Connection settings: ``--server`` or ``VIDLAKE_URL`` (default ``http://127.0.0.1:8000``), and an access
token as ``VIDLAKE_TOKEN_ID`` / ``VIDLAKE_TOKEN_SECRET`` (or ``--token ID:SECRET``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

CHUNK_BYTES = 8 * 1024 * 1024


class ApiError(Exception):
    """The server answered with an error; ``str()`` holds its messages."""


class VidlakeClient:
    """Authenticated calls to one Vidlake server."""

    def __init__(self, server: str | None = None, token: str | None = None, timeout_s: float = 60.0) -> None:
        self.server = (server or os.environ.get("VIDLAKE_URL") or "http://127.0.0.1:8000").rstrip("/")
        if token:
            token_id, _, secret = token.partition(":")
        else:
            token_id = os.environ.get("VIDLAKE_TOKEN_ID", "")
            secret = os.environ.get("VIDLAKE_TOKEN_SECRET", "")
        if not token_id or not secret:
            raise ApiError("no access token: set VIDLAKE_TOKEN_ID and VIDLAKE_TOKEN_SECRET, or pass --token ID:SECRET")
        self.http = httpx.Client(base_url=self.server, auth=(token_id, secret), timeout=timeout_s)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; returns ``data`` or raises ``ApiError``."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.server}: {exc}") from exc
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError as exc:
            raise ApiError(f"HTTP {response.status_code} from {path}: {response.text[:200]}") from exc
        if response.status_code >= 400:
            messages = body.get("error", {}).get("messages", []) if isinstance(body, dict) else []
            raise ApiError(f"HTTP {response.status_code}: {'; '.join(messages) or response.text[:200]}")
        return body.get("data")

    def upload_file(self, path: Path, settings: dict[str, Any],
                    on_bytes: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Create a direct upload and send ``path`` in ``CHUNK_BYTES`` chunks (Content-Range), resuming
        from the server's offset after a dropped connection. Returns the upload after the last chunk."""
        upload = self.call("POST", "/video/v1/uploads", json={"new_asset_settings": settings})
        total = path.stat().st_size
        offset = 0
        retries = 0
        with path.open("rb") as fh:
            while offset < total or total == 0:
                fh.seek(offset)
                chunk = fh.read(CHUNK_BYTES)
                end = offset + len(chunk) - 1
                headers = {"Content-Range": f"bytes {offset}-{end}/{total}" if total else "bytes */0"}
                try:
                    response = httpx.put(upload["url"], content=chunk, headers=headers, timeout=300)
                except httpx.HTTPError as exc:
                    retries += 1
                    if retries > 5:
                        raise ApiError(f"upload failed: {exc}") from exc
                    time.sleep(min(30, 2**retries))
                    offset = self._server_offset(upload["url"], total)
                    continue
                if response.status_code in (200, 201):
                    offset = total
                    if on_bytes:
                        on_bytes(total)
                    break
                if response.status_code == 308:
                    offset = self._range_end(response.headers.get("range"))
                    if on_bytes:
                        on_bytes(offset)
                    continue
                raise ApiError(f"upload chunk answered HTTP {response.status_code}: {response.text[:200]}")
        return dict(self.call("GET", f"/video/v1/uploads/{upload['id']}"))

    @staticmethod
    def _range_end(header: str | None) -> int:
        if not header or "-" not in header:
            return 0
        return int(header.rsplit("-", 1)[1]) + 1

    def _server_offset(self, url: str, total: int) -> int:
        response = httpx.put(url, headers={"Content-Range": f"bytes */{total}"}, timeout=30)
        return self._range_end(response.headers.get("range")) if response.status_code == 308 else 0

    def wait_asset(self, asset_id: str, timeout_s: float = 3600,
                   on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Poll the asset until it is fully processed or errored."""
        deadline = time.monotonic() + timeout_s
        while True:
            asset: dict[str, Any] = self.call("GET", f"/video/v1/assets/{asset_id}")
            if on_progress:
                on_progress(asset)
            if asset["status"] == "errored" or asset.get("progress", {}).get("state") == "completed":
                return asset
            if time.monotonic() > deadline:
                raise ApiError(f"asset {asset_id} still {asset['status']} after {timeout_s:.0f} s")
            time.sleep(0.5)

    def wait_analysis(self, analysis_id: str, timeout_s: float = 3600) -> dict[str, Any]:
        """Poll an analysis until it is completed or errored; returns it with its results."""
        deadline = time.monotonic() + timeout_s
        while True:
            analysis: dict[str, Any] = self.call("GET", f"/video/v1/analyses/{analysis_id}")
            if analysis["status"] in ("completed", "errored"):
                return analysis
            if time.monotonic() > deadline:
                raise ApiError(f"analysis {analysis_id} still {analysis['status']} after {timeout_s:.0f} s")
            time.sleep(0.5)

    def wait_upload_asset(self, upload_id: str, timeout_s: float = 300) -> str:
        """The asset id of a finished upload."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            upload = self.call("GET", f"/video/v1/uploads/{upload_id}")
            if upload.get("asset_id"):
                return str(upload["asset_id"])
            if upload["status"] in ("errored", "cancelled", "timed_out"):
                raise ApiError(f"upload {upload_id} ended {upload['status']}: {upload.get('error')}")
            time.sleep(0.3)
        raise ApiError(f"upload {upload_id} made no asset in {timeout_s:.0f} s")

    def wait_edit(self, edit_id: str, timeout_s: float = 3600,
                  on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Poll the edit (``/video/v1/edits``) until it is completed, errored or cancelled."""
        deadline = time.monotonic() + timeout_s
        while True:
            edit: dict[str, Any] = self.call("GET", f"/video/v1/edits/{edit_id}")
            if on_progress:
                on_progress(edit)
            if edit["status"] not in ("queued", "rendering"):
                return edit
            if time.monotonic() > deadline:
                raise ApiError(f"edit {edit_id} still {edit['status']} after {timeout_s:.0f} s")
            time.sleep(0.5)
