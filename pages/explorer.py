"""The Explorer page: pick a task, a topology and its settings, train it live, see what it learned.

Thin: the sidebar's controls come from lstm_core's field table (app.controls), every value goes
through `lstm_core.resolve`, training streams into app.live's chart, the run's outcome lives in
an app.runs handle, and every judgement (why it stopped, what to try) is lstm_core.diagnosis's.
"""

from __future__ import annotations

import logging

import streamlit as st

import lstm_core
from app import controls, live, runs, shell
from app.results import run_title, shown_sequence
from lstm_core import FIELDS, TOPOLOGIES, ExperimentConfig, backend, diagnosis, plots
from lstm_core.config import TASK_DEFAULTED, field_limits

PAGE = "explorer"
# The settings this page shows (in this order, those that apply to the chosen task).
SETTINGS = tuple(FIELDS)
DISPLAY = ("log_scale", "show_table")
CHART_HEIGHT = 300
_logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- settings


def _defaults_changed() -> None:
    """A new task or topology starts from its own defaults (the tutorial's, for the echo)."""
    names = TASK_DEFAULTED if st.session_state.get("task") != controls.previous("task") else ("epochs", "batch_size")
    for name in names:
        st.session_state[name] = None


def _tutorial_settings() -> None:
    for name in TASK_DEFAULTED:
        st.session_state[name] = None


def _default_batch(config: ExperimentConfig) -> int:
    return config.replace(batch_size=None).batch_size


def _resolved_settings(from_url: dict | None) -> tuple[ExperimentConfig, list[str]]:
    """The config the controls (or a new URL) describe, clamped by `resolve`, and its messages.

    Runs before any widget is drawn, so the clamped values can be put back into the widgets.
    """
    if from_url is not None:
        config, messages = lstm_core.resolve(from_url, source="URL parameter")
        # Shown until the next Train, so that the first rerun does not wipe them.
        st.session_state["url_messages"] = messages
        messages = []
    else:
        values = {name: st.session_state.get(name) for name in SETTINGS}
        task = lstm_core.TASKS.get(values.get("task"), lstm_core.TASKS[ExperimentConfig.task])
        # Only the settings of the chosen task (the others keep their last values in the session).
        values = {name: value for name, value in values.items()
                  if value not in (None, "") and FIELDS[name].applies(task)}
        previous = st.session_state.get("explorer_config")
        if previous is not None and values.get("batch_size") == previous.batch_size == _default_batch(previous):
            # A batch that was the default follows the other settings (one-to-one: the length).
            values.pop("batch_size")
        config, messages = lstm_core.resolve(values, source="Setting")
    st.session_state["explorer_config"] = config
    for name in SETTINGS:
        if config.applies(name) or name not in st.session_state:
            st.session_state[name] = controls.widget_value(name, getattr(config, name))
    return config, messages


def sidebar() -> tuple[ExperimentConfig, list[str]]:
    from_url = controls.new_url_params(PAGE, SETTINGS)
    controls.persist(*SETTINGS, *DISPLAY)
    config, messages = _resolved_settings(from_url)
    limits = field_limits(config)
    with st.sidebar:
        st.header("Settings")
        for name in SETTINGS:
            if not config.applies(name):
                continue
            on_change = _defaults_changed if name in ("task", "topology") else None
            controls.field_widget(name, name, limits, on_change=on_change, step=100 if name == "epochs" else None,
                                  disabled=name == "batch_size" and limits["batch_size"][1] == 1)
            if name == "task":
                st.caption(lstm_core.TASKS[config.task].summary)
            if name == "topology":
                st.caption(TOPOLOGIES[config.topology].description)
        st.button("Tutorial settings" if config.task == "echo" else "Task defaults", on_click=_tutorial_settings,
                  width="stretch", help="The task's own settings (for the echo: the tutorial's) for this topology.")
        st.header("Display")
        st.session_state.setdefault("log_scale", True)
        st.session_state.setdefault("show_table", True)
        st.toggle("Log-scale loss", key="log_scale")
        st.toggle("Show the prediction table", key="show_table")
    controls.persist(*SETTINGS, *DISPLAY)
    controls.write_url(PAGE, config.to_query_params())
    return config, messages


# --------------------------------------------------------------------------- training


def loss_chart(config: ExperimentConfig):
    topology = TOPOLOGIES[config.topology]
    return plots.loss_figure([(topology.label, topology.color)], title=f"Training loss<br><sup>{run_title(config)}</sup>",
                             log_y=st.session_state.get("log_scale", True), height=CHART_HEIGHT)


def train_now(config: ExperimentConfig, progress_slot, chart_slot) -> None:
    """Train with live progress; the outcome (complete, partial or failed) goes into a run handle."""
    # Drop the previous run first: its model is released, and a failure now shows no stale result.
    st.session_state.pop("result", None)
    handle = runs.start(PAGE, [config])
    runs.watch_for_header_stop(PAGE)
    chart = live.LiveChart(loss_chart(config), progress_slot, chart_slot, handle,
                           log_y=st.session_state.get("log_scale", True))
    progress_slot.progress(0.0, text="Preparing the model (the first run of a new shape compiles it)…")
    try:
        handle.record(lstm_core.train(config, callbacks=[chart.callback()]))
    except Exception as exc:  # noqa: BLE001 - said on the page in plain words; the log has the rest
        _logger.exception("Training %s failed", config)
        progress_slot.error(shell.failure_message(exc, "training"), icon="⚠️")
    finally:
        handle.finish()
    chart.reraise_interrupt()


# --------------------------------------------------------------------------- results


def draw_result(result, config: ExperimentConfig, handle, progress_slot, chart_slot, caption_slot,
                prediction_slot) -> None:
    stale = result.config != config
    title = run_title(result.config)
    if stale:
        st.warning(f"**Settings changed: press Train.** The charts show the last run ({title}), not the "
                   "settings in the sidebar.", icon="🔄")
    figure = loss_chart(result.config)
    plots.set_losses(figure, 0, result.losses)
    note = plots.apply_loss_axis(figure, log_y=st.session_state.get("log_scale", True))
    figure.layout.meta = {"run_finished_at": handle.finished_at if handle is not None else None}
    targets, predictions, which = shown_sequence(result)
    prediction = plots.prediction_figure(targets, predictions, color=TOPOLOGIES[result.config.topology].color,
                                         title=f"Target vs prediction<br><sup>{title}{which}</sup>", height=CHART_HEIGHT)
    if stale:
        plots.dim(figure)
        plots.dim(prediction)
    chart_slot.plotly_chart(figure, config=live.CHART_CONFIG, key="loss_chart")
    prediction_slot.plotly_chart(prediction, config=live.CHART_CONFIG, key="prediction_chart")
    progress_slot.progress(result.epochs_completed / result.config.epochs,
                           text=live.progress_text("", result.epochs_completed, result.config.epochs, result.losses))
    fall = diagnosis.loss_fall(result.losses)
    captions = [fall.text()] if fall is not None else []
    if note:
        captions.append(note)
    if captions:
        caption_slot.caption(" · ".join(captions))

    stop = diagnosis.describe_stop(result, handle.cause if handle is not None else None)
    if stop is not None:
        getattr(st, stop[0])(stop[1])
    hint = diagnosis.learning_hint(result)
    if hint:
        st.info(hint, icon="💡")
    columns = st.columns(5)
    columns[0].metric("Final MSE", f"{result.final_mse:.2e}")
    columns[1].metric("Largest error", f"{result.max_abs_error:.3f}")
    columns[2].metric("Epochs", f"{result.epochs_completed:,}")
    compile_seconds = getattr(result, "compile_seconds", 0.0)
    columns[3].metric("Compile", f"{compile_seconds:.2f} s" if compile_seconds > 0.005 else "cached",
                      help="Compiling the training function for a new shape; 'cached' when it was ready.")
    columns[4].metric("Training", f"{getattr(result, 'train_seconds', result.seconds):.2f} s",
                      help="Building the model, training and predicting, without the compile.")
    if st.session_state.get("show_table", True):
        st.dataframe(results_table(targets, predictions), hide_index=True, width="stretch")
    if handle is not None:
        handle.shown = True


def results_table(targets, predictions):
    import numpy as np
    import pandas as pd

    return pd.DataFrame({"position": np.arange(len(targets)), "target": targets, "prediction": predictions,
                         "error": np.asarray(predictions) - np.asarray(targets)})


def draw_framing(config: ExperimentConfig) -> None:
    with st.expander("How the data is framed, and the model", expanded=False):
        X_shape, y_shape = config.x_shape, config.y_shape
        st.markdown(
            f"**X** has shape `{X_shape}` = (samples, timesteps, features) and **y** has shape "
            f"`{y_shape}`. {TOPOLOGIES[config.topology].explanation}"
        )
        st.dataframe(lstm_core.framing_rows(config), hide_index=True, width="stretch")
        st.markdown("**The model**")
        if backend.is_loaded():
            summary = lstm_core.describe_model(config)
            st.dataframe(summary["layers"], hide_index=True, width="stretch")
            st.markdown(
                f"Total parameters: **{summary['total_parameters']}**. Recurrent layer parameters: "
                f"`{summary['recurrent_formula']}` (features = 1 value per time step)."
            )
        else:
            rerun_when_tensorflow_is_loaded("Loading TensorFlow for the model summary…")


@st.fragment(run_every=0.5)
def rerun_when_tensorflow_is_loaded(waiting_text: str) -> None:
    """Polls while TensorFlow loads in the background, then redraws the page once."""
    if backend.is_loaded():
        st.rerun(scope="app")
    st.caption(f"⏳ {waiting_text}")


# --------------------------------------------------------------------------- the page


def explorer_page() -> None:
    st.title("🔁 LSTM explorer")
    config, messages = sidebar()
    controls.show_messages(st.session_state.get("url_messages", []) + messages)
    buttons = st.columns([1, 1, 4])
    train_pressed = buttons[0].button("Train", type="primary", width="stretch")
    stop_pressed = buttons[1].button("Stop", width="stretch", help="Stop after the current epoch, keeping the partial run.")
    buttons[2].caption(lstm_core.TASKS[config.task].summary)
    handle = runs.settle(PAGE, stop_pressed)
    if handle is not None and handle.results:
        st.session_state["result"] = handle.results[-1]
    progress_slot = st.empty()
    chart_column, prediction_column = st.columns(2)
    chart_slot = chart_column.empty()
    caption_slot = chart_column.empty()
    prediction_slot = prediction_column.empty()
    # The controls are on their way to the browser: import TensorFlow in the background a
    # moment later, then compile the shape on screen (most first visitors train it).
    lstm_core.warm_up(delay=0.5, precompile=[config])
    if train_pressed:
        st.session_state.pop("url_messages", None)
        train_now(config, progress_slot, chart_slot)
        handle = runs.current(PAGE)
        if handle.results:
            st.session_state["result"] = handle.results[-1]
    result = st.session_state.get("result")
    if result is not None:
        draw_result(result, config, handle, progress_slot, chart_slot, caption_slot, prediction_slot)
    elif not train_pressed:
        progress_slot.info("Press **Train** to train this network. The loss curve appears here as it learns.")
    draw_framing(config)


shell.page(explorer_page, PAGE)
