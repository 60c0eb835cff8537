"""Fixtures for the real-browser tests: a Chromium, the app's server, and watched tabs.

Without playwright or /usr/bin/chromium every browser test skips with the reason; with the
environment variable CI=true the same situation is a failure, so CI cannot pass by skipping.
Screenshots go to test-artifacts/browser/ (kept out of git), with FAILED-<test>-tab<n>.png for
a failed test and each server's output as server-<name>.log next to them.

Every test's tabs are watched: a request to any host but the app's 127.0.0.1:<port>, a console
error, an uncaught page error or a traceback in the server's log fails the test.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402  (after the path set-up above)

IN_CI = os.environ.get("CI", "").strip().lower() == "true"

# The session server's per-run work cap (lstm_core.config reads LSTM_DASHBOARD_MAX_WORK). The
# default cap allows a few seconds of training at most, too short to press Stop reliably in the
# middle or to see whether the browser keeps up; this one allows the field's maximum of 20,000
# epochs for the slowest shape the sidebar offers (tens of seconds here).
LONG_RUN_MAX_WORK = 10**9


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def playwright_instance():
    reason = harness.browser_unavailable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true, so the browser tests must run, but: {reason}", pytrace=False)
        pytest.skip(f"browser tests need Playwright and Chromium: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance):
    # The folder shows what the last run saw: no screenshot or log of an older run is left.
    if harness.ARTIFACTS.is_dir():
        for old in [*harness.ARTIFACTS.glob("*.png"), *harness.ARTIFACTS.glob("*.log")]:
            old.unlink()
    chromium = harness.launch_chromium(playwright_instance)
    yield chromium
    chromium.close()


def _started_server(request, browser, name: str, env: dict[str, str] | None = None) -> harness.AppServer:
    # The server's output is kept next to the screenshots, for a person to read after a failure.
    server = harness.AppServer(env=env, name=name, log_path=harness.ARTIFACTS / f"server-{name}.log")
    # The finalizer is registered before the start, so the process is stopped by its id
    # however the test or the start itself ends.
    request.addfinalizer(server.stop)
    server.start()
    harness.prime(browser, server)
    return server


@pytest.fixture(scope="session")
def app_server(request, browser) -> harness.AppServer:
    """One server for the main-page, URL and comparison tests (each test gets its own sessions)."""
    return _started_server(request, browser, "session", env={"LSTM_DASHBOARD_MAX_WORK": str(LONG_RUN_MAX_WORK)})


@pytest.fixture
def unprimed_server(request):
    """Starts a server of the test's own whose very first request is the test's: a shared link
    opened on a freshly started server. `unprimed_server(name)` gives it, started and healthy."""

    def start(name: str) -> harness.AppServer:
        server = harness.AppServer(name=name, log_path=harness.ARTIFACTS / f"server-{name}.log")
        request.addfinalizer(server.stop)
        server.start()
        return server

    return start


@pytest.fixture
def fresh_server(request, browser) -> harness.AppServer:
    """A server of its own, with the default work cap, for a test that needs isolation."""
    return _started_server(request, browser, "fresh")


class Tabs:
    """Opens tabs, each in a browser context of its own (a separate Streamlit session), and
    watches every request, console error and page error in them."""

    def __init__(self, browser):
        self.browser = browser
        self.opened: list[tuple[object, harness.PageWatch, harness.AppServer]] = []
        # Where each server's log stood when this test first used it: its errors from then on
        # are this test's.
        self.log_marks: dict[int, tuple[harness.AppServer, int]] = {}

    def open(self, server: harness.AppServer, path: str = "/", before_load=None, **query):
        """A new tab at `path`; `before_load(page)`, if given, runs before the page is requested
        (to route its WebSocket, say)."""
        self.log_marks.setdefault(id(server), (server, server.log_size()))
        context = self.browser.new_context(viewport=harness.VIEWPORT)
        context.set_default_timeout(30_000)
        watch = harness.PageWatch(context)
        page = context.new_page()
        self.opened.append((page, watch, server))
        if before_load is not None:
            before_load(page)
        page.goto(server.url(path, **query))
        return page

    def server_errors(self) -> list[str]:
        return [
            f"server log: {error}" for server, mark in self.log_marks.values() for error in server.log_errors(mark)
        ]

    def problems(self) -> list[str]:
        browser = [problem for _, watch, server in self.opened for problem in watch.problems(server.origin)]
        return browser + self.server_errors()

    def assert_clean(self) -> None:
        """Only the app's own address was asked for, no console or page errors appeared, and the
        server logged no traceback meanwhile (see test-artifacts/browser/server-*.log)."""
        for _, watch, server in self.opened:
            watch.assert_clean(server.origin)
        errors = self.server_errors()
        assert not errors, "the server logged:\n  " + "\n  ".join(errors)

    def close(self, failed_test: str | None) -> None:
        for index, (page, _, _) in enumerate(self.opened):
            if failed_test is not None and not page.is_closed():
                try:
                    harness.screenshot(page, f"FAILED-{failed_test}-tab{index + 1}")
                except Exception:  # noqa: BLE001 - a screenshot must not hide the real failure
                    pass
            page.context.close()


@pytest.fixture
def tabs(request, browser):
    opened = Tabs(browser)
    yield opened
    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    opened.close(re.sub(r"[^\w.-]+", "_", request.node.name) if failed else None)
    if not failed:
        # Anything the tabs did after the test's own check (closing included) is checked too.
        problems = opened.problems()
        assert not problems, "the browser saw:\n  " + "\n  ".join(problems)
