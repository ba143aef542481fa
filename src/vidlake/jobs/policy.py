"""Retry policy: exponential backoff with jitter."""

from __future__ import annotations

import random


def backoff_s(attempt: int, base_s: float, max_s: float) -> float:
    """Delay in seconds before retry number ``attempt`` (1 = first retry): base·2^(n-1), ±10 %."""
    if base_s <= 0:
        return 0.0
    delay = min(max_s, base_s * (2 ** max(0, attempt - 1)))
    return max(0.0, delay * random.uniform(0.9, 1.1))
