"""Every URL of the app, entered first on a freshly started server, gives the same app.

Streamlit's "pages directory" mode runs a page file alone when a fresh server's first request is
that page's URL (a shared link); the app must still have its title, its navigation with exactly
its pages, its emoji icons, the wide layout, and working training (app/shell.py).
"""

from __future__ import annotations

import re
import time

import pytest

import harness

PAGES = harness.NAVIGATION


def _train_explorer(page) -> None:
    harness.wait_for_controls(page)
    harness.set_number(page, "epochs", 200)
    harness.main_button(page, "Train").click()
    harness.wait_for_text(page, re.compile(r"^epoch 200 / 200 · loss"), timeout=90_000)
    harness.wait_for_figures(page, "(figures, arg, titleOf) => figures.some(f => titleOf(f).startsWith('Target vs prediction'))")
    assert page.locator(harness.FAILURE_SELECTOR).count() == 0
    assert harness.warning_texts(page) == []


def _train_compare(page) -> None:
    train_all = harness.main_button(page, "Train all")
    train_all.wait_for(state="visible", timeout=60_000)
    page.get_by_test_id("stSidebar").get_by_text("Equal epochs", exact=True).click()
    epochs = page.locator(".st-key-compare_epochs input")
    harness.expect(epochs).to_be_enabled()
    epochs.fill("60")
    epochs.press("Enter")
    harness.wait_for_query(page, {"epochs": "60", "budget": "equal"})
    train_all.click()
    harness.wait_until_idle(page, timeout=120_000)
    harness.wait_for_figures(page, "(figures, arg, titleOf) => figures.some(f => titleOf(f).startsWith("
                                   "'Training loss per topology') && f.traces.every(t => t.y.length === 60))",
                             timeout=120_000)
    assert page.locator(harness.FAILURE_SELECTOR).count() == 0


@pytest.mark.browser
@pytest.mark.timeout(240)
@pytest.mark.parametrize("path", ["/", "/compare"])
def test_each_url_entered_first_on_a_fresh_server_is_the_whole_app(unprimed_server, tabs, path):
    name = "entry" + (path.replace("/", "-") if path != "/" else "-root")
    page = tabs.open(unprimed_server(name), path)
    if path == "/compare":
        harness.check_app_frame(page)
        _train_compare(page)
    else:
        harness.wait_for_controls(page)
        harness.check_app_frame(page)
        _train_explorer(page)
    harness.screenshot(page, f"entered-first{name[5:]}")
    # The other page, reached by its link, is the same app too.
    other = PAGES[0] if path == "/compare" else PAGES[1]
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=other).click()
    harness.wait_until_idle(page)
    harness.check_app_frame(page)
    assert page.locator(harness.FAILURE_SELECTOR).count() == 0
    tabs.assert_clean()
