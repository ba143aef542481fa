"""Request checks of an effects list that need the database: every ``src`` (a background, a sticker)
names a picture of the caller's environment. Shared by the asset job, edits and live streams."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from vidlake.core.errors import InvalidParameters
from vidlake.edit.service import LibraryResolver
from vidlake.edit.validate import ResolveError
from vidlake.effects.base import Params
from vidlake.runtime import Services


def check_sources(session: Session, services: Services, environment_id: str, params: Sequence[Params], *,
                  field: str = "effects") -> None:
    """Every ``src`` of ``params`` names a picture of ``environment_id``; else a 400 naming the field."""
    resolver = LibraryResolver(services, environment_id, session=session)
    for i, p in enumerate(params):
        src = getattr(p, "src", None)
        if src is None:
            continue
        try:
            info = resolver(src)
        except (ResolveError, LookupError, ValueError) as exc:
            raise InvalidParameters(f"{field}[{i}].src: cannot use {src!r}: {exc}") from None
        if not info.has_video:
            raise InvalidParameters(f"{field}[{i}].src: {src!r} has no picture")
