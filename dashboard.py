"""The LSTM explorer: pick a topology, train it live, see what it learned and how the data is framed.

Run with `make run` (or `streamlit run dashboard.py`). This file is the entry point: it sets up
the navigation and draws the main page; pages/compare.py is the comparison page.
"""

from __future__ import annotations

import streamlit as st

import lstm_core
from lstm_core import TOPOLOGIES, ExperimentConfig, backend
from lstm_core.topologies import frame_shapes
from pages import ui

SETTINGS = ("topology", "sequence_length", "units", "epochs", "batch_size", "learning_rate", "seed")
DISPLAY = ("log_scale", "show_table")


def _apply_tutorial_settings() -> None:
    """The tutorial's settings for the chosen topology (length 5, 5 units, its epochs and batch)."""
    tutorial = ExperimentConfig(topology=st.session_state["topology"], seed=st.session_state["seed"])
    for key in SETTINGS:
        st.session_state[key] = getattr(tutorial, key)


def _topology_changed() -> None:
    """A new topology starts from its own tutorial epochs and batch size."""
    config = ExperimentConfig(topology=st.session_state["topology"], sequence_length=st.session_state["sequence_length"])
    st.session_state["epochs"] = config.epochs
    st.session_state["batch_size"] = config.batch_size


def _length_changed() -> None:
    """Keep a tutorial batch size tutorial-like: one-to-one's whole-sequence batch follows the length."""
    topology = TOPOLOGIES[st.session_state["topology"]]
    previous_length = st.session_state.get(ui.saved_key("sequence_length"), st.session_state["sequence_length"])
    if st.session_state.get("batch_size") == topology.default_batch_size(previous_length):
        st.session_state["batch_size"] = topology.default_batch_size(st.session_state["sequence_length"])


def _first_visit_settings() -> list[str]:
    """On a session's first run, the settings come from the URL (clamped, with messages)."""
    if "settings_loaded" in st.session_state:
        return []
    st.session_state["settings_loaded"] = True
    config, messages = lstm_core.resolve(st.query_params.to_dict(), source="URL parameter")
    for key in SETTINGS:
        st.session_state[key] = getattr(config, key)
    # Shown until the next Train, so that the first rerun does not wipe them.
    st.session_state["url_messages"] = messages
    return []


def sidebar() -> tuple[ExperimentConfig, list[str]]:
    """The settings controls; the config they describe and any message about clamped values."""
    messages = _first_visit_settings()
    ui.persist(*SETTINGS, *DISPLAY)
    with st.sidebar:
        st.header("Settings")
        topology = st.selectbox(
            "Topology",
            list(TOPOLOGIES),
            format_func=lambda key: TOPOLOGIES[key].label,
            key="topology",
            on_change=_topology_changed,
        )
        st.caption(TOPOLOGIES[topology].description)
        length = ui.number_input("sequence_length", step=1, on_change=_length_changed)
        units = ui.number_input("units", step=1)
        # Batch size and epochs have limits that depend on the settings above: bring the
        # stored values inside them before drawing the widgets, and say so.
        samples = frame_shapes(topology, length)[0][0]
        max_epochs = lstm_core.max_epochs_for(topology, length, units)
        if st.session_state.get("batch_size", 1) > samples:
            messages.append(f"Batch size lowered to {samples}: {TOPOLOGIES[topology].label} has {samples} sample(s).")
            st.session_state["batch_size"] = samples
        if st.session_state.get("epochs", 1) > max_epochs:
            messages.append(
                f"Epochs lowered to {max_epochs:,}: the per-run work cap is epochs × samples × timesteps × "
                f"units ≤ {lstm_core.MAX_WORK:,}, so with these settings at most {max_epochs:,} epochs."
            )
            st.session_state["epochs"] = max_epochs
        epochs = ui.number_input("epochs", maximum=max_epochs, step=100)
        batch_size = ui.number_input("batch_size", maximum=samples, step=1, disabled=samples == 1)
        learning_rate = ui.number_input("learning_rate", step=0.001, format="%.5f")
        seed = ui.number_input("seed", step=1)
        st.button("Tutorial settings", on_click=_apply_tutorial_settings, width="stretch",
                  help="Sequence length 5, 5 units and the tutorial's epochs and batch size for this topology.")
        st.header("Display")
        st.session_state.setdefault("log_scale", True)
        st.session_state.setdefault("show_table", True)
        st.toggle("Log-scale loss", key="log_scale")
        st.toggle("Show the prediction table", key="show_table")
    ui.persist(*SETTINGS, *DISPLAY)
    config, more = lstm_core.resolve(
        dict(topology=topology, sequence_length=length, units=units, epochs=epochs,
             batch_size=batch_size, learning_rate=learning_rate, seed=seed),
        source="Setting",
    )
    return config, messages + more


def train_now(config: ExperimentConfig, chart_slot, progress_slot) -> None:
    """Train with live progress; the result (complete or partial) goes to the session."""
    from lstm_core import plots

    figure = plots.loss_figure([(TOPOLOGIES[config.topology].label, TOPOLOGIES[config.topology].color)],
                               log_y=st.session_state.get("log_scale", True))
    live = ui.LiveChart(figure, progress_slot=progress_slot, chart_slot=chart_slot)
    progress_slot.progress(0.0, text="Preparing the model (the first run of a new shape compiles it)…")
    # Drop the previous run first: its model is released, and a failure now shows no stale result.
    st.session_state.pop("result", None)
    pending = st.session_state["pending_run"] = ui.PendingRun()
    try:
        pending.result = lstm_core.train(config, callbacks=[live.callback()])
        pending.interrupted = live.interrupt is not None
    finally:
        pending.finished.set()
    if not pending.interrupted:
        ui.take_pending_run("pending_run")
        st.session_state["result"] = pending.result
    # Interrupted: the next run (already started, under fast reruns) takes the result.
    live.reraise_interrupt()


def draw_result(result, chart_slot, progress_slot) -> None:
    from lstm_core import plots

    config = result.config
    topology = TOPOLOGIES[config.topology]
    figure = plots.loss_figure([(topology.label, topology.color)], log_y=st.session_state.get("log_scale", True))
    plots.set_losses(figure, 0, result.losses)
    chart_slot.plotly_chart(figure, config={"displaylogo": False}, key="loss_chart")
    progress_slot.progress(
        result.epochs_completed / config.epochs,
        text=f"epoch {result.epochs_completed:,} / {config.epochs:,} · loss "
        + (f"{result.losses[-1]:.3g}" if len(result.losses) else "–"),
    )
    stop = ui.describe_stop(result, stopped_by_user=st.session_state.get("stop_cause") == "user")
    if stop is not None:
        getattr(st, stop[0])(stop[1])
    hint = ui.learning_hint(result)
    if hint:
        st.info(hint, icon="💡")

    st.subheader("What the network learned")
    columns = st.columns(4)
    columns[0].metric("Final MSE", f"{result.final_mse:.2e}")
    columns[1].metric("Largest error", f"{result.max_abs_error:.3f}")
    columns[2].metric("Epochs", f"{result.epochs_completed:,}")
    columns[3].metric("Wall time", f"{result.seconds:.2f} s")
    st.plotly_chart(
        plots.prediction_figure(result.targets, result.predictions, color=topology.color,
                                title=f"Target vs prediction · {topology.label}"),
        config={"displaylogo": False},
    )
    if st.session_state.get("show_table", True):
        st.dataframe(ui.results_table(result), hide_index=True, width="stretch")


def draw_framing(config: ExperimentConfig) -> None:
    st.subheader("How the data is framed")
    X_shape, y_shape = config.x_shape, config.y_shape
    st.markdown(
        f"**X** has shape `{X_shape}` = (samples, timesteps, features) and **y** has shape "
        f"`{y_shape}`. {TOPOLOGIES[config.topology].explanation}"
    )
    st.dataframe(lstm_core.framing_rows(config), hide_index=True, width="stretch")
    st.markdown("**The model**")
    if backend.is_loaded():
        draw_model_summary(config)
    else:
        ui.rerun_when_tensorflow_is_loaded("Loading TensorFlow for the model summary…")


def draw_model_summary(config: ExperimentConfig) -> None:
    summary = lstm_core.describe_model(config)
    st.dataframe(summary["layers"], hide_index=True, width="stretch")
    st.markdown(
        f"Total parameters: **{summary['total_parameters']}**. LSTM parameters: "
        f"`{summary['lstm_formula']}` (features = 1 value per time step)."
    )


def explorer_page() -> None:
    st.title("🔁 LSTM explorer")
    st.caption(
        "An LSTM learns to echo the sequence 0, 1/n, …, (n−1)/n. Pick how the sequence is framed "
        "(the topology) in the sidebar, press Train and watch the loss fall."
    )
    config, messages = sidebar()
    ui.show_messages(st.session_state.get("url_messages", []) + messages)
    if st.query_params.to_dict() != config.to_query_params():
        st.query_params.from_dict(config.to_query_params())

    buttons = st.columns([1, 1, 4])
    train_pressed = buttons[0].button("Train", type="primary", width="stretch")
    stop_pressed = buttons[1].button("Stop", width="stretch", help="Stop after the current epoch, keeping the partial run.")
    pending = ui.take_pending_run("pending_run")
    if pending is not None and pending.result is not None:
        st.session_state["result"] = pending.result
        if pending.interrupted:
            st.session_state["stop_cause"] = "user" if stop_pressed else "setting"
    progress_slot = st.empty()
    chart_slot = st.empty()
    # The controls are on their way to the browser: now import TensorFlow (seconds of CPU) in
    # the background, a moment later, so that it does not compete with the first paint; then
    # compile the shape on screen (the tutorial's, for most first visitors), so that the first
    # Train of a class starts at once. One shape only: a compile holds the compile lock, and a
    # student who asks for another shape should not wait behind a queue of guesses.
    lstm_core.warm_up(delay=0.5, precompile=[config])
    if train_pressed:
        st.session_state.pop("url_messages", None)
        train_now(config, chart_slot, progress_slot)
    result = st.session_state.get("result")
    if result is not None:
        if result.config != config:
            st.caption("The result below is from the last run; the settings have changed since.")
        draw_result(result, chart_slot, progress_slot)
    else:
        progress_slot.info("Press **Train** to train this network. The loss curve appears here as it learns.")
    draw_framing(config)


def explorer() -> None:
    ui.run_page(explorer_page, "explorer")


def main() -> None:
    st.set_page_config(page_title="LSTM explorer", page_icon="🔁", layout="wide")
    ui.keep_keras_state_between_runs()
    navigation = st.navigation(
        [
            st.Page(explorer, title="Explorer", icon="🔁", default=True),
            st.Page("pages/compare.py", title="Compare topologies", icon="⚖️"),
        ]
    )
    navigation.run()


main()
