"""What every console page starts with: the language, the signed-in principal, its CSRF token, and the
redirect to sign-in (or the 403 for a write) when there is none. Pages built on it need no prologue."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vidlake.api.deps import ServicesDep
from vidlake.auth.tokens import Principal
from vidlake.console import i18n
from vidlake.console.pages import _current, _html, _lang, _layout, _write_check


@dataclass(frozen=True)
class PageContext:
    """A signed-in request: ``lang`` (``en``/``zh``), ``principal``, the session's ``csrf`` token."""

    lang: str
    principal: Principal
    csrf: str

    def t(self, key: str) -> str:
        """Message ``key``, HTML-escaped."""
        return escape(i18n.t(self.lang, key))

    def csrf_input(self) -> str:
        """The hidden form field every write form carries."""
        return f'<input type="hidden" name="csrf" value="{escape(self.csrf)}">'

    def page(self, body: str, status: int = 200) -> HTMLResponse:
        """``body`` inside the console layout."""
        return _html(_layout(self.lang, body, self.principal, self.csrf), status)

    def date(self, ts: float | None) -> str:
        """A Unix time per locale, escaped (``-`` when unknown)."""
        return escape(i18n.fmt_date(self.lang, ts)) if ts is not None else "-"


def page_context(request: Request, services: ServicesDep) -> PageContext | Response:
    """The context of a signed-in request, else the redirect to sign-in."""
    current = _current(request, services)
    if current is None:
        return RedirectResponse("/console/sign-in", status_code=303)
    return PageContext(_lang(request), current[0], current[1].csrf)


def write_context(request: Request, services: ServicesDep, csrf: str) -> PageContext | Response:
    """As :func:`page_context` for a write: also checks the CSRF token and write permission (403)."""
    current = _current(request, services)
    refused = _write_check(request, _lang(request), current, csrf)
    if refused is not None:
        return refused
    assert current is not None
    return PageContext(_lang(request), current[0], current[1].csrf)
