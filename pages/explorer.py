"""The Explorer page: pick a task, a topology and its settings, train it live, see what it learned.

Thin: the sidebar's controls come from lstm_core's field table (app.controls), every value goes
through `lstm_core.resolve`, training streams into app.live's chart, the run's outcome lives in
an app.runs handle, and every judgement (why it stopped, what to try) is lstm_core.diagnosis's.
"""

from __future__ import annotations

import logging
import time

import streamlit as st

import lstm_core
from app import controls, live, runs, shell
from app.results import replay_frames, run_title, shown_sequence, shown_split, watched_sequence
from lstm_core import FIELDS, TASKS, TOPOLOGIES, ExperimentConfig, backend, diagnosis, exports, plots
from lstm_core.config import TASK_DEFAULTED, field_limits
from lstm_core.tasks import CustomInputError, read_csv_column

PAGE = "explorer"
# The settings this page shows (in this order, those that apply to the chosen task).
SETTINGS = tuple(FIELDS)
DISPLAY = ("log_scale", "show_table")
CHART_HEIGHT = 300
# The largest CSV file the custom task reads (a column of at most 1,000 numbers is far smaller).
CSV_MAX_BYTES = 1_000_000
VALIDATION_COLOR = "#7f7f7f"
# Replay speeds: how long the whole run takes to play back (None: as long as it trained).
REPLAY_SPEEDS = {"1× (as it trained)": None, "3 s": 3.0, "10 s": 10.0}
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


def _go_to_task(key: str) -> None:
    st.session_state["task"] = key
    _defaults_changed()


def draw_task_story(config: ExperimentConfig) -> None:
    """Under the task selector: the rule, what must be remembered and who can learn it, and the
    task the registry suggests trying next."""
    task = TASKS[config.task]
    st.caption(f"**{task.summary}.** {task.explanation}")
    if task.suggestion and task.suggestion in TASKS:
        st.button(f"Try next: {TASKS[task.suggestion].label}", on_click=_go_to_task, args=(task.suggestion,),
                  width="stretch", key="suggested_task",
                  help="Switch to the task the explanation points to (its own settings).")


def _csv_uploaded() -> None:
    st.session_state.pop("custom_csv_column", None)
    upload = st.session_state.get("custom_csv")
    if upload is None:
        st.session_state.pop("custom_csv_columns", None)
        st.session_state.pop("custom_csv_message", None)
        return
    _load_csv(upload, None)


def _csv_column_chosen() -> None:
    upload = st.session_state.get("custom_csv")
    if upload is not None:
        _load_csv(upload, st.session_state.get("custom_csv_column"))


def _load_csv(upload, column: str | None) -> None:
    """Put a CSV column into the custom sequence; a file that cannot be used changes nothing but
    the message."""
    try:
        values, chosen, numeric = read_csv_column(upload.getvalue(), column, max_bytes=CSV_MAX_BYTES)
    except CustomInputError as problem:
        st.session_state["custom_csv_message"] = f"{upload.name}: {problem} Your sequence is unchanged."
        st.session_state.pop("custom_csv_columns", None)
        return
    st.session_state.pop("custom_csv_message", None)
    st.session_state["custom_csv_columns"] = numeric
    st.session_state["custom_csv_column"] = chosen
    st.session_state["custom_values"] = controls.widget_value("custom_values", values)


def draw_csv_upload() -> None:
    """A CSV file as the custom sequence: one numeric column (a choice when there are several)."""
    st.file_uploader("…or a column of a CSV file", type=["csv"], key="custom_csv", on_change=_csv_uploaded,
                     help=f"A CSV file of at most {CSV_MAX_BYTES:,} bytes; its first numeric column is used.")
    columns = st.session_state.get("custom_csv_columns") or []
    if len(columns) > 1:
        st.selectbox("Column", columns, key="custom_csv_column", on_change=_csv_column_chosen)
    message = st.session_state.get("custom_csv_message")
    if message:
        st.error(message, icon="⚠️")


def sidebar() -> tuple[ExperimentConfig, list[str]]:
    from_url = controls.new_url_params(PAGE)
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
                draw_task_story(config)
            if name == "topology":
                st.caption(TOPOLOGIES[config.topology].description)
                note = TASKS[config.task].note_for(config.topology)
                if note:
                    st.caption(f"**On this task:** {note}")
            if name == "custom_values":
                draw_csv_upload()
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


def loss_chart(config: ExperimentConfig, validation: bool):
    """The loss chart: the training line (named by the topology), and a dashed validation line
    (the held-out sequences) when the task has them."""
    topology = TOPOLOGIES[config.topology]
    name = f"{topology.label}: training" if validation else topology.label
    figure = plots.loss_figure([(name, topology.color)], title=f"Training loss<br><sup>{run_title(config)}</sup>",
                               log_y=st.session_state.get("log_scale", True), height=CHART_HEIGHT)
    if validation:
        plots.add_validation_line(figure, f"{topology.label}: validation (unseen)", VALIDATION_COLOR)
    return figure


def prediction_chart(config: ExperimentConfig, targets, predictions, subtitle: str):
    return plots.prediction_figure(targets, predictions, color=TOPOLOGIES[config.topology].color,
                                   title=f"Target vs prediction<br><sup>{subtitle}</sup>", height=CHART_HEIGHT)


def task_chart(config: ExperimentConfig):
    """The input and the target of the sequence the run will show, before it is trained."""
    watched = watched_sequence(config, shown_index())
    where = (f"held-out sequence {watched.index + 1} (never trained on)" if watched.split == "validation"
             else f"training sequence {watched.index + 1}")
    return plots.task_figure(watched.inputs, watched.targets, height=CHART_HEIGHT,
                             title=f"The task: input and target<br><sup>{where}; press Train to add the "
                                   "network's prediction</sup>")


def shown_index() -> int:
    return int(st.session_state.get("shown_sequence") or 0)


def train_now(config: ExperimentConfig, progress_slot, chart_slot, prediction_slot) -> None:
    """Train with live progress: the loss chart and the shown sequence's predictions are redrawn
    as it learns; the outcome (complete, partial or failed) goes into a run handle."""
    # Drop the previous run first: its model is released, and a failure now shows no stale result.
    st.session_state.pop("result", None)
    handle = runs.start(PAGE, [config])
    runs.watch_for_header_stop(PAGE)
    watched = watched_sequence(config, shown_index())
    figure = loss_chart(config, validation=watched.split == "validation")
    where = (f"held-out sequence {watched.index + 1}" if watched.split == "validation"
             else f"training sequence {watched.index + 1}")

    def draw_predictions(model, draw: int) -> None:
        predictions = watched.predictions(model)
        if predictions is not None:
            prediction = prediction_chart(config, watched.targets, predictions, f"{run_title(config)} · {where} · training…")
            prediction.layout.meta = {"draw": draw}
            prediction_slot.plotly_chart(prediction, config=live.CHART_CONFIG)

    chart = live.LiveChart(figure, progress_slot, chart_slot, handle, log_y=st.session_state.get("log_scale", True),
                           val_trace_index=1 if len(figure.data) > 1 else None, on_redraw=draw_predictions)
    progress_slot.progress(0.0, text="Preparing the model (the first run of a new shape compiles it)…")
    with handle.running():
        try:
            handle.record(lstm_core.train(config, callbacks=[chart.callback()]))
        except Exception as exc:  # noqa: BLE001 - said on the page in plain words; the log has the rest
            _logger.exception("Training %s failed", config)
            progress_slot.error(shell.failure_message(exc, "training"), icon="⚠️")
    chart.reraise_interrupt()


# --------------------------------------------------------------------------- results


def draw_result(result, config: ExperimentConfig, handle, progress_slot, chart_slot, caption_slot,
                prediction_slot, picker_slot) -> None:
    stale = result.config != config
    title = run_title(result.config)
    if stale:
        st.warning(f"**Settings changed: press Train.** The charts show the last run ({title}), not the "
                   "settings in the sidebar.", icon="🔄")
    replay_pressed = draw_replay_controls(result)
    figure = loss_chart(result.config, validation=result.has_validation)
    plots.set_losses(figure, 0, result.losses)
    if result.has_validation:
        plots.set_losses(figure, 1, result.val_losses)
    note = plots.apply_loss_axis(figure, log_y=st.session_state.get("log_scale", True))
    figure.layout.meta = {"run_finished_at": handle.finished_at if handle is not None else None}
    count = result.num_sequences(shown_split(result)) if result.data is not None else 1
    if shown_index() >= count:
        st.session_state["shown_sequence"] = 0
    targets, predictions, which = shown_sequence(result, shown_index())
    prediction = prediction_chart(result.config, targets, predictions, f"{title}{which}")
    if stale:
        plots.dim(figure)
        plots.dim(prediction)
    chart_slot.plotly_chart(figure, config=live.CHART_CONFIG, key="loss_chart")
    prediction_slot.plotly_chart(prediction, config=live.CHART_CONFIG, key="prediction_chart")
    if count > 1:
        what = "held-out" if shown_split(result) == "validation" else "training"
        picker_slot.selectbox(f"Show {what} sequence", list(range(count)), key="shown_sequence",
                              format_func=lambda index: f"{index + 1} of {count}",
                              help="Which sequence the prediction chart shows (held-out: never trained on).")
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
    draw_verdict(result)
    hint = diagnosis.learning_hint(result)
    if hint:
        st.info(hint, icon="💡")
    metrics = [("Training MSE", f"{result.final_mse:.2e}", "On the sequences it trained on.")]
    if result.has_validation:
        metrics.append(("Validation MSE", f"{result.val_mse:.2e}", "On held-out sequences it never trained on."))
    compile_seconds = getattr(result, "compile_seconds", 0.0)
    metrics += [
        ("Largest error", f"{result.max_abs_error:.3f}", "The largest |prediction − target| on the training data."),
        ("Epochs", f"{result.epochs_completed:,}", None),
        ("Compile", f"{compile_seconds:.2f} s" if compile_seconds > 0.005 else "cached",
         "Compiling the training function for a new shape; 'cached' when it was ready."),
        ("Training time", f"{getattr(result, 'train_seconds', result.seconds):.2f} s",
         "Building the model, training and predicting, without the compile."),
    ]
    for column, (label, value, help_text) in zip(st.columns(len(metrics)), metrics):
        column.metric(label, value, help=help_text)
    if st.session_state.get("show_table", True):
        st.dataframe(results_table(targets, predictions), hide_index=True, width="stretch")
    draw_exports(result)
    if handle is not None:
        handle.shown = True
    return figure, prediction, replay_pressed


def draw_verdict(result) -> None:
    """Whether the run solved its task (the task's threshold on unseen data, where it has some),
    and what the registry says about this topology on this task."""
    task = TASKS[result.config.task]
    topology = TOPOLOGIES[result.config.topology]
    measure = "validation MSE on unseen sequences" if result.has_validation else "training MSE"
    note = task.note_for(result.config.topology)
    if result.solved:
        text = (f"**Solved.** The {measure} is {result.score:.2e}, below the task's threshold "
                f"{result.config.solved_below:g}.")
        st.success(text + (f" {topology.label}: {note}" if note else ""), icon="✅")
    else:
        why = (f" **Why {topology.label} fails here:** {note}" if note else
               " This topology can learn the task: try more epochs or another learning rate.")
        # An info box, not an error: the app worked, the network did not learn the task (and the
        # browser tests read error boxes as failures of the app).
        st.info(f"**Not solved.** The {measure} is {result.score:.2e}; the task counts as solved below "
                f"{result.config.solved_below:g}.{why}", icon="❌")


def draw_replay_controls(result) -> bool:
    """Classroom pace: the speed of a replay, and the button that starts it."""
    if len(result.snapshots) < 2:
        return False
    speed, button = st.columns([3, 1], vertical_alignment="bottom")
    speed.radio("Replay speed (the whole run)", list(REPLAY_SPEEDS), key="replay_speed", horizontal=True,
                help="Play the run back: its real loss history and the predictions of the weights kept "
                     "at up to 50 epochs. Any control, or Stop, ends the replay.")
    return button.button("▶ Replay the run", width="stretch", key="replay")


def replay(result, figure, prediction, progress_slot, chart_slot, prediction_slot) -> None:
    """Play a finished run back into the page's charts: frame by frame, the loss history up to a
    kept epoch and the predictions of the weights kept at that epoch (nothing invented). Any
    widget (Stop included) starts a new script run, which ends this one at its next redraw;
    the last frame is the run's end, and the page's own charts are put back."""
    with st.spinner("Preparing the replay…"):
        frames = replay_frames(result, shown_index())
    total = max(result.epochs_completed, 1)
    duration = REPLAY_SPEEDS.get(st.session_state.get("replay_speed"))
    duration = max(result.train_seconds, 0.5) if duration is None else duration
    targets, _, which = shown_sequence(result, shown_index())
    y_range = plots.shared_y_range(targets, *[frame.predictions for frame in frames])
    finite = [value for value in (*result.losses, *result.val_losses) if value == value and value > 0]
    extra = (min(finite), max(finite)) if finite else ()
    log_y = st.session_state.get("log_scale", True)
    started = time.monotonic()
    for number, frame in enumerate(frames):
        loss = loss_chart(result.config, validation=result.has_validation)
        plots.set_losses(loss, 0, frame.losses)
        if result.has_validation:
            plots.set_losses(loss, 1, frame.val_losses)
        plots.apply_loss_axis(loss, log_y=log_y, extra=extra)
        loss.update_xaxes(range=[0, total])
        loss.layout.meta = {"replay": number}
        moment = prediction_chart(result.config, targets, frame.predictions,
                                  f"{run_title(result.config)}{which} · replay: epoch {frame.epoch:,} of {total:,}")
        moment.update_yaxes(range=list(y_range))
        moment.layout.meta = {"replay": number}
        progress_slot.progress(frame.epoch / total, text=f"▶ Replay · epoch {frame.epoch:,} / {total:,}")
        chart_slot.plotly_chart(loss, config=live.CHART_CONFIG)
        prediction_slot.plotly_chart(moment, config=live.CHART_CONFIG)
        wait = started + duration * (number + 1) / len(frames) - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    figure.layout.meta = {"replayed": True}
    prediction.layout.meta = {"replayed": True}
    chart_slot.plotly_chart(figure, config=live.CHART_CONFIG)
    prediction_slot.plotly_chart(prediction, config=live.CHART_CONFIG)
    progress_slot.progress(result.epochs_completed / result.config.epochs,
                           text=live.progress_text("", result.epochs_completed, result.config.epochs, result.losses))


def export_files(result) -> list[tuple[str, str, object, str]]:
    """(button label, file name, data, MIME type) of each export of a run. The CSV files are
    small and made once per run; the model file and the report (~5 MB: Plotly's JavaScript is
    inlined) are made only when their button is pressed (a callable: Streamlit's deferred download)."""
    cached = st.session_state.get("explorer_exports")
    if cached is not None and cached[0] is result:
        return cached[1]
    stem = exports.model_filename(result.config).removesuffix(".keras")
    files = [
        ("Loss history (CSV)", f"loss_{stem}.csv", exports.loss_csv(result), "text/csv"),
        ("Predictions (CSV)", f"predictions_{stem}.csv", exports.prediction_csv(result), "text/csv"),
        ("Trained model (.keras)", exports.model_filename(result.config), lambda: exports.model_bytes(result.model),
         "application/octet-stream"),
        ("Report (HTML)", f"report_{stem}.html", lambda: exports.run_report(result), "text/html"),
    ]
    st.session_state["explorer_exports"] = (result, files)
    return files


def draw_exports(result) -> None:
    """Downloads of the run shown: everything opens offline (the report inlines Plotly)."""
    st.markdown("**Download this run**")
    try:
        files = export_files(result)
    except Exception as exc:  # noqa: BLE001 - an export that fails must not take the results with it
        _logger.exception("Exporting %s failed", result.config)
        st.error(shell.failure_message(exc, "preparing the downloads"), icon="⚠️")
        return
    for index, (column, (label, name, data, mime)) in enumerate(zip(st.columns(len(files)), files)):
        column.download_button(label, data, file_name=name, mime=mime, on_click="ignore", width="stretch",
                               key=f"download_{index}")


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
    buttons[2].caption(TASKS[config.task].summary)
    handle = runs.settle(PAGE, stop_pressed)
    if handle is not None and handle.results:
        st.session_state["result"] = handle.results[-1]
    progress_slot = st.empty()
    chart_column, prediction_column = st.columns(2)
    chart_slot = chart_column.empty()
    caption_slot = chart_column.empty()
    prediction_slot = prediction_column.empty()
    picker_slot = prediction_column.empty()
    # The controls are on their way to the browser: import TensorFlow in the background a
    # moment later, then compile the shape on screen (most first visitors train it).
    lstm_core.warm_up(delay=0.5, precompile=[config])  # once per process: the first visitor's shape
    if not train_pressed:
        # A shape never trained before compiles while the learner reaches for Train.
        runs.compile_ahead([config])
    if train_pressed:
        st.session_state.pop("url_messages", None)
        train_now(config, progress_slot, chart_slot, prediction_slot)
        handle = runs.current(PAGE)
        if handle.results:
            st.session_state["result"] = handle.results[-1]
    result = st.session_state.get("result")
    replay_pressed = False
    if result is not None:
        figure, prediction, replay_pressed = draw_result(result, config, handle, progress_slot, chart_slot,
                                                         caption_slot, prediction_slot, picker_slot)
    elif not train_pressed:
        progress_slot.info("Press **Train** to train this network. The loss curve appears here as it learns.")
        # What is to be learned, before any training (and Plotly's code is in the browser by
        # the time the first run draws: the first chart of a tab costs ~1 s to load it).
        prediction_slot.plotly_chart(task_chart(config), config=live.CHART_CONFIG, key="task_preview")
    draw_framing(config)
    if result is not None and replay_pressed:
        replay(result, figure, prediction, progress_slot, chart_slot, prediction_slot)


shell.page(explorer_page, PAGE)
