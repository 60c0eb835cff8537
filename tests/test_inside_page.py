"""The Inside page (pages/inside.py) driven through Streamlit's AppTest: no browser, the real script."""

from __future__ import annotations

import ast

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import lstm_core
from lstm_core import TOPOLOGIES, ExperimentConfig, export, inside
from tests.pagetools import app, click, decode, figure_titled, figures, traces

INSIDE = "pages/inside.py"
EPOCHS = 60


@pytest.fixture(scope="module", autouse=True)
def tensorflow_loaded():
    lstm_core.backend.load()


def inside_page(at: AppTest) -> AppTest:
    at.switch_page(INSIDE).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def trained(topology: str, cell: str = "lstm", epochs: int = EPOCHS, **settings) -> AppTest:
    """A session that trained `topology` with `cell` layers on the Explorer, now on the Inside page."""
    at = app().run()
    at.sidebar.selectbox(key="topology").set_value(topology).run()
    at.sidebar.selectbox(key="cell").set_value(cell).run()
    for name, value in settings.items():
        at.sidebar.number_input(key=name).set_value(value).run()
    at.sidebar.number_input(key="epochs").set_value(epochs).run()
    click(at, "Train")
    assert not at.exception and not at.error
    return inside_page(at)


def matrix(z) -> np.ndarray:
    """A heatmap's z from the page's JSON: nested lists, or one base64 block with its shape."""
    if isinstance(z, dict):
        values = decode(z)
        shape = z.get("shape")
        if isinstance(shape, str):
            shape = [int(size) for size in shape.split(",")]
        return values.astype(np.float64).reshape(shape) if shape else values.astype(np.float64)
    return np.asarray([decode(row) if isinstance(row, dict) else row for row in z], dtype=np.float64)


def prediction_chart(at: AppTest) -> dict:
    return figure_titled(at, "Target vs prediction at epoch")


def test_without_a_run_it_shows_the_shape_trace_and_the_way_to_the_explorer():
    at = inside_page(app().run())
    assert at.title[0].value.endswith("Inside the network")
    assert any("No run yet" in info.value for info in at.info)
    # The shape trace of the current (default) settings: the boxes name X's shape (5, 1, 1).
    shapes = figure_titled(at, "How the shape changes")
    texts = " ".join(str(a.get("text", "")) for a in shapes["layout"].get("annotations", []))
    assert "(5, 1, 1)" in texts
    assert not [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("Inside")]
    assert not at.get("slider") and not at.get("select_slider")


@pytest.mark.parametrize("topology, cell", [("one_to_one", "lstm"), ("many_to_one", "lstm"),
                                           ("many_to_many", "lstm"), ("many_to_many", "gru")])
def test_after_training_it_shows_heatmaps_steps_epochs_and_code(topology, cell):
    at = trained(topology, cell)
    result = at.session_state["result"]
    assert result.config.topology == topology and result.epochs_completed == EPOCHS

    # Heatmaps of h, c and the four gates under the input, for the trained model.
    heat = figure_titled(at, "Inside")
    heatmaps = {trace["name"]: trace for trace in heat["data"] if trace["type"] == "heatmap"}
    view = inside.look_inside(result, 0, "train")
    # h (and c for an LSTM) and every gate of the cell (LSTM: i, f, g, o; GRU: z, r, h̃).
    assert set(heatmaps) == set(view.layers[0].quantities())
    assert len(heatmaps) == {"lstm": 6, "gru": 4}[cell]
    np.testing.assert_allclose(matrix(heatmaps["hidden"]["z"]), view.matrix(view.layers[0], "hidden"), atol=1e-6)
    # The registry's explanation of the topology says where h goes.
    assert any(TOPOLOGIES[topology].explanation in info.value for info in at.info)

    # The step slider: the equations filled in for step t, and the summary.
    assert [latex.value.strip("$\n") for latex in at.latex] == [eq.latex for eq in view.explain(0, 0).equations]
    at.slider(key="inside_step").set_value(3).run()
    assert not at.exception
    expected = view.explain(0, 3)
    assert any(f"step {expected.time_step}" in h.value for h in at.subheader)
    assert any(expected.summary == m.value for m in at.markdown)
    assert any(expected.equations[-1].filled == c.value for c in at.code)

    # The epoch slider replays the predictions of each snapshot.
    epochs = [snapshot.epoch for snapshot in result.snapshots]
    assert at.select_slider(key="inside_epoch").value == epochs[-1]
    shown = {}
    for snapshot in (result.snapshots[0], result.snapshots[len(result.snapshots) // 2]):
        at.select_slider(key="inside_epoch").set_value(snapshot.epoch).run()
        assert not at.exception
        chart = prediction_chart(at)
        assert f"epoch {snapshot.epoch}" in chart["layout"]["title"]["text"]
        predictions = traces(chart)["prediction"][1]
        np.testing.assert_allclose(predictions, result.predictions_at(snapshot, "train").astype(np.float64),
                                   rtol=0, atol=1e-7)
        shown[snapshot.epoch] = predictions
        # The inside view follows the epoch: its h is the snapshot model's.
        heat = figure_titled(at, "Inside")
        hidden = [t for t in heat["data"] if t.get("name") == "hidden"][0]["z"]
        X = result.sequence_inputs(0, "train")
        then = inside.InsideView(X, inside.trace_model(result.model_at(snapshot), X))
        np.testing.assert_allclose(matrix(hidden), then.matrix(then.layers[0], "hidden"), atol=1e-6)
    first, middle = shown.values()
    assert not np.allclose(first, middle)

    # The code behind the run, with a download of the same text.
    script = export.export_script(result.config, model=result.model)
    python_blocks = [c for c in at.code if c.language == "python"]
    # (st.code drops the final newline)
    assert [c.value for c in python_blocks] == [script.rstrip("\n")]
    ast.parse(script)
    downloads = at.get("download_button")
    assert len(downloads) == 1


def test_a_task_with_held_out_sequences_looks_at_the_chosen_one():
    at = app().run()
    tasks = [key for key, task in lstm_core.TASKS.items() if key != ExperimentConfig.task]
    if not tasks:
        pytest.skip("only the echo task exists")
    at.sidebar.selectbox(key="task").set_value(tasks[0]).run()
    at.sidebar.selectbox(key="topology").set_value("many_to_many").run()
    at.sidebar.number_input(key="epochs").set_value(20).run()
    click(at, "Train")
    assert not at.exception and not at.error
    inside_page(at)
    result = at.session_state["result"]
    assert result.has_validation and result.num_sequences("validation") > 1
    at.number_input(key="inside_sequence").set_value(2).run()
    assert not at.exception
    chart = prediction_chart(at)
    assert "held-out sequence 2" in chart["layout"]["title"]["text"]
    _, targets, predictions = result.sequence(2, "validation")
    np.testing.assert_allclose(traces(chart)["target"][1], targets.astype(np.float64))
    np.testing.assert_allclose(traces(chart)["prediction"][1], predictions.astype(np.float64), atol=1e-6)


def test_changed_explorer_settings_keep_the_last_run_and_say_so():
    at = trained("many_to_many", epochs=20)
    assert not at.warning
    result = at.session_state["result"]
    at.switch_page("pages/explorer.py").run()
    at.sidebar.number_input(key="units").set_value(7).run()
    inside_page(at)
    assert any("settings have changed" in w.value for w in at.warning)
    # Still the trained run: its script and its 5 units, not the new settings'.
    (script,) = [c.value for c in at.code if c.language == "python"]
    assert script == export.export_script(result.config, model=result.model).rstrip("\n")
    assert matrix(figure_titled(at, "Inside")["data"][1]["z"]).shape[0] == result.config.units == 5
