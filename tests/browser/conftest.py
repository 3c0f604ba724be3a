"""Browser tests: Playwright drives Debian's Chromium (``/usr/bin/chromium``, installed by
``make test`` when missing; a browser is never downloaded) against a platform started the
way a user starts it (``mercato up``), with the courier sped up so orders are delivered in
seconds. Every page a test opens is checked for Content-Security-Policy violations and
script errors: a page that breaks its own policy fails the test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.system.platform import Platform, make_platform, wait_for

CHROMIUM = Path(os.environ.get("MERCATO_CHROMIUM", "/usr/bin/chromium"))
# As root Chromium needs --no-sandbox; the rest keep it off this machine's closed network.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]
COURIER_SPEEDUP = "20"  # shipped ~3 s, delivered ~9 s after the confirmation: seen on a 1 s poll


@pytest.fixture(scope="session")
def shop(tmp_path_factory) -> Platform:
    p = make_platform(tmp_path_factory.mktemp("shop"), MERCATO_COURIER_SPEEDUP=COURIER_SPEEDUP)
    p.start()
    with p.client() as api:  # the demo catalog is seeded just after "ready"
        wait_for(lambda: api.get("/api/v1/catalog/products?limit=1").json()["items"], 60,
                 "the demo catalog")
    yield p
    code = p.stop()
    assert code == 0, f"mercato up exited {code}:\n{p.output.read_text()}"


@pytest.fixture(scope="module")
def browser() -> Browser:
    """One Chromium per module: Playwright's sync API keeps an event loop running in this
    thread while it is open, so it is closed before any other module's tests run."""
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium "
                    f"(apt-get install -y chromium)")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def shot(screenshot_dir):
    """``shot(page, "name")`` saves a full-page PNG under the test session's temp dir and,
    when ``MERCATO_SCREENSHOTS`` names a folder (``make screenshots``), there too."""
    extra = os.environ.get("MERCATO_SCREENSHOTS")

    def take(page: Page, name: str) -> Path:
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(extra) / path.name)
        return path

    return take


def new_page(browser: Browser, shop: Platform) -> tuple[Page, list[str]]:
    """A page in a fresh browser context (its own cookies) and the list its console errors
    and CSP violations are collected in."""
    context = browser.new_context(base_url=shop.url, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return page, problems


@pytest.fixture
def page(browser, shop):
    opened, problems = new_page(browser, shop)
    yield opened
    opened.context.close()
    policy = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert not policy, f"the page broke its Content-Security-Policy: {policy}"
    scripts = [p for p in problems if "Failed to load resource" not in p]
    assert not scripts, f"script errors on the page: {scripts}"


@pytest.fixture
def second_page(browser, shop):
    """Another visitor, with cookies of their own."""
    opened, _ = new_page(browser, shop)
    yield opened
    opened.context.close()
