"""The one owner of "which stream key is live on which connection", shared by the RTMP and SRT servers.

Only the server's event loop touches it, so plain dicts suffice (no locks). A key is *claimed* before
``authorize`` runs, so two publishers racing for the same key cannot both get in.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from vidlake.live.stats import SessionStats
    from vidlake.live.target import PublishInfo

C = TypeVar("C")


class SessionRegistry(Generic[C]):
    """Maps stream keys to the connection that holds them, and counts pending connections per IP."""

    def __init__(self) -> None:
        self._by_key: dict[str, C] = {}
        self.pending_by_ip: Counter[str] = Counter()

    def claim(self, key: str, conn: C) -> bool:
        """Reserve ``key`` for ``conn``; ``False`` if another connection holds it."""
        holder = self._by_key.get(key)
        if holder is not None and holder is not conn:
            return False
        self._by_key[key] = conn
        return True

    def release(self, key: str, conn: C) -> None:
        """Free ``key`` if ``conn`` holds it."""
        if self._by_key.get(key) is conn:
            del self._by_key[key]

    def add_pending(self, ip: str) -> None:
        """A connection from ``ip`` has not published yet."""
        self.pending_by_ip[ip] += 1

    def drop_pending(self, ip: str) -> None:
        """A connection from ``ip`` counted by :meth:`add_pending` published or ended."""
        self.pending_by_ip[ip] -= 1
        if self.pending_by_ip[ip] <= 0:
            del self.pending_by_ip[ip]

    def get(self, key: str) -> C | None:
        """The connection holding ``key``."""
        return self._by_key.get(key)

    def items(self) -> list[tuple[str, C]]:
        """(key, connection) pairs."""
        return list(self._by_key.items())


class RegistryViews:
    """What a server answers about its live keys from its ``registry`` (shared by the RTMP and SRT
    servers; their connections have ``publishing``, ``info`` and ``snapshot()``)."""

    registry: SessionRegistry[Any]

    def live_keys(self) -> list[str]:
        """Stream keys with an accepted, running publish."""
        return [key for key, conn in self.registry.items() if conn.publishing]

    def session_info(self, key: str) -> PublishInfo | None:
        """The publish info of the live session on ``key``."""
        conn = self.registry.get(key)
        info: PublishInfo | None = conn.info if conn is not None and conn.publishing else None
        return info

    def stats(self, key: str) -> SessionStats | None:
        """Statistics of the session on ``key`` (``None`` when nothing is live on it)."""
        conn = self.registry.get(key)
        snapshot: SessionStats | None = conn.snapshot() if conn is not None and conn.info is not None else None
        return snapshot

    async def kick(self, key: str, reason: str = "kicked") -> bool:
        """Disconnect the publisher of ``key`` (e.g. after a key reset); ``True`` if there was one.

        Returns once the connection is closed and its target got ``on_stop(reason)``.
        """
        conn = self.registry.get(key)
        if conn is None:
            return False
        await conn.kick(reason)
        return True


async def end_task(task: asyncio.Task[None] | None, grace_s: float) -> None:
    """Wait up to ``grace_s`` seconds for a connection's task to finish after its socket was closed;
    cancel it if it has not, and wait as long again."""
    if task is None or task.done():
        return
    _done, pending = await asyncio.wait({task}, timeout=grace_s)
    if pending:
        task.cancel()
        await asyncio.wait({task}, timeout=grace_s)
