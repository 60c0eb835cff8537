"""The Explorer page (pages/explorer.py) driven through Streamlit's AppTest: no browser, the real script."""

from __future__ import annotations

import numpy as np
import pytest

import lstm_core
from lstm_core import TOPOLOGIES, ExperimentConfig, engine
from tests import faults
from tests.pagetools import app, click, figure_titled, traces, url_params

TUTORIAL_TOPOLOGIES = [key for key, topology in TOPOLOGIES.items() if getattr(topology, "tutorial", True)]


@pytest.fixture(scope="module", autouse=True)
def tensorflow_loaded():
    # The page draws the model summary only once TensorFlow is imported (it polls otherwise).
    lstm_core.backend.load()


def warnings(at) -> str:
    return " ".join(w.value for w in at.warning)


def test_page_loads_with_tutorial_defaults():
    at = app().run()
    assert not at.exception and not at.error
    assert at.title[0].value.endswith("LSTM explorer")
    assert at.sidebar.selectbox(key="topology").value == "one_to_one"
    assert at.sidebar.number_input(key="epochs").value == 1000
    assert at.sidebar.number_input(key="batch_size").value == 5
    assert [b.label for b in at.button][:2] == ["Train", "Stop"]
    # The framing section shows the shapes and the filled-in parameter formula of the model.
    markdown = " ".join(m.value for m in at.markdown)
    assert "(5, 1, 1)" in markdown and "(5, 1)" in markdown
    assert "Total parameters: **146**" in markdown


@pytest.mark.parametrize("topology", TUTORIAL_TOPOLOGIES)
def test_short_run_draws_loss_and_prediction_charts(topology):
    at = app().run()
    at.sidebar.selectbox(key="topology").set_value(topology).run()
    at.sidebar.number_input(key="sequence_length").set_value(6).run()
    at.sidebar.number_input(key="epochs").set_value(40).run()
    click(at, "Train")
    assert not at.exception and not at.error

    loss_figure = figure_titled(at, "Training loss")
    assert TOPOLOGIES[topology].label in loss_figure["layout"]["title"]["text"]  # the title names the run
    loss = traces(loss_figure)[TOPOLOGIES[topology].label]
    assert len(loss[1]) == 40
    assert np.array_equal(loss[0], np.arange(1, 41))
    prediction = traces(figure_titled(at, "Target vs prediction"))
    assert len(prediction["target"][1]) == 6 and len(prediction["prediction"][1]) == 6
    np.testing.assert_allclose(prediction["target"][1], np.arange(6) / 6, atol=1e-6)
    # The chart shows what the engine computes for the same config.
    expected = lstm_core.train(ExperimentConfig(topology=topology, sequence_length=6, epochs=40))
    np.testing.assert_array_equal(loss[1], expected.losses.astype(np.float64))
    np.testing.assert_array_equal(prediction["prediction"][1], expected.predictions.astype(np.float64))
    assert [m.label for m in at.metric] == ["Final MSE", "Largest error", "Epochs", "Compile", "Training"]
    assert at.metric[2].value == "40"
    assert len(at.dataframe[0].value) == 6  # the position / target / prediction / error table
    # How much the loss fell is said beside the chart.
    assert any("lower (−" in c.value or "rose by" in c.value for c in at.caption)


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
    assert at.sidebar.select_slider(key="learning_rate").value == pytest.approx(0.01)
    assert at.sidebar.number_input(key="seed").value == 3
    restored = ExperimentConfig.from_query_params(url_params(at))
    assert restored == ExperimentConfig(topology="many_to_many", sequence_length=7, units=9, epochs=123,
                                        learning_rate=0.01, seed=3)


def test_new_url_parameters_after_the_first_run_are_loaded_as_back_does():
    """Back/Forward come back with an older address: the page must take its settings again."""
    at = app({"units": "9"}).run()
    at.sidebar.number_input(key="units").set_value(12).run()
    assert url_params(at)["units"] == "12"
    at.query_params["units"] = "9"  # what the browser sends after Back
    at.run()
    assert at.sidebar.number_input(key="units").value == 9
    at.sidebar.number_input(key="seed").set_value(4).run()  # a later change keeps the restored value
    assert at.sidebar.number_input(key="units").value == 9 and url_params(at)["seed"] == "4"


def test_bad_url_values_get_messages_in_one_box_and_valid_values():
    at = app({"units": "abc", "epochs": "-5", "topology": "nope", "learning_rate": "nan",
              "sequence_length": "1e9", "seed": "１２", "bogus": "1"}).run()
    assert not at.exception
    assert len(at.warning) == 1, [w.value for w in at.warning]
    for name in ("units=abc", "epochs=-5", "topology=nope", "learning_rate=nan", "sequence_length=1e9",
                 "seed=１２", "bogus"):
        assert name in warnings(at), name
    assert at.sidebar.number_input(key="units").value == 5
    assert at.sidebar.number_input(key="seed").value == ExperimentConfig.seed
    assert at.sidebar.number_input(key="epochs").value == 1
    assert at.sidebar.number_input(key="sequence_length").value == 50
    # The URL now holds the valid values the page uses.
    assert ExperimentConfig.from_query_params(url_params(at)).units == 5
    # The messages survive the next rerun, until the user trains.
    at.sidebar.toggle(key="show_table").set_value(False).run()
    assert "units=abc" in warnings(at)


def test_a_thousand_unknown_parameters_make_one_short_box():
    at = app({f"p{index}": "1" for index in range(1000)}).run()
    assert not at.exception
    assert len(at.warning) == 1 and "1,000 unknown" in at.warning[0].value and len(at.warning[0].value) < 600


@pytest.mark.parametrize("key, typed, kept, words", [
    ("sequence_length", 51, 50, "outside 2–50; using 50"),
    ("sequence_length", 1, 2, "outside 2–50; using 2"),
    ("batch_size", 6, 5, "using 5"),
])
def test_out_of_range_typed_values_are_kept_in_range_with_a_message(key, typed, kept, words):
    at = app().run()
    at.sidebar.number_input(key=key).set_value(typed).run()
    assert not at.exception
    assert at.sidebar.number_input(key=key).value == kept
    assert words in warnings(at), warnings(at)
    assert url_params(at)[key] == str(kept)


def test_learning_rate_is_a_log_scale_control_that_shows_the_value_exactly():
    at = app({"learning_rate": "0.000015"}).run()
    slider = at.sidebar.select_slider(key="learning_rate")
    assert slider.value == pytest.approx(1.5e-5)
    options = [float(option) for option in slider.options]
    assert "1.5e-05" in slider.options and "0.001" in slider.options and "1e-05" in slider.options
    ratios = np.array(options[1:]) / np.array(options[:-1])
    assert np.all(ratios <= 2.6) and options[0] == pytest.approx(1e-5) and options[-1] == pytest.approx(10.0)


def test_display_option_does_not_retrain_and_changes_the_axis():
    at = app({"epochs": "30"}).run()
    click(at, "Train")
    first = at.session_state["result"]
    assert figure_titled(at, "Training loss")["layout"]["yaxis"]["type"] == "log"
    at.sidebar.toggle(key="log_scale").set_value(False).run()
    assert at.session_state["result"] is first
    assert figure_titled(at, "Training loss")["layout"]["yaxis"]["type"] == "linear"
    at.sidebar.toggle(key="show_table").set_value(False).run()
    assert at.session_state["result"] is first


def test_log_axis_has_decade_ticks():
    at = app({"epochs": "1000"}).run()
    click(at, "Train")
    axis = figure_titled(at, "Training loss")["layout"]["yaxis"]
    assert axis["ticktext"] and all(text.startswith("10") for text in axis["ticktext"]), axis["ticktext"]


def test_a_result_from_other_settings_is_marked_stale_and_dimmed():
    at = app({"epochs": "30"}).run()
    click(at, "Train")
    assert not any("Settings changed" in w.value for w in at.warning)
    at.sidebar.selectbox(key="topology").set_value("many_to_one").run()
    assert any("Settings changed: press Train" in w.value for w in at.warning)
    loss = figure_titled(at, "Training loss")
    assert "One-to-one" in loss["layout"]["title"]["text"]  # the title names the run shown
    assert all(trace.get("opacity") == pytest.approx(0.3) for trace in loss["data"])
    prediction = figure_titled(at, "Target vs prediction")
    assert all(trace.get("opacity") == pytest.approx(0.3) for trace in prediction["data"])


def test_work_cap_clamps_epochs_with_a_message():
    config = ExperimentConfig(sequence_length=50, units=64, batch_size=1, epochs=1)
    cap = lstm_core.max_epochs_for(config)
    if cap >= 20000:
        pytest.skip(f"the work cap allows {cap} epochs here: nothing to clamp")
    at = app({"sequence_length": "50", "units": "64", "epochs": "20000", "batch_size": "1"}).run()
    assert at.sidebar.number_input(key="epochs").value == cap
    assert "work cap" in warnings(at)


def test_a_huge_learning_rate_gets_the_plateau_hint_on_the_page():
    at = app({"learning_rate": "10"}).run()
    click(at, "Train")
    assert not at.exception
    assert any("0.01 or smaller" in i.value for i in at.info), [i.value for i in at.info]


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


def test_a_failing_run_says_so_in_plain_words_without_paths(monkeypatch):
    def broken_train(config, callbacks=()):
        raise ValueError('File "/srv/app/.venv/lib/python3.11/site-packages/keras/x.py", line 12, in call\n  None values')

    monkeypatch.setattr(engine, "train", broken_train)
    at = app({"epochs": "30"}).run()
    click(at, "Train")
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "ValueError" in shown and "training" in shown
    page_text = " ".join(str(element.value) for element in [*at.error, *at.warning, *at.info, *at.markdown, *at.caption])
    assert 'File "' not in page_text and "/srv/app" not in page_text and "site-packages" not in page_text
