"""The web page in a real browser: Debian's Chromium driven by Playwright, against the session's local stack.

- ``browser`` (session): one Chromium for the whole run (``CHROMIUM_PATH``, default /usr/bin/chromium; install it
  with ``scripts/install-browser``). Playwright's own browser download is never used. Each ``launch`` gets a
  fresh, temporary user-data directory from Playwright, and every test a fresh context (no storage, no cache).
- ``open_page(**context_options)``: a new context and page that record everything: console errors, uncaught
  errors, and every request the browser makes. ``PageRecord.assert_clean()`` checks none went wrong.
- ``screenshot(page, name)``: saves a full-page PNG under test-artifacts/web/ (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, expect, sync_playwright

from tests.e2e.conftest import RunningStack
from tests.helpers import ROOT

ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Headless, and nothing the browser would fetch on its own (updates, sync, field trials, QUIC probes).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 60_000  # generous: the machine is shared; every wait is on a condition, never a fixed pause
DESKTOP = {"width": 1280, "height": 900}
expect.set_options(timeout=TIMEOUT_MS)  # for expect(...) assertions; the contexts' default covers the rest


@dataclass
class PageRecord:
    context: BrowserContext
    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [request.url for request in self.requests]

    def assert_clean(self, *, expected_console_errors: Callable[[str], bool] = lambda _: False) -> None:
        """No console error (CSP violations included) or uncaught exception, and no request left 127.0.0.1."""
        assert self.page_errors == []
        assert [text for text in self.console_errors if not expected_console_errors(text)] == []
        assert self.requests, "the page made no request at all"
        elsewhere = [
            url for url in self.urls if urlsplit(url).scheme != "http" or urlsplit(url).hostname != "127.0.0.1"
        ]
        assert elsewhere == []


@pytest.fixture(scope="session")
def browser(running_local_stack: RunningStack) -> Iterator[Browser]:
    """Chromium, closed before the local stack stops (it is started after it), so that the stack never stops
    with the browser's connections still open."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Chromium with scripts/install-browser (or set CHROMIUM_PATH)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., PageRecord]]:
    contexts: list[BrowserContext] = []

    def open_page(**options: Any) -> PageRecord:
        context = browser.new_context(**{"viewport": DESKTOP, **options})
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        record = PageRecord(context, context.new_page())
        context.on("request", lambda request: record.requests.append(request))
        record.page.on("console", lambda message: _console(record, message))
        record.page.on("pageerror", lambda error: record.page_errors.append(str(error)))
        return record

    yield open_page
    for context in contexts:
        context.close()


def _console(record: PageRecord, message: ConsoleMessage) -> None:
    if message.type == "error":
        record.console_errors.append(f"{message.text} ({message.location.get('url')})")


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    def take(page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
