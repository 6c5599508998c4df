"""Browser tests: the real app on 127.0.0.1 over a committed SQLite file, driven by Debian's Chromium.

The server runs in another thread, so the rolled-back fixture of tests/conftest.py cannot be used: each
module gets its own migrated database file and commits for real.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from plugin.app import create_app
from plugin.core.clock import SystemClock
from plugin.core.config import Settings
from plugin.core.db import make_engine, make_session_factory
from plugin.migrate import upgrade
from tests.fakes.server import serve_in_thread

CHROMIUM = Path(os.environ.get("OUTCOMEDESK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def with_pages(app: FastAPI) -> FastAPI:
    """The app serves its pages and the demo-helpdesk API itself; kept as a named step for readability."""
    return app


@pytest.fixture(scope="module")
def e2e_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def e2e_sessions(e2e_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(e2e_engine)


@pytest.fixture(scope="module")
def live_server(e2e_engine: Engine) -> Iterator[str]:
    settings = Settings(database_url=str(e2e_engine.url))
    app = with_pages(create_app(settings, engine=e2e_engine, clock=SystemClock()))
    with serve_in_thread(app) as base_url:
        yield base_url


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (Debian package `chromium`)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    # Nothing may come from the internet: any request off the test server fails the test.
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith((live_server, "blob:", "data:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert outside == [], f"pages requested outside resources: {outside}"
    assert errors == [], f"JavaScript errors: {errors}"


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target


UNLABELLED = """() => Array.from(document.querySelectorAll("input, select, textarea, button"))
  .filter((node) => node.type !== "hidden" && !node.closest("[hidden]"))
  .filter((node) => !(node.labels && node.labels.length) && !node.getAttribute("aria-label")
    && !(node.tagName === "BUTTON" && node.textContent.trim()))
  .map((node) => node.outerHTML.slice(0, 80))"""


def assert_accessible_basics(page: Any) -> None:
    """Landmarks, one h1, every control named: what a screen-reader user needs to find their way."""
    assert page.locator("main").count() == 1
    assert page.locator("h1").count() == 1
    assert page.evaluate(UNLABELLED) == []
