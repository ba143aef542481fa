"""Headless Debian Chromium for browser tests, driven by Python playwright (never a downloaded browser)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--autoplay-policy=no-user-gesture-required"]


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """A launched browser; fails (not skips) when Chromium is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def console_sign_in(page: Any, base_url: str, token_id: str, token_secret: str) -> None:
    """Sign ``page`` in to the console at ``base_url`` through the token form; waits for the assets list."""
    page.goto(f"{base_url}/console/sign-in")
    page.fill("#token-form input[name=token_id]", token_id)
    page.fill("#token-form input[name=token_secret]", token_secret)
    page.click("#token-form button[type=submit]")
    page.wait_for_url(f"{base_url}/console")
