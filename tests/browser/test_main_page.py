"""The explorer page in a real browser: settings through the widgets, Train, the charts, Stop."""

from __future__ import annotations

import re

import numpy as np
import pytest

import harness

# A short run whose shape differs from the tutorial's in every setting the test changes.
TOPOLOGY_LABEL, TOPOLOGY_KEY = "Many-to-one", "many_to_one"
SEQUENCE_LENGTH, UNITS, EPOCHS = 6, 9, 300

# The long run for Stop: the slowest shape the sidebar offers (50 one-step samples, 64 units,
# batch 1: 50 updates per epoch) and as many epochs as the page allows (read from the widget).
LONG_TOPOLOGY_LABEL, LONG_TOPOLOGY_KEY = "One-to-one", "one_to_one"
LONG_SEQUENCE_LENGTH, LONG_UNITS, LONG_BATCH_SIZE = 50, 64, 1


def _progress_pattern(done: int, total: int) -> re.Pattern:
    return re.compile(rf"^epoch {done:,} / {total:,} · loss")


def _figure(page, prefix: str) -> dict:
    figures = harness.figures_titled(page, prefix)
    assert len(figures) == 1, f"expected one chart titled {prefix!r}, found {[f['title'] for f in harness.plotly_figures(page)]}"
    return figures[0]


def _wait_for_result_charts(page, epochs: int, sequence_length: int) -> None:
    """The run's final charts are drawn and nothing of the previous run is left on the page."""
    harness.wait_until_idle(page)
    harness.wait_for_figures(
        page,
        """(figures, arg, titleOf) => {
            const loss = figures.filter(f => titleOf(f).startsWith('Training loss'));
            const pred = figures.filter(f => titleOf(f).startsWith('Target vs prediction'));
            return loss.length === 1 && pred.length === 1
                && loss[0].traces.length === 1 && loss[0].traces[0].y.length === arg.epochs
                && pred[0].traces.length === 2 && pred[0].traces.every(t => t.y.length === arg.length);
        }""",
        arg={"epochs": epochs, "length": sequence_length},
    )


@pytest.mark.browser
@pytest.mark.timeout(150)
def test_train_through_the_widgets_then_stop_a_long_run(app_server, tabs):
    page = tabs.open(app_server, "/")
    harness.wait_for_controls(page)

    # --- Settings through the real widgets: a select box, and number inputs (type + Enter).
    harness.choose_topology(page, TOPOLOGY_LABEL, TOPOLOGY_KEY)
    harness.set_number(page, "sequence_length", SEQUENCE_LENGTH)
    harness.set_number(page, "units", UNITS)
    harness.set_number(page, "epochs", EPOCHS)
    harness.expect(page.get_by_role("combobox", name="Topology")).to_have_value(TOPOLOGY_LABEL)
    harness.expect(harness.number_input(page, "sequence_length")).to_have_value(str(SEQUENCE_LENGTH))
    harness.expect(harness.number_input(page, "units")).to_have_value(str(UNITS))
    harness.expect(harness.number_input(page, "epochs")).to_have_value(str(EPOCHS))

    harness.main_button(page, "Train").click()
    harness.wait_for_text(page, _progress_pattern(EPOCHS, EPOCHS), timeout=60_000)
    _wait_for_result_charts(page, EPOCHS, SEQUENCE_LENGTH)

    loss = _figure(page, "Training loss")
    assert loss["traces"][0]["name"] == TOPOLOGY_LABEL
    assert loss["traces"][0]["x"] == list(range(1, EPOCHS + 1))
    losses = np.array(loss["traces"][0]["y"])
    assert np.all(np.isfinite(losses)) and np.all(losses > 0)
    assert losses[-1] < losses[0], "the loss did not fall"

    prediction = _figure(page, "Target vs prediction")
    assert prediction["title"].endswith(TOPOLOGY_LABEL)
    traces = {trace["name"]: trace for trace in prediction["traces"]}
    assert set(traces) == {"target", "prediction"}
    expected_targets = (np.arange(SEQUENCE_LENGTH) / SEQUENCE_LENGTH).astype(np.float32).astype(np.float64)
    assert traces["target"]["x"] == list(range(SEQUENCE_LENGTH))
    np.testing.assert_array_equal(traces["target"]["y"], expected_targets)
    assert traces["prediction"]["x"] == list(range(SEQUENCE_LENGTH))
    assert np.all(np.isfinite(traces["prediction"]["y"]))
    harness.screenshot(page, "main-page-after-training")

    # --- A long run, stopped by the Stop button: the partial curve stays.
    harness.choose_topology(page, LONG_TOPOLOGY_LABEL, LONG_TOPOLOGY_KEY)
    harness.set_number(page, "sequence_length", LONG_SEQUENCE_LENGTH)
    harness.set_number(page, "units", LONG_UNITS)
    harness.set_number(page, "batch_size", LONG_BATCH_SIZE)
    long_epochs = int(harness.number_input(page, "epochs").get_attribute("max"))
    assert long_epochs >= 2_000, f"the page allows only {long_epochs} epochs: too short a run to stop"
    harness.set_number(page, "epochs", long_epochs)

    harness.main_button(page, "Train").click()
    harness.wait_for_text(page, re.compile(rf"^epoch [1-9][\d,]* / {long_epochs:,} · loss"), timeout=60_000)
    harness.main_button(page, "Stop").click()

    stop_message = harness.wait_for_text(
        page, re.compile(r"Training stopped after epoch [\d,]+ of .* you pressed Stop"), timeout=30_000
    )
    match = re.search(r"after epoch ([\d,]+) of ([\d,]+)", stop_message.inner_text())
    stopped_at = int(match.group(1).replace(",", ""))
    assert int(match.group(2).replace(",", "")) == long_epochs
    assert 0 < stopped_at < long_epochs
    harness.wait_for_text(page, _progress_pattern(stopped_at, long_epochs))
    _wait_for_result_charts(page, stopped_at, LONG_SEQUENCE_LENGTH)
    partial = _figure(page, "Training loss")["traces"][0]
    assert len(partial["y"]) == stopped_at
    assert partial["x"] == list(range(1, stopped_at + 1))
    assert np.all(np.isfinite(partial["y"]))
    assert page.locator('[data-testid="stException"]').count() == 0
    harness.screenshot(page, "main-page-after-stop")

    tabs.assert_clean()
