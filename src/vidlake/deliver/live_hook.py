"""How delivery asks the live side for a live stream's current HLS output.

The live package registers ``resolver`` at import; until then live playback ids are not playable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from vidlake.db.models import PlaybackId
    from vidlake.deliver.resolve import PlaybackTarget

LiveResolver = Callable[[Session, "PlaybackId"], "PlaybackTarget | None"]
_resolver: list[LiveResolver] = []


def register(resolver: LiveResolver) -> None:
    """Install the live resolver (called by ``vidlake.live`` on import)."""
    _resolver[:] = [resolver]


def resolve_live(session: Session, pid: PlaybackId) -> PlaybackTarget | None:
    """The live stream's current target, or None."""
    return _resolver[0](session, pid) if _resolver else None
