"""The explorer page in a real browser: settings through the widgets, Train, the charts."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

import harness

# A short run whose shape differs from the tutorial's in every setting the test changes.
TOPOLOGY_LABEL, TOPOLOGY_KEY = "Many-to-one", "many_to_one"
SEQUENCE_LENGTH, UNITS, EPOCHS = 6, 9, 300

def _progress_pattern(done: int, total: int) -> re.Pattern:
    return re.compile(rf"^epoch {done:,} / {total:,} · loss")


def _figure(page, prefix: str) -> dict:
    figures = harness.figures_titled(page, prefix)
    assert len(figures) == 1, f"expected one chart titled {prefix!r}, found {[f['title'] for f in harness.plotly_figures(page)]}"
    return figures[0]


def _start_replay(page, speed: str) -> None:
    """Pick the replay speed (the whole run's length, e.g. "10 s"), press Replay, wait for its first frame."""
    page.get_by_test_id("stMain").get_by_text(speed, exact=True).click()
    harness.wait_until_idle(page)
    harness.main_button(page, "▶ Replay the run").click()
    harness.wait_for_text(page, re.compile(r"^▶ Replay · epoch"), timeout=30_000)


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
def test_train_through_the_widgets(app_server, tabs):
    page = tabs.open(app_server, "/")
    harness.wait_for_controls(page)

    # --- Settings through the real widgets: a select box, and number inputs (type + Enter).
    harness.choose_topology(page, TOPOLOGY_LABEL, TOPOLOGY_KEY)
    harness.set_number(page, "sequence_length", SEQUENCE_LENGTH)
    harness.set_number(page, "units", UNITS)
    harness.set_number(page, "epochs", EPOCHS)
    harness.expect(page.get_by_role("combobox", name="Topology")).to_have_value(re.compile(rf"{TOPOLOGY_LABEL}$"))
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
    assert TOPOLOGY_LABEL in prediction["title"]  # the title names the run
    traces = {trace["name"]: trace for trace in prediction["traces"]}
    assert set(traces) == {"target", "prediction"}
    expected_targets = (np.arange(SEQUENCE_LENGTH) / SEQUENCE_LENGTH).astype(np.float32).astype(np.float64)
    assert traces["target"]["x"] == list(range(SEQUENCE_LENGTH))
    np.testing.assert_array_equal(traces["target"]["y"], expected_targets)
    assert traces["prediction"]["x"] == list(range(SEQUENCE_LENGTH))
    assert np.all(np.isfinite(traces["prediction"]["y"]))
    harness.screenshot(page, "main-page-after-training")

    # Stop on a long run, and how fast the browser keeps up: tests/browser/test_keeping_up.py.
    tabs.assert_clean()


@pytest.mark.browser
@pytest.mark.timeout(150)
def test_replay_plays_the_run_back_and_stop_ends_it(app_server, tabs):
    """Classroom pace: a finished run replays over 10 s in the same charts; Stop ends the replay
    at once and the page shows the run's own final charts again."""
    page = tabs.open(app_server, "/")
    harness.wait_for_controls(page)
    harness.set_number(page, "epochs", EPOCHS)
    harness.main_button(page, "Train").click()
    harness.wait_for_text(page, _progress_pattern(EPOCHS, EPOCHS), timeout=60_000)
    harness.wait_until_idle(page)

    # The report and the model are made when their button is pressed (deferred downloads).
    with page.expect_download(timeout=30_000) as report:
        harness.main_button(page, "Report (HTML)").click()
    text = Path(report.value.path()).read_text(encoding="utf-8")
    assert report.value.suggested_filename.endswith(".html") and "Training loss" not in text[:100]
    assert text.count('class="plotly-graph-div"') >= 2 and "<h2>Settings</h2>" in text
    with page.expect_download(timeout=30_000) as model:
        harness.main_button(page, "Trained model (.keras)").click()
    assert model.value.suggested_filename.endswith(".keras")
    assert Path(model.value.path()).read_bytes()[:2] == b"PK"  # a .keras file is a zip archive

    _start_replay(page, "10 s")
    # Mid-replay: the loss chart holds part of the real history (frame 0 is epoch 0: empty).
    harness.wait_for_figures(
        page,
        """(figures, arg, titleOf) => figures.some(f => titleOf(f).includes('replay: epoch'))
            && figures.some(f => titleOf(f).startsWith('Training loss')
                && f.traces[0].y.length > 0 && f.traces[0].y.length < arg.epochs)""",
        arg={"epochs": EPOCHS},
    )

    stopped = time.monotonic()
    harness.main_button(page, "Stop").click()
    harness.wait_for_text(page, _progress_pattern(EPOCHS, EPOCHS), timeout=10_000)
    _wait_for_result_charts(page, EPOCHS, 5)
    assert time.monotonic() - stopped < 5, "Stop did not end the replay promptly"
    assert "replay" not in _figure(page, "Target vs prediction")["title"]
    assert page.get_by_text(re.compile(r"^▶ Replay · epoch")).count() == 0
    tabs.assert_clean()


@pytest.mark.browser
@pytest.mark.timeout(150)
def test_a_run_padded_to_its_length_bucket_trains_and_replays_its_own_steps(app_server, tabs):
    """One-to-many at length 7 is trained 8 steps long (its length bucket): the prediction chart,
    and every frame of its replay, has the 7 real steps, nothing of the padded one."""
    page = tabs.open(app_server, "/", topology="one_to_many", sequence_length="7", epochs="60")
    harness.wait_for_controls(page)
    harness.wait_for_query(page, {"topology": "one_to_many", "sequence_length": "7"})
    harness.main_button(page, "Train").click()
    harness.wait_for_text(page, _progress_pattern(60, 60), timeout=60_000)
    _wait_for_result_charts(page, 60, 7)
    _start_replay(page, "3 s")
    harness.wait_for_figures(
        page,
        """(figures, arg, titleOf) => figures.some(f => titleOf(f).includes('replay: epoch')
            && f.traces.every(t => t.x.length === arg.steps))""",
        arg={"steps": 7},
    )
    # The replay ends by itself with the run's own charts back.
    harness.wait_for_figures(page, "(figures, arg, titleOf) => !figures.some(f => titleOf(f).includes('replay: epoch'))",
                             timeout=30_000)
    harness.wait_until_idle(page)
    _wait_for_result_charts(page, 60, 7)
    assert page.locator(harness.FAILURE_SELECTOR).count() == 0
    tabs.assert_clean()
