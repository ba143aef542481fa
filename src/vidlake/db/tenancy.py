"""Reading one row of one environment: the tenancy check every resource getter shares."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from vidlake.core.errors import NotFound


class _Owned(Protocol):
    environment_id: str


T = TypeVar("T", bound=_Owned)


def get_owned(session: Session, model: type[T], row_id: str, environment_id: str, what: str) -> T:
    """The ``model`` row ``row_id`` if it belongs to ``environment_id`` and is not soft-deleted (a
    ``deleted_at`` that is set). Anything else is the same :class:`NotFound` naming ``what`` (e.g.
    ``"asset"``), so a caller cannot tell another environment's row from a missing one."""
    row = session.get(model, row_id)
    if row is None or row.environment_id != environment_id or getattr(row, "deleted_at", None) is not None:
        raise NotFound(f"{what} {row_id!r} not found")
    return row
