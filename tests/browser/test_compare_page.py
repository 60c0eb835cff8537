"""The comparison page in a real browser: every topology trained, one curve and one panel each."""

from __future__ import annotations

import re

import numpy as np
import pytest

import harness
from lstm_core import TOPOLOGIES, ExperimentConfig, compare

DEFAULT = compare.default_topologies()  # what the page compares unless told otherwise

EPOCHS = 50
SEQUENCE_LENGTH = ExperimentConfig().sequence_length  # the page's default, left as it is


def _panel_selector(key: str) -> str:
    return f".st-key-compare_prediction_{key} .js-plotly-plot"


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_train_all_topologies_with_equal_epochs(app_server, tabs):
    page = tabs.open(app_server, "/")
    harness.wait_for_controls(page)
    # As a user gets there: the sidebar's navigation link.
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compare topologies").click()
    train_all = harness.main_button(page, "Train all")
    train_all.wait_for(state="visible")

    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Equal epochs", exact=True).click()
    epochs = page.locator(".st-key-compare_epochs input")
    harness.expect(epochs).to_be_enabled()  # the rerun for "Equal epochs" has happened
    epochs.fill(str(EPOCHS))
    epochs.press("Enter")
    harness.expect(epochs).to_have_value(str(EPOCHS))
    chosen = page.locator(".st-key-compare_topologies").inner_text()
    labels = [TOPOLOGIES[key].label for key in DEFAULT]
    assert all(label in chosen for label in labels), f"not every topology is chosen: {chosen!r}"

    train_all.click()
    harness.wait_for_text(page, re.compile(rf"^Epochs: .*{EPOCHS}/{EPOCHS}$"), timeout=90_000)
    harness.wait_until_idle(page)
    harness.wait_for_figures(
        page,
        """(figures, arg, titleOf) => {
            const loss = figures.filter(f => titleOf(f).startsWith('Training loss per topology'));
            const panels = document.querySelectorAll('[class*="st-key-compare_prediction_"] .js-plotly-plot');
            return loss.length === 1 && loss[0].traces.length === arg.count
                && loss[0].traces.every(t => t.y.length === arg.epochs) && panels.length === arg.count;
        }""",
        arg={"count": len(DEFAULT), "epochs": EPOCHS},
        timeout=90_000,
    )
    assert page.locator(harness.EXCEPTION_SELECTOR).count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0

    (loss,) = [f for f in harness.plotly_figures(page) if f["title"].startswith("Training loss per topology")]
    assert [trace["name"] for trace in loss["traces"]] == labels
    for trace in loss["traces"]:
        assert trace["x"] == list(range(1, EPOCHS + 1)), trace["name"]
        assert np.all(np.isfinite(trace["y"])) and np.all(np.array(trace["y"]) > 0), trace["name"]

    expected_targets = (np.arange(SEQUENCE_LENGTH) / SEQUENCE_LENGTH).astype(np.float32).astype(np.float64)
    for key in DEFAULT:
        panels = harness.plotly_figures(page, _panel_selector(key))
        assert len(panels) == 1, f"{key}: {len(panels)} prediction panels"
        traces = {trace["name"]: trace for trace in panels[0]["traces"]}
        assert set(traces) == {"target", "prediction"}, key
        np.testing.assert_array_equal(traces["target"]["y"], expected_targets, err_msg=key)
        assert len(traces["prediction"]["y"]) == SEQUENCE_LENGTH, key
        assert np.all(np.isfinite(traces["prediction"]["y"])), key
    # Each topology's line of the status shows its last epoch.
    status = page.get_by_text(re.compile(r"^Epochs: ")).first.inner_text()
    assert status.count(f"{EPOCHS}/{EPOCHS}") == len(DEFAULT), status
    harness.screenshot(page, "compare-page-after-training")
    tabs.assert_clean()


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_delay_verdicts_and_seed_robustness(app_server, tabs):
    """A shared link to the delay task: one-to-one is marked ❌ with its reason, many-to-many ✅;
    three seeds each give a rate line, the spread and the median band, and a link to the Explorer."""
    page = tabs.open(app_server, "/compare?task=delay&topologies=one_to_one,many_to_many")
    train_all = harness.main_button(page, "Train all")
    train_all.wait_for(state="visible")
    train_all.click()
    harness.wait_for_text(page, re.compile(r"^Epochs: .*200/200 · .*200/200$"), timeout=90_000)
    harness.wait_until_idle(page)
    # The panel titles (bold); the table's cells say the same.
    titles = page.get_by_role("strong")
    harness.expect(titles.get_by_text("❌ 🟦 One-to-one", exact=True)).to_be_visible()
    harness.expect(titles.get_by_text("✅ 🟩 Many-to-many (TimeDistributed)", exact=True)).to_be_visible()
    harness.expect(page.get_by_text(re.compile(r"^Why: It sees one value per sample"))).to_be_visible()

    seeds = page.locator(".st-key-compare_seed_count input")
    seeds.fill("3")
    seeds.press("Enter")
    harness.wait_until_idle(page)  # the rerun's old copy of the section is gone
    harness.expect(seeds).to_have_value("3")
    run_seeds = page.get_by_role("button", name="Run 3 seeds")
    run_seeds.click()
    harness.wait_for_text(page, re.compile(r"One-to-one: 0 of 3 seeds solved"), timeout=90_000)
    harness.wait_for_text(page, re.compile(r"Many-to-many \(TimeDistributed\): 3 of 3 seeds solved"), timeout=30_000)
    harness.wait_until_idle(page)
    harness.wait_for_figures(
        page,
        """(figures, arg, titleOf) => figures.some(f => titleOf(f).startsWith('Final validation MSE'))
            && figures.some(f => titleOf(f).startsWith('Median validation loss'))""",
        timeout=30_000,
    )
    link = page.get_by_role("link", name=re.compile(r"^Open seed \d+ in the Explorer"))
    harness.expect(link).to_be_visible()
    assert page.locator(harness.EXCEPTION_SELECTOR).count() == 0
    harness.screenshot(page, "compare-page-seed-robustness")
    # One click opens that seed's run in the Explorer, its settings taken from the link.
    seed = re.search(r"Open seed (\d+)", link.inner_text()).group(1)
    link.click()
    harness.main_button(page, "Train").wait_for(state="visible", timeout=30_000)
    harness.wait_for_query(page, {"task": "delay", "seed": seed, "topology": "one_to_one", "units": "16"})
    assert page.locator(harness.EXCEPTION_SELECTOR).count() == 0
    tabs.assert_clean()
