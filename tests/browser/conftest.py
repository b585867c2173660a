"""Browser tests: real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
against a live server of the testing app with the demo seed.

- `live_server`: the test's seeded app (a fresh database per test, as every app test has) served
  by werkzeug on a free port of 127.0.0.1, in a thread of this process; so under xdist every
  worker has its own servers and ports. Its URL is `live_server.url`.
- `page`: a new browser context and page per test (one Chromium per worker); dialogs such as
  confirm() are accepted. When the test fails, a full-page screenshot is saved under
  tests/browser/artifacts/ (gitignored) and its path printed.
- `signed_in(page, live_server, username)`: signs in through the sign-in page.
- Without /usr/bin/chromium (or Playwright) the tests skip, unless HUIMIN_REQUIRE_BROWSER=1
  (CI sets it): then they fail, so a CI run cannot pass with the browser tests silently skipped.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import seed_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DEMO_PASSWORD = "huimin-demo-2026"


def _browser_missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium():
    missing = _browser_missing()
    if missing:
        if os.environ.get("HUIMIN_REQUIRE_BROWSER") == "1":
            pytest.fail(f"HUIMIN_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class LiveServer:
    app: object
    url: str


@pytest.fixture
def live_server(chromium, app):
    """The test's app, seeded, served on a free port until the test ends."""
    seed_app(app)
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["db_session"].remove()


@pytest.fixture
def page(chromium, request):
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    browser_page = context.new_page()
    browser_page.on("dialog", lambda dialog: dialog.accept())
    try:
        yield browser_page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
            path = ARTIFACTS / f"{name}.png"
            try:
                browser_page.screenshot(path=str(path), full_page=True)
                print(f"\nscreenshot of the failed browser test: {path}")
            except Exception as exc:  # the page may be gone; the failure itself is reported
                print(f"\nno screenshot ({exc})")
        context.close()


def signed_in(page, live_server: LiveServer, username: str, password: str = DEMO_PASSWORD):
    """Sign in through the console's sign-in page; returns the page on the console home."""
    page.goto(f"{live_server.url}/console/sign-in")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/(?!sign-in).*"))
    return page
