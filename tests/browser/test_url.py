"""Settings in the URL, in a real browser: good ones fill the widgets, nonsense gets messages."""

from __future__ import annotations

import re

import pytest

import harness

GOOD = {"topology": "many_to_one", "sequence_length": "7", "units": "9", "epochs": "123", "seed": "3"}

# Every kind of nonsense at once: letters, a negative number, an unknown topology, NaN,
# full-width digits and a parameter the app does not have.
NONSENSE = {
    "units": "abc",
    "epochs": "-5",
    "topology": "nope",
    "learning_rate": "nan",
    "seed": "１２",
    "unknown": "1",
}
# A message must name each of these (the app quotes the parameter and its value).
EXPECTED_MESSAGES = ("units=abc", "epochs=-5", "topology=nope", "learning_rate=nan", "unknown")


def _no_traceback(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, "an exception element is on the page"
    body = page.locator("body").inner_text()
    assert "Traceback" not in body, body[:2000]


@pytest.mark.browser
@pytest.mark.timeout(60)
def test_url_settings_fill_the_widgets(app_server, tabs):
    page = tabs.open(app_server, "/", **GOOD)
    harness.wait_for_controls(page)
    harness.wait_until_idle(page)

    harness.expect(page.get_by_role("combobox", name="Topology")).to_have_value(re.compile("Many-to-one$"))
    for key in ("sequence_length", "units", "epochs", "seed"):
        harness.expect(harness.number_input(page, key)).to_have_value(GOOD[key])
    # The app writes the whole config back to the URL, keeping these values.
    shown = harness.wait_for_query(page, GOOD)
    assert set(shown) >= {"batch_size", "learning_rate"}
    assert harness.warning_texts(page) == [], "good settings must not produce messages"
    _no_traceback(page)
    harness.screenshot(page, "url-settings")
    tabs.assert_clean()


@pytest.mark.browser
@pytest.mark.timeout(60)
def test_url_nonsense_shows_messages_and_no_traceback(app_server, tabs):
    page = tabs.open(app_server, "/", **NONSENSE)
    harness.wait_for_controls(page)
    harness.wait_until_idle(page)
    page.locator(harness.WARNING_SELECTOR).first.wait_for(state="visible")

    assert len(harness.warning_texts(page)) == 1, "the messages belong in one box"
    messages = "\n".join(harness.warning_texts(page))
    missing = [fragment for fragment in EXPECTED_MESSAGES if fragment not in messages]
    assert not missing, f"no message about {missing}; the page says:\n{messages}"

    # Every widget holds a valid value: the defaults, or the nearest allowed value.
    harness.expect(page.get_by_role("combobox", name="Topology")).to_have_value(re.compile("One-to-one$"))
    harness.expect(harness.number_input(page, "units")).to_have_value("5")
    harness.expect(harness.number_input(page, "epochs")).to_have_value("1")
    harness.expect(page.get_by_test_id("stSidebar").get_by_text("0.001", exact=True)).to_be_visible()
    # Full-width digits are refused like any other non-number: the default seed, with a message.
    harness.expect(harness.number_input(page, "seed")).to_have_value("7")
    assert "seed=" in messages, "no message about the full-width seed"
    # The URL now holds the valid config, and nothing the app does not know.
    query = harness.wait_for_query(page, {"topology": "one_to_one", "units": "5", "epochs": "1"})
    assert "unknown" not in query
    _no_traceback(page)
    harness.screenshot(page, "url-nonsense")
    tabs.assert_clean()
