"""Playback ids: the public names assets and live streams are played under (``/{playback_id}.m3u8``).

Created here for both flows (an asset's ``playback_policy``, a live stream's, a live recording's);
``deliver.resolve`` turns one back into what it plays.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from vidlake.core.clock import now
from vidlake.core.ids import new_id
from vidlake.db.models import PlaybackId


def add_playback_id(session: Session, environment_id: str, policy: str, *, asset_id: str | None = None,
                    live_stream_id: str | None = None) -> PlaybackId:
    """A new playback id (``policy`` public or signed) of an asset or a live stream, added to ``session``."""
    pid = PlaybackId(id=new_id(), environment_id=environment_id, asset_id=asset_id, live_stream_id=live_stream_id,
                     policy=policy, created_at=now())
    session.add(pid)
    return pid
