"""The Explorer page (pages/explorer.py) driven through Streamlit's AppTest: no browser, the real script."""

from __future__ import annotations

import numpy as np
import pytest

import lstm_core
from lstm_core import TOPOLOGIES, ExperimentConfig, engine
from app import controls
from tests import faults
from tests.pagetools import app, click, figure_titled, figures, traces, url_params

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


@pytest.mark.parametrize("task", ["echo", "delay"])
def test_before_training_the_page_shows_the_task_input_and_target(task):
    at = app({"task": task}).run()
    assert not at.exception and not at.error
    config = ExperimentConfig.from_query_params(url_params(at))
    data = lstm_core.tasks.make_data(config)
    split = "held-out" if data.has_validation else "training"
    preview = figure_titled(at, "The task: input and target")
    assert f"{split} sequence 1" in preview["layout"]["title"]["text"]
    shown = traces(preview)
    inputs, targets = (data.val_inputs, data.val_targets) if data.has_validation else (data.train_inputs,
                                                                                        data.train_targets)
    np.testing.assert_allclose(shown["input"][1], inputs[0], atol=1e-7)
    np.testing.assert_allclose(shown["target"][1], targets[0], atol=1e-7)
    if task == "delay":  # the target is the input two steps later: what the network must remember
        np.testing.assert_allclose(shown["target"][1][config.delay:], shown["input"][1][:-config.delay], atol=1e-7)
    # Trained, the chart of the run takes its place.
    at.sidebar.number_input(key="epochs").set_value(5).run()
    click(at, "Train")
    assert not at.exception and not at.error
    assert not [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("The task")]
    assert traces(figure_titled(at, "Target vs prediction"))["target"][1].tolist() == pytest.approx(targets[0].tolist())


@pytest.mark.parametrize("topology", TUTORIAL_TOPOLOGIES)
def test_short_run_draws_loss_and_prediction_charts(topology):
    at = app().run()
    at.sidebar.selectbox(key="topology").set_value(topology).run()
    at.sidebar.number_input(key="sequence_length").set_value(6).run()
    at.sidebar.number_input(key="epochs").set_value(40).run()
    click(at, "Train")
    assert not at.exception
    assert not at.error

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
    assert [m.label for m in at.metric] == ["Training MSE", "Largest error", "Epochs", "Compile", "Training time"]
    assert at.metric[2].value == "40"
    verdict = " ".join(box.value for box in [*at.success, *at.info] if "olved" in box.value)
    assert ("Not solved" in verdict) != expected.solved and f"{expected.final_mse:.2e}" in verdict
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


def back(at, monkeypatch, **query):
    """Run `at` as the browser's Back does: an older address, flagged as history navigation."""
    monkeypatch.setattr(controls, "history_navigation", lambda: True)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    monkeypatch.setattr(controls, "history_navigation", lambda: False)
    return at


def test_new_url_parameters_after_the_first_run_are_loaded_as_back_does(monkeypatch):
    """Back/Forward come back with an older address: the page must take its settings again."""
    at = app({"units": "9"}).run()
    at.sidebar.number_input(key="units").set_value(12).run()
    assert url_params(at)["units"] == "12"
    back(at, monkeypatch, units="9")
    assert at.sidebar.number_input(key="units").value == 9
    at.sidebar.number_input(key="seed").set_value(4).run()  # a later change keeps the restored value
    assert at.sidebar.number_input(key="units").value == 9 and url_params(at)["seed"] == "4"


def test_a_press_with_the_address_of_before_the_last_change_keeps_the_change(monkeypatch):
    """Train pressed right after a change, before the browser shows the new address (a busy
    server): the browser sends the older address, which must not undo the change as Back does."""
    at = app({"epochs": "40"}).run()
    before = dict(url_params(at))
    at.sidebar.number_input(key="epochs").set_value(30).run()
    assert url_params(at)["epochs"] == "30"
    at.query_params.clear()
    at.query_params.update(before)  # what the browser still shows
    click(at, "Train")
    assert not at.exception and not at.error
    assert at.sidebar.number_input(key="epochs").value == 30
    assert len(traces(figure_titled(at, "Training loss"))[TOPOLOGIES["one_to_one"].label][1]) == 30
    assert url_params(at)["epochs"] == "30"  # the address is put right again
    # Back afterwards still restores.
    back(at, monkeypatch, epochs="40")
    assert at.sidebar.number_input(key="epochs").value == 40


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


# --------------------------------------------------------------------------- tasks, validation, verdict (issue 9)


def run_delay(topology: str, epochs: str = "30", **extra) -> tuple:
    at = app({"task": "delay", "topology": topology, "epochs": epochs, **extra}).run()
    click(at, "Train")
    assert not at.exception, at.exception
    return at, at.session_state["result"]


def test_loss_chart_has_training_and_dashed_validation_curves_as_the_engine_computes():
    at, result = run_delay("one_to_one")
    lines = traces(figure_titled(at, "Training loss"))
    assert set(lines) == {"One-to-one: training", "One-to-one: validation (unseen)"}
    expected = lstm_core.train(result.config)
    np.testing.assert_array_equal(lines["One-to-one: training"][1], expected.losses.astype(np.float64))
    np.testing.assert_array_equal(lines["One-to-one: validation (unseen)"][1], expected.val_losses.astype(np.float64))
    assert len(expected.val_losses) == 30
    dashes = {trace["name"]: trace["line"].get("dash") for trace in figure_titled(at, "Training loss")["data"]}
    assert dashes["One-to-one: validation (unseen)"] == "dash" and dashes["One-to-one: training"] is None
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["Training MSE", "Validation MSE"]
    assert at.metric[1].value == f"{expected.val_mse:.2e}"


def test_a_topology_that_cannot_learn_the_task_is_told_why():
    at, result = run_delay("one_to_one")
    assert not result.solved
    shown = " ".join(i.value for i in at.info)
    assert "Not solved" in shown and f"{result.val_mse:.2e}" in shown
    assert lstm_core.TASKS["delay"].note_for("one_to_one") in shown
    assert not at.success


def test_a_topology_that_learns_the_task_is_marked_solved():
    at, result = run_delay("many_to_many", epochs="200")
    assert result.solved and result.val_mse < result.config.solved_below
    assert any("Solved" in s.value and f"{result.val_mse:.2e}" in s.value for s in at.success), [s.value for s in at.success]
    assert not any("Not solved" in i.value for i in at.info)


def test_echo_says_it_needs_no_memory_explains_memorising_and_points_to_the_next_task():
    at = app().run()
    sidebar_text = " ".join(c.value for c in at.sidebar.caption)
    assert "y = x" in sidebar_text and "every topology learns it" in sidebar_text
    at.sidebar.selectbox(key="topology").set_value("many_to_one").run()
    sidebar_text = " ".join(c.value for c in at.sidebar.caption)
    assert lstm_core.TASKS["echo"].note_for("many_to_one") in sidebar_text and "memorises" in sidebar_text
    suggestion = lstm_core.TASKS[lstm_core.TASKS["echo"].suggestion]
    click(at, f"Try next: {suggestion.label}")
    assert not at.exception
    assert at.sidebar.selectbox(key="task").value == suggestion.key
    assert url_params(at)["task"] == suggestion.key
    assert at.sidebar.number_input(key="epochs").value == suggestion.defaults.epochs
    assert suggestion.explanation in " ".join(c.value for c in at.sidebar.caption)


def test_a_control_picks_the_held_out_sequence_shown():
    at, result = run_delay("many_to_many")
    picker = at.selectbox(key="shown_sequence")
    assert len(picker.options) == result.num_sequences("validation") > 3
    picker.set_value(3).run()
    assert at.session_state["result"] is result  # no retraining
    prediction = figure_titled(at, "Target vs prediction")
    _, targets, predictions = result.sequence(3, "validation")
    lines = traces(prediction)
    np.testing.assert_array_equal(lines["target"][1], targets.astype(np.float64))
    np.testing.assert_array_equal(lines["prediction"][1], predictions.astype(np.float64))
    assert f"held-out sequence 4 of {result.num_sequences('validation')}" in prediction["layout"]["title"]["text"]


# --------------------------------------------------------------------------- custom task: a CSV upload


def custom_page():
    at = app({"task": "custom"}).run()
    assert not at.exception
    return at


def upload(at, name: str, content: bytes):
    at.sidebar.file_uploader(key="custom_csv").set_value((name, content, "text/csv")).run()
    assert not at.exception, at.exception
    return at


def test_a_csv_column_becomes_the_custom_sequence_and_a_column_can_be_chosen():
    at = custom_page()
    rows = "\n".join(f"day{i},{i % 7},{(i * 3) % 11 / 2}" for i in range(40))
    upload(at, "data.csv", f"name,a,b\n{rows}\n".encode())
    expected_a = tuple(float(i % 7) for i in range(40))
    assert at.session_state["explorer_config"].custom_values == expected_a
    assert at.sidebar.selectbox(key="custom_csv_column").options == ["a", "b"]
    at.sidebar.selectbox(key="custom_csv_column").set_value("b").run()
    assert at.session_state["explorer_config"].custom_values == tuple((i * 3) % 11 / 2 for i in range(40))
    assert ExperimentConfig.from_query_params(url_params(at)).custom_values[:3] == (0.0, 1.5, 3.0)
    assert not at.sidebar.error


@pytest.mark.parametrize("name, content, words", [
    ("words.csv", b"name,city\nann,paris\nbob,rome\n", "no column of numbers"),
    ("big.csv", b"x\n" + b"1\n" * 600_000, "at most 1,000,000"),
    ("image.csv", bytes(range(256)) * 40, ""),
    ("few.csv", b"x\n1\n2\n", "at least 3"),
])
def test_a_csv_that_cannot_be_used_gets_a_message_and_changes_nothing(name, content, words):
    at = custom_page()
    before_config = at.session_state["explorer_config"]
    before_url = url_params(at)
    upload(at, name, content)
    errors = " ".join(e.value for e in at.sidebar.error)
    assert name in errors and words in errors and "unchanged" in errors, errors
    assert at.session_state["explorer_config"] == before_config
    assert url_params(at) == before_url


# --------------------------------------------------------------------------- training over time (issue 11)


def test_predictions_are_drawn_live_from_the_model_being_trained(monkeypatch):
    from app import live, results
    from lstm_core import plots

    drawn = []
    original = results.WatchedSequence.predictions

    def recording(self, model):
        predictions = original(self, model)
        drawn.append(predictions.copy())
        return predictions

    titles = []
    original_figure = plots.prediction_figure

    def recording_figure(*args, **kwargs):
        titles.append(kwargs.get("title", ""))
        return original_figure(*args, **kwargs)

    monkeypatch.setattr(results.WatchedSequence, "predictions", recording)
    monkeypatch.setattr(plots, "prediction_figure", recording_figure)
    monkeypatch.setattr(live, "CHART_INTERVAL", 0.0)
    monkeypatch.setattr(live, "COST_FACTOR", 0.0)
    at, result = run_delay("many_to_many", epochs="400")
    assert len(drawn) >= 3, len(drawn)
    assert sum("training…" in title for title in titles) == len(drawn)
    # The first draw is an early model, the last the trained one: the chart moved as it learned.
    _, targets, final = result.sequence(0, "validation")
    assert np.abs(drawn[0] - final).max() > 1e-3
    np.testing.assert_allclose(drawn[-1], final, atol=1e-5)


# --------------------------------------------------------------------------- exports (issue 13)


def test_each_download_button_gives_a_file_that_loads_back(monkeypatch, tmp_path):
    import io
    import re

    import pandas as pd
    from streamlit.runtime.media_file_manager import MediaFileManager

    keras = lstm_core.backend.load()
    saved = {}
    original = MediaFileManager.add

    def recording(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if is_for_static_download:
            saved[file_name] = (path_or_data, mimetype)
        return original(self, path_or_data, mimetype, coordinates, file_name=file_name,
                        is_for_static_download=is_for_static_download)

    original_deferred = MediaFileManager.add_deferred

    def recording_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        # Made when the button is pressed: call it as the server would.
        saved[file_name] = (data_callable(), mimetype)
        return original_deferred(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add", recording)
    monkeypatch.setattr(MediaFileManager, "add_deferred", recording_deferred)
    at, result = run_delay("many_to_many")
    assert [b.label for b in at.get("download_button")] == [
        "Loss history (CSV)", "Predictions (CSV)", "Trained model (.keras)", "Report (HTML)"]
    names = {name.split("_")[0] if not name.endswith(".keras") else "model": name for name in saved}
    assert set(names) == {"loss", "predictions", "model", "report"}, saved.keys()

    losses = pd.read_csv(io.BytesIO(saved[names["loss"]][0]))
    assert list(losses.columns) == ["epoch", "loss", "val_loss"] and len(losses) == 30
    np.testing.assert_allclose(losses["loss"], result.losses, rtol=1e-6)
    np.testing.assert_allclose(losses["val_loss"], result.val_losses, rtol=1e-6)

    table = pd.read_csv(io.BytesIO(saved[names["predictions"]][0]))
    held_out = table[(table["split"] == "validation") & (table["sequence"] == 0)]
    np.testing.assert_allclose(held_out["prediction"], result.sequence(0, "validation")[2], atol=1e-6)

    path = tmp_path / names["model"]
    path.write_bytes(saved[names["model"]][0])
    loaded = keras.models.load_model(path)
    X = result.data.X_val[:4]
    np.testing.assert_allclose(np.asarray(loaded(X)), np.asarray(result.model(X)), atol=1e-6)

    report, mime = saved[names["report"]]
    text = report.decode() if isinstance(report, bytes) else report
    assert mime == "text/html" and text.count('class="plotly-graph-div"') >= 2
    assert "Plotly.newPlot" in text or "plotly" in text.lower()
    assert outside_links(text) == []


def outside_links(page: str) -> list[str]:
    """src/href attributes of the page's own tags that point to another host (the inlined
    JavaScript's string literals are not tags and are never requested by loading the page)."""
    from html.parser import HTMLParser

    links = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            links.extend(value for name, value in attrs if name in ("src", "href") and value
                         and re.match(r"\s*(https?:)?//", value, flags=re.IGNORECASE))

    import re

    Tags().feed(page)
    return links


# --------------------------------------------------------------------------- classroom pace (issue 13)


def test_replay_frames_are_the_runs_own_history_and_snapshots():
    from app.results import replay_frames

    result = lstm_core.train(ExperimentConfig(task="delay", topology="many_to_many", epochs=120))
    frames = replay_frames(result, 2)
    assert [frame.epoch for frame in frames] == [snapshot.epoch for snapshot in result.snapshots]
    assert frames[0].epoch == 0 and frames[-1].epoch == 120 and len(frames) >= 10
    for frame in frames:
        np.testing.assert_array_equal(frame.losses, result.losses[:frame.epoch])
        np.testing.assert_array_equal(frame.val_losses, result.val_losses[:frame.epoch])
    np.testing.assert_allclose(frames[-1].predictions, result.sequence(2, "validation")[2], atol=1e-6)
    assert np.abs(frames[0].predictions - frames[-1].predictions).max() > 1e-3  # it moved as it learned


def test_replay_plays_the_real_run_back_at_the_chosen_speed(monkeypatch):
    import time

    from app.results import replay_frames
    from lstm_core import plots

    at, result = run_delay("many_to_many", epochs="120")
    drawn = []
    original = plots.prediction_figure

    def recording(targets, predictions, *args, **kwargs):
        if "replay" in kwargs.get("title", ""):
            drawn.append(np.asarray(predictions, dtype=np.float64))
        return original(targets, predictions, *args, **kwargs)

    monkeypatch.setattr(plots, "prediction_figure", recording)
    at.radio(key="replay_speed").set_value("3 s").run()
    started = time.monotonic()
    click(at, "▶ Replay the run")
    elapsed = time.monotonic() - started
    assert not at.exception
    assert at.session_state["result"] is result  # replaying trains nothing
    frames = replay_frames(result, 0)
    assert len(drawn) == len(frames)
    for shown, frame in zip(drawn, frames):
        np.testing.assert_allclose(shown, frame.predictions, atol=1e-6)
    assert 2.8 <= elapsed < 12, elapsed
    # The page ends on the run's own charts, as before the replay.
    lines = traces(figure_titled(at, "Training loss"))
    assert len(lines[f"{TOPOLOGIES['many_to_many'].label}: training"][1]) == 120
    assert "replay" not in figure_titled(at, "Target vs prediction")["layout"]["title"]["text"]


@pytest.mark.parametrize("topology", list(TOPOLOGIES))
def test_the_live_sequence_is_the_one_shown_after_the_run(topology):
    """Live predictions are drawn for the held-out sequence the picker shows (same data, same framing)."""
    from app.results import watched_sequence

    config = ExperimentConfig(task="reverse", topology=topology, epochs=1)
    model = lstm_core.build_model(config)
    watched = watched_sequence(config, 3)
    framed = lstm_core.frame_data(config)
    n = config.sequence_length
    assert watched.split == "validation" and watched.index == 3
    np.testing.assert_array_equal(watched.targets, framed.y_val.reshape(-1, n)[3])
    every = np.asarray(model(framed.X_val, training=False)).reshape(-1, n)
    np.testing.assert_allclose(watched.predictions(model), every[3], atol=1e-6)
