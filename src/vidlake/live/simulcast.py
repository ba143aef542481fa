"""Simulcast: restream a live publish to RTMP/RTMPS targets without re-encoding.

Each target gets its own ``ffmpeg -c copy -f flv`` fed with the same FLV bytes as the live pipeline
(see :class:`vidlake.live.run.RunTarget`); a target that fails is dropped (status ``errored``) and
never stops the stream. Statuses: ``idle`` → ``broadcasting`` (while a publish runs) → ``idle``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from vidlake.core.errors import InvalidParameters
from vidlake.core.netguard import check_url
from vidlake.db.models import SimulcastTarget
from vidlake.live import streams
from vidlake.runtime import Services

log = logging.getLogger(__name__)

#: URL schemes a simulcast target may use.
SCHEMES = ("rtmp", "rtmps")


@dataclass(frozen=True)
class SimulcastDestination:
    """A target's id and the full URL ffmpeg publishes to (``{url}/{stream_key}``)."""

    target_id: str
    url: str


def destination(target: SimulcastTarget) -> SimulcastDestination:
    """Where ``target`` is published: its URL with the stream key appended as the last path part."""
    url = target.url.rstrip("/") + (f"/{target.stream_key}" if target.stream_key else "")
    return SimulcastDestination(target_id=target.id, url=url)


def destinations(session: Session, live_stream_id: str, *, allow_private: bool) -> list[SimulcastDestination]:
    """The stream's simulcast destinations, oldest first. Each target's host is checked again now, at
    publish time (:func:`vidlake.core.netguard.check_url`): a name that resolves to a loopback or private
    address (unless ``allow_private``) is left out and its target marked ``errored``."""
    out = []
    for target in streams.simulcast_targets_of(session, live_stream_id):
        try:
            check_url(target.url, field="url", allow_private=allow_private, schemes=SCHEMES)
        except InvalidParameters as exc:
            log.warning("simulcast target %s refused: %s", target.id, exc.messages[0])
            target.status = "errored"
            continue
        out.append(destination(target))
    return out


def set_status(services: Services, target_ids: list[str], status: str) -> None:
    """Set the status of simulcast targets (``broadcasting``, ``idle`` or ``errored``)."""
    if not target_ids:
        return
    with services.db.session() as session:
        for target_id in target_ids:
            target = session.get(SimulcastTarget, target_id)
            if target is not None and not (status == "idle" and target.status == "errored"):
                target.status = status
