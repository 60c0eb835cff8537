"""The Lessons page in a real browser: a teacher's link to a step, entered first on a fresh server.

The link `/lessons?lesson=memory&step=4` must give the whole app on that step; pressing
"Train and reveal" draws the loss and target-vs-prediction charts and the explanation.
"""

from __future__ import annotations

import pytest

import harness


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_lesson_link_entered_first_on_a_fresh_server(unprimed_server, tabs):
    page = tabs.open(unprimed_server("lessons-first"), "/lessons", lesson="memory", step="4")

    harness.wait_for_text(page, "Step 4 of 4: Reverse, bidirectional", timeout=60_000)
    page.wait_for_function("() => document.title === 'LSTM explorer'", timeout=15_000)
    assert harness.query_params(page).get("step") == "4"
    page.get_by_text("Yes: its backward layer has read the end at every step").click()
    harness.main_button(page, "Train and reveal").click()
    harness.wait_for_text(page, "Right:", timeout=120_000)
    harness.wait_for_figures(page, "(figures, arg, titleOf) => figures.some(f => titleOf(f) === 'Loss') "
                                   "&& figures.some(f => titleOf(f).startsWith('Target vs prediction'))",
                             timeout=60_000)
    harness.screenshot(page, "lessons-entered-first")
    assert page.locator(harness.FAILURE_SELECTOR).count() == 0
    tabs.assert_clean()
