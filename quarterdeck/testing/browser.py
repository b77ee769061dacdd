"""Browser journeys: Playwright driving Debian's Chromium against Django's live server.

Never downloads a browser. Tests using the `page` fixture are marked `browser` and are skipped,
with a note, on a machine without Chromium.
"""

import os

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15000)
    pg = context.new_page()
    yield pg
    # Leave the app before the test database is flushed: polling requests (notification bell,
    # progress) still in flight would otherwise hold locks while the tables are truncated.
    pg.goto("about:blank")
    pg.wait_for_timeout(300)
    context.close()


def login(page, email: str, password: str = "password") -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
