"""A classroom in one server: several tabs train at the same moment, each gets its own exact run.

Each tab is a browser context of its own (a separate Streamlit session) with its settings in
the URL. All press Train nearly at once; then each tab's loss curve, read from the Plotly DOM,
must equal `lstm_core.train(config).losses` computed in this test process, bit for bit: the
engine seeds every initializer from the config and its compiled function is stateless, so
neither the other sessions nor the thread a run lands on may change a single value.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

import harness

EPOCHS = 1000
# Two tabs share one config on purpose: the same seed trained at the same moment in two
# threads of one process is where global seeding goes wrong.
CLASSROOM = [
    {"topology": "one_to_one", "seed": "11", "epochs": str(EPOCHS)},
    {"topology": "one_to_one", "seed": "11", "epochs": str(EPOCHS)},
    {"topology": "many_to_one", "seed": "12", "units": "7", "epochs": str(EPOCHS)},
    {"topology": "many_to_many", "seed": "13", "epochs": str(EPOCHS)},
]


def _loss_trace(page) -> dict:
    figures = harness.figures_titled(page, "Training loss")
    assert len(figures) == 1 and len(figures[0]["traces"]) == 1, harness.plotly_figures(page)
    return figures[0]["traces"][0]


@pytest.mark.browser
@pytest.mark.timeout(150)
def test_tabs_training_at_once_each_match_a_run_alone(fresh_server, tabs):
    pages = []
    for settings in CLASSROOM:
        page = tabs.open(fresh_server, "/", **settings)
        harness.wait_for_controls(page)
        pages.append(page)
    # Every session has read its URL and written its full config back.
    configs = [harness.wait_for_query(page, settings) for page, settings in zip(pages, CLASSROOM)]

    # Nearly at once: the clicks are dispatched one after another without waiting between them.
    pressed = time.perf_counter()
    for page in pages:
        harness.main_button(page, "Train").click(no_wait_after=True)
    spread = time.perf_counter() - pressed
    for page in pages:
        harness.wait_for_text(page, re.compile(rf"^epoch {EPOCHS:,} / {EPOCHS:,} · loss"), timeout=90_000)
        # Generous waits: four sessions draw at once on two cores that other work may be loading.
        harness.wait_until_idle(page, timeout=60_000)
        harness.wait_for_figures(
            page,
            "(figures, epochs, titleOf) => figures.some(f => titleOf(f).startsWith('Target vs prediction')) && "
            "figures.some(f => titleOf(f).startsWith('Training loss') && f.traces[0].y.length === epochs)",
            arg=EPOCHS,
            timeout=60_000,
        )
    browser_losses = [np.array(_loss_trace(page)["y"], dtype=np.float64) for page in pages]
    for index, page in enumerate(pages, start=1):
        harness.screenshot(page, f"classroom-tab{index}-{CLASSROOM[index - 1]['topology']}")
    tabs.assert_clean()

    # The same configs trained alone, one after another, in this process.
    import lstm_core
    from lstm_core import ExperimentConfig

    for index, (query, shown) in enumerate(zip(configs, browser_losses), start=1):
        config = ExperimentConfig.from_query_params(query)
        alone = lstm_core.train(config).losses
        assert alone.dtype == np.float32 and len(alone) == EPOCHS
        assert len(shown) == EPOCHS, f"tab {index}: {len(shown)} points"
        mismatch = np.flatnonzero(shown != alone.astype(np.float64))
        assert mismatch.size == 0, (
            f"tab {index} ({query}): {mismatch.size} of {EPOCHS} losses differ from the run alone, "
            f"first at epoch {mismatch[0] + 1}: {shown[mismatch[0]]!r} vs {float(alone[mismatch[0]])!r} "
            f"(Train pressed in all tabs within {spread:.2f} s)"
        )
    np.testing.assert_array_equal(browser_losses[0], browser_losses[1])
