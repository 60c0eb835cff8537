"""The Inside page in a real browser: its URL entered first on a fresh server, then after a run.

A shared link to /inside on a server that has just started must give the whole app (its
navigation, title and frame, app/shell.py), the page's "no run yet" view with the way to the
Explorer; after training there, the page draws the heatmaps, the epoch slider and the script.
"""

from __future__ import annotations

import re
import time

import pytest

import harness

PAGES = harness.NAVIGATION


def _links(page, timeout: float = 15.0) -> list[str]:
    """The navigation's link titles once they are the app's (pages-directory mode may show the
    folder's files for a moment first)."""
    nav = page.get_by_test_id("stSidebarNav")
    nav.wait_for(state="visible")
    deadline = time.perf_counter() + timeout
    while True:
        texts = [re.sub(r"\s+", " ", text).strip() for text in nav.get_by_role("link").all_inner_texts()]
        titles = [re.sub(r"^\W+\s*", "", text) for text in texts]
        if titles == PAGES or time.perf_counter() > deadline:
            return titles
        page.wait_for_timeout(100)


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_inside_entered_first_on_a_fresh_server_then_after_a_run(unprimed_server, tabs):
    page = tabs.open(unprimed_server("inside-first"), "/inside")

    harness.wait_for_text(page, "Inside the network", timeout=60_000)
    assert _links(page) == PAGES
    page.wait_for_function("() => document.title === 'LSTM explorer'", timeout=15_000)
    harness.wait_for_text(page, re.compile(r"^No run yet"), timeout=60_000)
    # The shape trace of the current settings (drawn once TensorFlow has loaded).
    harness.wait_for_figures(page, "(figures, arg, titleOf) => figures.some(f => titleOf(f).startsWith("
                                   "'How the shape changes'))", timeout=90_000)
    harness.screenshot(page, "inside-entered-first")

    # The link to the Explorer, a short run there, and back by the navigation.
    page.get_by_test_id("stMainBlockContainer").get_by_role("link", name=re.compile("Go to the Explorer")).click()
    harness.wait_for_controls(page)
    harness.set_number(page, "epochs", 200)
    harness.main_button(page, "Train").click()
    harness.wait_for_text(page, re.compile(r"^epoch 200 / 200 · loss"), timeout=90_000)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Inside the network").click()
    harness.wait_for_figures(page, "(figures, arg, titleOf) => figures.some(f => titleOf(f).startsWith('Inside'))"
                                   " && figures.some(f => titleOf(f).startsWith('Target vs prediction at epoch 200'))",
                             timeout=90_000)
    harness.wait_for_text(page, "The code behind this run")
    download = page.get_by_test_id("stDownloadButton")
    download.wait_for(state="visible", timeout=30_000)
    assert "Download the script" in download.inner_text()
    # The script itself, highlighted, in a code block of its own.
    harness.wait_for_text(page, re.compile(r"model\.fit\("))
    assert page.get_by_role("slider").count() >= 2  # the epoch and the step
    harness.wait_until_idle(page)
    harness.screenshot(page, "inside-after-run")
    assert page.locator(harness.FAILURE_SELECTOR).count() == 0
    tabs.assert_clean()
