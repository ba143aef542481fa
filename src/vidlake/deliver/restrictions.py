"""Playback restrictions, enforced as Mux does: a signed playback id's token may name one
(``playback_restriction_id`` claim); every playback URL with that token then checks the viewer's
``Referer`` and ``User-Agent`` against it. A public id or a token naming none is not restricted.

Referrer: the Referer's host must match one of ``allowed_domains`` (``example.com`` exactly,
``*.example.com`` any subdomain but not the bare domain, ``*`` any host); no Referer passes only with
``allow_no_referrer``. User agent: none passes only with ``allow_no_user_agent``; a high-risk one (a
download tool or scripting library rather than a player or browser, ``HIGH_RISK_AGENTS``) only with
``allow_high_risk_user_agent``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from vidlake.core.errors import Forbidden
from vidlake.db.models import PlaybackRestriction

#: User agents of download tools and HTTP libraries (lower case substrings): what Mux calls high risk.
HIGH_RISK_AGENTS = ("curl/", "wget/", "python-requests", "python-httpx", "python-urllib", "aiohttp",
                    "go-http-client", "okhttp", "libwww-perl", "lavf/", "ffmpeg", "yt-dlp", "youtube-dl",
                    "aria2", "headlesschrome", "phantomjs", "java/", "node-fetch", "axios/", "undici")
#: Defaults of a restriction's parts, as Mux's API documents them.
DEFAULT_REFERRER: dict[str, Any] = {"allowed_domains": ["*"], "allow_no_referrer": True}
DEFAULT_USER_AGENT: dict[str, Any] = {"allow_no_user_agent": True, "allow_high_risk_user_agent": True}
_DOMAIN = re.compile(r"(\*|(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)")


@dataclass(frozen=True)
class Viewer:
    """What a playback request says about its viewer (raw header values, None when absent)."""

    referer: str | None
    user_agent: str | None


def viewer_of(request: Request) -> Viewer:
    """The viewer of a playback request."""
    return Viewer(request.headers.get("referer") or None, request.headers.get("user-agent") or None)


ViewerDep = Annotated[Viewer, Depends(viewer_of)]


def check_domain(domain: str) -> str:
    """``domain`` lower-cased if it is a host name, ``*.`` wildcard or ``*``; ``ValueError`` otherwise."""
    value = domain.strip().lower()
    if len(value) > 253 or not _DOMAIN.fullmatch(value):
        raise ValueError(f"{domain!r} is not a domain name, '*.domain' or '*'")
    return value


def _domain_allowed(host: str, allowed: list[str]) -> bool:
    for pattern in allowed:
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and host != pattern[2:]:
            return True
    return False


def high_risk(user_agent: str) -> bool:
    """True for a download tool or HTTP library's user agent."""
    lowered = user_agent.lower()
    return any(marker in lowered for marker in HIGH_RISK_AGENTS)


def enforce(session: Session, environment_id: str, restriction_id: object, viewer: Viewer | None) -> None:
    """Raise ``Forbidden`` unless ``viewer`` passes restriction ``restriction_id`` (of the environment).
    A token naming an unknown restriction is refused (fail closed), as is a request whose viewer is
    unknown."""
    row = session.get(PlaybackRestriction, restriction_id) if isinstance(restriction_id, str) else None
    if row is None or row.environment_id != environment_id:
        raise Forbidden("token: unknown playback restriction (playback_restriction_id)")
    if viewer is None:
        raise Forbidden("playback restriction: this URL cannot check the viewer")
    referrer = {**DEFAULT_REFERRER, **(row.referrer or {})}
    if viewer.referer is None:
        if not referrer["allow_no_referrer"]:
            raise Forbidden("playback restriction: a Referer header is required")
    else:
        host = (urlsplit(viewer.referer).hostname or "").lower()
        if not host or not _domain_allowed(host, list(referrer["allowed_domains"])):
            raise Forbidden("playback restriction: this referrer's domain is not allowed")
    agent = {**DEFAULT_USER_AGENT, **(row.user_agent or {})}
    if viewer.user_agent is None:
        if not agent["allow_no_user_agent"]:
            raise Forbidden("playback restriction: a User-Agent header is required")
    elif high_risk(viewer.user_agent) and not agent["allow_high_risk_user_agent"]:
        raise Forbidden("playback restriction: this user agent is not allowed")
