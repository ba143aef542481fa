"""Failed attempts per address, for refusing brute-force key guessing early (thread-safe).

The SRT listen callback runs on a libsrt thread, so this is the one piece of SRT ingest state that
is shared across threads; a lock guards it.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class FailureLog:
    """Counts failures per IP address over the last ``window_s`` seconds; ``limit`` failures block.

    At most ``max_addresses`` addresses are remembered (the oldest is forgotten first), so a flood
    from many addresses cannot grow memory without bound.
    """

    def __init__(self, window_s: float, limit: int, max_addresses: int = 10_000) -> None:
        self.window_s = window_s
        self.limit = limit
        self.max_addresses = max_addresses
        self._by_ip: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, ip: str, now: float) -> deque[float] | None:
        times = self._by_ip.get(ip)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._by_ip[ip]
            return None
        return times

    def record(self, ip: str, now: float | None = None) -> None:
        """Count one failure of ``ip`` (``now``: monotonic seconds override)."""
        t = time.monotonic() if now is None else now
        with self._lock:
            times = self._prune(ip, t)
            if times is None:
                if len(self._by_ip) >= self.max_addresses:
                    del self._by_ip[next(iter(self._by_ip))]
                times = self._by_ip[ip] = deque(maxlen=max(1, self.limit))
            times.append(t)

    def count(self, ip: str, now: float | None = None) -> int:
        """Failures of ``ip`` within the window."""
        t = time.monotonic() if now is None else now
        with self._lock:
            times = self._prune(ip, t)
            return 0 if times is None else len(times)

    def blocked(self, ip: str, now: float | None = None) -> bool:
        """True if ``ip`` reached ``limit`` failures within the window."""
        return self.limit > 0 and self.count(ip, now) >= self.limit
