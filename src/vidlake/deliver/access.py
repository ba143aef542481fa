"""Who may play what: a playback id resolved with its token checked, the token carried on (encoded) to
the URIs a response lists, and the HLS paths a viewer may ask for."""

from __future__ import annotations

import re

from vidlake.core.errors import Forbidden, InvalidParameters
from vidlake.deliver.resolve import PlaybackTarget, resolve
from vidlake.deliver.restrictions import Viewer, enforce
from vidlake.deliver.signing import check_token, token_query, verify_token
from vidlake.runtime import Services

#: An HLS file below a playback id: ``/``-separated names of letters, digits, ``-``, ``_`` and inner dots
#: (what Vidlake's packagers write; no empty, ``.`` or ``..`` part, no backslash or control character).
_HLS_PATH = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*(?:/[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)*")
#: Longest HLS path accepted (characters).
MAX_HLS_PATH = 300


def authorize(services: Services, playback_id: str, token: str | None, audience: str,
              viewer: Viewer | None = None) -> PlaybackTarget:
    """Resolve ``playback_id``; a malformed ``token`` is a 403 on any id, a signed id needs a valid one
    for ``audience`` (``v``, ``t``, ``g``, ``s``), and ``viewer`` must pass the playback restriction the
    token names, if any. Raises ``NotFound``, ``NotReady`` or ``Forbidden``."""
    token = check_token(token)
    with services.db.session() as session:
        target = resolve(session, playback_id)
        if target.policy == "signed":
            if not token:
                raise Forbidden("token: a signed playback id needs ?token=")
            claims = verify_token(session, token, environment_id=target.environment_id,
                                  playback_id=playback_id, audience=audience)
            if claims.get("playback_restriction_id") is not None:
                enforce(session, target.environment_id, claims["playback_restriction_id"], viewer)
    return target


def carried_query(target: PlaybackTarget, token: str | None) -> str:
    """The encoded ``token=`` query carried to the URIs a response lists: only a verified token of a
    signed id (a public id ignores tokens, so none is repeated into its cacheable playlists)."""
    return token_query(token) if target.policy == "signed" else ""


def suffix(query: str) -> str:
    """``?query`` for a URI, or nothing."""
    return f"?{query}" if query else ""


def check_hls_path(path: str) -> str:
    """``path`` if it may name an HLS file; a 400 naming the problem (never a storage key) otherwise."""
    if len(path) > MAX_HLS_PATH or not _HLS_PATH.fullmatch(path):
        raise InvalidParameters("path: must be '/'-separated names of letters, digits, '-', '_' and '.'")
    return path
