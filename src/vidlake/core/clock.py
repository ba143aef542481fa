"""Time. Vidlake stores instants as float Unix seconds (UTC)."""

from __future__ import annotations

import time


def now() -> float:
    """Current Unix time in seconds."""
    return time.time()
