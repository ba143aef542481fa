"""Browser and operating system of a viewer from the beacon's ``User-Agent`` (rules, no database).

mux-embed leaves ``viewer_application_name`` and ``viewer_os_family`` empty unless the page sets them
(Mux derives them on its servers); Vidlake derives them here, from the first rule that matches.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Client(NamedTuple):
    """What a ``User-Agent`` says: names and versions, ``None`` when unknown."""

    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None


#: (browser, pattern with the version as group 1), in order: the more specific first (Edge and Opera also
#: say "Chrome"; Chrome also says "Safari"; headless Chromium says "HeadlessChrome").
_BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(pattern)) for name, pattern in (
    ("Edge", r"Edg(?:e|A|iOS)?/([\d.]+)"),
    ("Opera", r"(?:OPR|Opera)/([\d.]+)"),
    ("Samsung Internet", r"SamsungBrowser/([\d.]+)"),
    ("WeChat", r"MicroMessenger/([\d.]+)"),
    ("UC Browser", r"UCBrowser/([\d.]+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/([\d.]+)"),
    ("Chrome", r"(?:HeadlessChrome|Chrome|CriOS)/([\d.]+)"),
    ("Safari", r"Version/([\d.]+).*Safari/"),
))

_OSES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(pattern)) for name, pattern in (
    ("Windows", r"Windows NT ([\d.]+)"),
    ("iOS", r"(?:iPhone|iPad|iPod).*? OS ([\d_]+)"),
    ("Android", r"Android ([\d.]+)"),
    ("ChromeOS", r"CrOS \S+ ([\d.]+)"),
    ("macOS", r"Mac OS X ([\d_.]+)"),
    ("HarmonyOS", r"HarmonyOS ?([\d.]*)"),
    ("Linux", r"Linux()"),
))


def parse(user_agent: str | None) -> Client:
    """The browser and OS named by ``user_agent``."""
    ua = user_agent or ""
    browser = version = os_name = os_version = None
    for name, pattern in _BROWSERS:
        match = pattern.search(ua)
        if match:
            browser, version = name, match.group(1)
            break
    for name, pattern in _OSES:
        match = pattern.search(ua)
        if match:
            os_name, os_version = name, (match.group(1).replace("_", ".") or None)
            break
    return Client(browser, version, os_name, os_version)
