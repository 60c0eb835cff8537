"""The main page (dashboard.py) driven through Streamlit's AppTest: no browser, the real script."""

from __future__ import annotations

import numpy as np
import pytest

import lstm_core
from lstm_core import TOPOLOGIES, ExperimentConfig
from tests import faults
from tests.pagetools import app, click, figure_titled, traces, url_params


@pytest.fixture(scope="module", autouse=True)
def tensorflow_loaded():
    # The page draws the model summary only once TensorFlow is imported (it polls otherwise).
    lstm_core.backend.load()


def test_page_loads_with_tutorial_defaults():
    at = app().run()
    assert not at.exception
    assert at.sidebar.selectbox(key="topology").value == "one_to_one"
    assert at.sidebar.number_input(key="epochs").value == 1000
    assert at.sidebar.number_input(key="batch_size").value == 5
    assert [b.label for b in at.button][:2] == ["Train", "Stop"]
    # The framing section shows the shapes and the filled-in LSTM formula.
    markdown = " ".join(m.value for m in at.markdown)
    assert "(5, 1, 1)" in markdown and "(5, 1)" in markdown
    assert "4 · 5 · (5 + 1 + 1) = 140" in markdown
    assert "Total parameters: **146**" in markdown


@pytest.mark.parametrize("topology", list(TOPOLOGIES))
def test_short_run_draws_loss_and_prediction_charts(topology):
    at = app().run()
    at.sidebar.selectbox(key="topology").set_value(topology).run()
    at.sidebar.number_input(key="sequence_length").set_value(6).run()
    at.sidebar.number_input(key="epochs").set_value(40).run()
    click(at, "Train")
    assert not at.exception

    loss = traces(figure_titled(at, "Training loss"))[TOPOLOGIES[topology].label]
    assert len(loss[1]) == 40
    assert np.array_equal(loss[0], np.arange(1, 41))
    prediction = traces(figure_titled(at, "Target vs prediction"))
    assert len(prediction["target"][1]) == 6 and len(prediction["prediction"][1]) == 6
    np.testing.assert_allclose(prediction["target"][1], np.arange(6) / 6, atol=1e-6)
    # The chart shows what the engine computes for the same config.
    expected = lstm_core.train(ExperimentConfig(topology=topology, sequence_length=6, epochs=40))
    np.testing.assert_array_equal(loss[1], expected.losses.astype(np.float64))
    np.testing.assert_array_equal(prediction["prediction"][1], expected.predictions.astype(np.float64))
    assert [m.label for m in at.metric] == ["Final MSE", "Largest error", "Epochs", "Wall time"]
    assert at.metric[2].value == "40"
    assert len(at.dataframe[0].value) == 6  # the position / target / prediction / error table


def test_topology_change_applies_its_tutorial_epochs_and_batch():
    at = app().run()
    at.sidebar.selectbox(key="topology").set_value("many_to_one").run()
    assert at.sidebar.number_input(key="epochs").value == 500
    assert at.sidebar.number_input(key="batch_size").value == 1
    at.sidebar.number_input(key="units").set_value(9).run()
    at.sidebar.number_input(key="epochs").set_value(77).run()
    click(at, "Tutorial settings")
    assert at.sidebar.number_input(key="units").value == 5
    assert at.sidebar.number_input(key="epochs").value == 500
    assert url_params(at)["epochs"] == "500"


def test_settings_from_the_url_are_restored_and_kept_in_the_url():
    query = {"topology": "many_to_many", "sequence_length": "7", "units": "9", "epochs": "123",
             "learning_rate": "0.01", "seed": "3"}
    at = app(query).run()
    assert not at.exception and not at.warning
    assert at.sidebar.selectbox(key="topology").value == "many_to_many"
    assert at.sidebar.number_input(key="sequence_length").value == 7
    assert at.sidebar.number_input(key="units").value == 9
    assert at.sidebar.number_input(key="epochs").value == 123
    assert at.sidebar.number_input(key="learning_rate").value == pytest.approx(0.01)
    assert at.sidebar.number_input(key="seed").value == 3
    restored = ExperimentConfig.from_query_params(url_params(at))
    assert restored == ExperimentConfig(topology="many_to_many", sequence_length=7, units=9, epochs=123,
                                        learning_rate=0.01, seed=3)


def test_bad_url_values_get_messages_and_valid_values():
    at = app({"units": "abc", "epochs": "-5", "topology": "nope", "learning_rate": "nan",
              "sequence_length": "1e9", "seed": "１２", "bogus": "1"}).run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    for name in ("units=abc", "epochs=-5", "topology=nope", "learning_rate=nan", "sequence_length=1e9",
                 "seed=１２", "bogus"):
        assert name in warnings, name
    assert at.sidebar.number_input(key="units").value == 5
    assert at.sidebar.number_input(key="seed").value == ExperimentConfig.seed
    assert at.sidebar.number_input(key="epochs").value == 1
    assert at.sidebar.number_input(key="sequence_length").value == 50
    # The URL now holds the valid values the page uses.
    assert ExperimentConfig.from_query_params(url_params(at)).units == 5
    # The messages survive the next rerun, until the user trains.
    at.sidebar.toggle(key="show_table").set_value(False).run()
    assert "units=abc" in " ".join(w.value for w in at.warning)


def test_display_option_does_not_retrain():
    at = app({"epochs": "30"}).run()
    click(at, "Train")
    first = at.session_state["result"]
    at.sidebar.toggle(key="log_scale").set_value(False).run()
    assert at.session_state["result"] is first
    assert figure_titled(at, "Training loss")["layout"]["yaxis"]["type"] == "linear"
    at.sidebar.toggle(key="show_table").set_value(False).run()
    assert at.session_state["result"] is first
    assert len(at.dataframe) == 2  # only the framing and model tables remain


def test_work_cap_clamps_epochs_with_a_message():
    at = app({"sequence_length": "50", "units": "64", "epochs": "20000", "batch_size": "1"}).run()
    cap = lstm_core.max_epochs_for("one_to_one", 50, 64)
    assert cap < 20000
    assert at.sidebar.number_input(key="epochs").value == cap
    assert "work cap" in " ".join(w.value for w in at.warning)


def test_non_finite_loss_stops_keeps_history_and_suggests_smaller_rate(monkeypatch):
    """Adam's bounded steps keep these echo runs finite; inject a NaN loss to drive the page."""
    bad_epoch = 25
    faults.nan_loss_at(monkeypatch, bad_epoch)
    at = app({"epochs": "100"}).run()
    click(at, "Train")
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "NaN or infinite" in errors and "smaller learning rate" in errors
    loss = traces(figure_titled(at, "Training loss"))["One-to-one"][1]
    assert len(loss) == bad_epoch
    assert np.all(np.isfinite(loss))
    assert np.all(np.isfinite(at.session_state["result"].predictions))
