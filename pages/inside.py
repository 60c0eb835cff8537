"""The Inside page: what the network does between input and output, how it learned, and its code.

Thin: it reads the Explorer's last run (`st.session_state["result"]`, a `TrainingResult`) and
the Explorer's current settings (`st.session_state["explorer_config"]`), and draws what
lstm_core computes: the inside view (lstm_core.inside, lstm_core.inside_plots), the weight
snapshots replayed (`result.predictions_at`, `look_inside(..., weights=)`), the shape trace
(lstm_core.shape_trace) and the standalone script of the run (lstm_core.export). With no run
yet it shows the shape trace of the current settings and a way to the Explorer.
"""

from __future__ import annotations

import streamlit as st

from app import runs, shell
from app.results import run_title
from lstm_core import TOPOLOGIES, ExperimentConfig, backend, inside, inside_plots, plots, shape_trace

PAGE = "inside"
EXPLORER_PAGE = "explorer"
EXPLORER_FILE = "pages/explorer.py"
CHART_HEIGHT = 320
# Plotly's mode bar stays (zoom helps on heatmaps), without its logo link.
CHART_CONFIG = {"displaylogo": False}


# --------------------------------------------------------------------------- what to show


def current_config() -> ExperimentConfig:
    """The Explorer's current settings (its defaults when the Explorer has not run in this session)."""
    return st.session_state.get("explorer_config") or ExperimentConfig()


def last_result():
    """The Explorer's last run: the one it shows, else the finished run of its handle."""
    result = st.session_state.get("result")
    if result is not None:
        return result
    handle = runs.current(EXPLORER_PAGE)
    if handle is not None and handle.finished.is_set() and handle.results:
        return handle.results[-1]
    return None


# --------------------------------------------------------------------------- sections


def draw_shape_trace(config: ExperimentConfig, expanded: bool) -> None:
    with st.expander("How the shape changes, layer by layer", expanded=expanded):
        steps = shape_trace.shape_trace_for(config)
        st.plotly_chart(shape_trace.shape_figure(steps, title=f"How the shape changes · {run_title(config)}"),
                        key="inside_shape_trace", config=CHART_CONFIG)


def choose_sequence(result) -> tuple[str, int]:
    """(split, index) of the sequence to look at: a held-out one when the task has some."""
    split = "validation" if result.has_validation else "train"
    count = result.num_sequences(split)
    if count <= 1:
        return split, 0
    words = "held-out sequence (never trained on)" if split == "validation" else "training sequence"
    index = st.number_input(f"Which {words}", min_value=0, max_value=count - 1, value=0, step=1,
                            key="inside_sequence", help=f"{count} to choose from, numbered from 0.")
    return split, int(index)


def choose_snapshot(result):
    """The epoch whose weights are shown (a slider over the run's snapshots; the last by default)."""
    snapshots = list(result.snapshots)
    if not snapshots:
        return None
    if len(snapshots) == 1:
        return snapshots[0]
    by_epoch = {snapshot.epoch: snapshot for snapshot in snapshots}
    epochs = list(by_epoch)
    if st.session_state.get("inside_epoch") not in by_epoch:
        st.session_state["inside_epoch"] = epochs[-1]
    epoch = st.select_slider("Epoch: replay how the network learned", options=epochs, key="inside_epoch",
                             help="The weights were kept at these epochs (0: before training).")
    return by_epoch[epoch]


def draw_predictions(result, snapshot, split: str, index: int) -> None:
    _, targets, final_predictions = result.sequence(index, split)
    if snapshot is None:
        predictions, epoch = final_predictions, result.epochs_completed
    else:
        predictions = result.predictions_at(snapshot, split).reshape(-1, len(targets))[index]
        epoch = snapshot.epoch
    which = "held-out" if split == "validation" else "training"
    figure = plots.prediction_figure(
        targets, predictions, color=TOPOLOGIES[result.config.topology].color, height=CHART_HEIGHT,
        title=f"Target vs prediction at epoch {epoch} · {which} sequence {index}",
        y_range=plots.shared_y_range(targets, final_predictions),
    )
    st.plotly_chart(figure, key="inside_prediction_chart", config=CHART_CONFIG)


def draw_inside(result, snapshot, split: str, index: int) -> None:
    # A snapshot's weights are traced through the run's own model: no model is built per epoch.
    view = inside.look_inside(result, index, split, weights=None if snapshot is None else snapshot.weights)
    layer_index = 0
    if len(view.layers) > 1:
        labels = [trace.label for trace in view.layers]
        layer_index = st.selectbox("Recurrent layer", range(len(labels)), format_func=labels.__getitem__,
                                   key="inside_layer")
    st.info(TOPOLOGIES[result.config.topology].explanation, icon="🧭")
    position = st.slider(f"Step t ({view.position_label})", min_value=0, max_value=max(view.num_positions - 1, 0),
                         value=0, key="inside_step") if view.num_positions > 1 else 0
    st.plotly_chart(inside_plots.inside_figure(view, layer_index, position=position), key="inside_heatmaps", config=CHART_CONFIG)
    draw_step(view.explain(layer_index, position))


def draw_step(explanation) -> None:
    st.subheader(f"One cell update: step {explanation.time_step}, sample {explanation.sample}")
    st.markdown(explanation.summary)
    for equation in explanation.equations:
        st.markdown(f"**{equation.name}**")
        st.latex(equation.latex)
        st.code(equation.filled, language=None, wrap_lines=True)
    st.plotly_chart(inside_plots.step_figure(explanation), key="inside_step_chart", config=CHART_CONFIG)


def draw_code(result) -> None:
    from lstm_core import export

    st.subheader("The code behind this run")
    st.caption("A standalone script (NumPy and Keras only) that repeats this run the tutorial's way, with "
               "`model.fit`. Copy it (the button at the block's corner) or download it.")
    script = export.export_script(result.config, model=result.model)
    st.download_button("Download the script (.py)", data=script, file_name=export.script_filename(result.config),
                       mime="text/x-python", icon="⬇️")
    st.code(script, language="python")


# --------------------------------------------------------------------------- the page


def inside_page() -> None:
    st.title("🔬 Inside the network")
    config = current_config()
    result = last_result()
    if not backend.is_loaded():
        with st.spinner("Loading TensorFlow…"):
            backend.load()
    if result is None:
        st.info("No run yet in this session. Train a network on the Explorer, then come back to see its "
                "hidden state, cell state and gates, step by step, and the code that repeats the run.", icon="🔁")
        st.page_link(EXPLORER_FILE, label="Go to the Explorer and press Train", icon="🔁")
        draw_shape_trace(config, expanded=True)
        return
    st.caption(f"The Explorer's last run: {run_title(result.config)} · {result.epochs_completed:,} epochs.")
    if result.config != config:
        st.warning("**The Explorer's settings have changed since this run.** This page shows the last run; "
                   "train again on the Explorer to look inside the new settings.", icon="🔄")
    controls = st.columns(2)
    with controls[0]:
        split, index = choose_sequence(result)
    with controls[1]:
        snapshot = choose_snapshot(result)
    draw_predictions(result, snapshot, split, index)
    draw_inside(result, snapshot, split, index)
    draw_shape_trace(result.config, expanded=False)
    draw_code(result)


shell.page(inside_page, PAGE)
