"""URL pull: download an http(s) input into a local file, refusing SSRF targets at every redirect.

Limits: ``max_bytes`` (bytes, also checked against Content-Length up front) and ``timeout_s``
(seconds, wall clock for the whole transfer). At most ``MAX_REDIRECTS`` redirects, each re-checked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

import httpx

from vidlake.core.errors import InvalidParameters
from vidlake.core.netguard import check_url, guarded_transport

MAX_REDIRECTS = 5
CHUNK = 1024 * 1024


class PullError(Exception):
    """The input could not be fetched; ``str(exc)`` is a message for the asset's errors."""


def pull(
    url: str,
    dest: Path,
    *,
    allow_private: bool,
    max_bytes: int,
    timeout_s: float,
    on_progress: Callable[[int, int | None], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Download ``url`` to ``dest``; returns the byte count. Raises ``PullError``."""
    deadline = time.monotonic() + timeout_s
    current = url
    with httpx.Client(follow_redirects=False, timeout=httpx.Timeout(30.0, connect=10.0),
                      transport=guarded_transport(allow_private=allow_private),
                      headers={"User-Agent": "Vidlake-Ingest/1"}) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                check_url(current, field="input url", allow_private=allow_private)
            except InvalidParameters as exc:
                raise PullError(exc.messages[0]) from exc
            try:
                with client.stream("GET", current) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise PullError(f"redirect from {current} without a Location")
                        current = urljoin(current, location)
                        continue
                    if response.status_code != 200:
                        raise PullError(f"input url answered HTTP {response.status_code}")
                    declared = response.headers.get("content-length")
                    total = int(declared) if declared and declared.isdigit() else None
                    if total is not None and total > max_bytes:
                        raise PullError(f"input is {total} bytes, over the limit of {max_bytes} bytes")
                    received = 0
                    with dest.open("wb") as out:
                        for chunk in response.iter_bytes(CHUNK):
                            received += len(chunk)
                            if received > max_bytes:
                                raise PullError(f"input is larger than the limit of {max_bytes} bytes")
                            if time.monotonic() > deadline:
                                raise PullError(f"input download took longer than {timeout_s:.0f} s")
                            if should_stop is not None and should_stop():
                                raise PullError("download stopped")
                            out.write(chunk)
                            if on_progress is not None:
                                on_progress(received, total)
                    if total is not None and received != total:
                        raise PullError(f"input ended after {received} of {total} bytes")
                    return received
            except httpx.HTTPError as exc:
                raise PullError(f"could not fetch input url: {type(exc).__name__}: {exc}") from exc
    raise PullError(f"more than {MAX_REDIRECTS} redirects")
