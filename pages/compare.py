"""The side-by-side topology comparison page: one sequence, one budget, every way to frame it.

Thin: the sidebar's controls go to lstm_core.compare, which builds the configs and trains them
in turn; this file draws the live loss chart, one target-vs-prediction panel per topology, the
table, and the TimeDistributed(Dense)-or-Dense section. Results live in st.session_state under
keys starting with "compare_", so they survive a visit to the main page.
"""

from __future__ import annotations

import streamlit as st

import lstm_core
from lstm_core import TOPOLOGIES, ExperimentConfig, backend
from lstm_core import compare
from pages import ui

SHARED = ("compare_sequence_length", "compare_units", "compare_learning_rate", "compare_seed")
CONTROLS = (*SHARED, "compare_budget", "compare_epochs", "compare_topologies", "compare_threshold")
DEFAULTS = {
    "compare_sequence_length": ExperimentConfig.sequence_length,
    "compare_units": ExperimentConfig.units,
    "compare_learning_rate": ExperimentConfig.learning_rate,
    "compare_seed": ExperimentConfig.seed,
    "compare_budget": "tutorial",
    "compare_epochs": 500,
    "compare_topologies": list(TOPOLOGIES),
    "compare_threshold": 1e-3,
}
# Results (not widgets): the last "Train all" (a compare.ComparisonRun) and the main page's added run.
RUN = "compare_run"
EXTRA = "compare_extra"

THRESHOLDS = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 1e-6)
MAIN_PAGE_COLOR = "#d62728"
# An emoji square per registry colour (Plotly's palette), so the table and the panel titles
# carry the same colour as the curves; no icon font is needed (offline classrooms).
SQUARES = {"#1f77b4": "🟦", "#ff7f0e": "🟧", "#2ca02c": "🟩", "#9467bd": "🟪", MAIN_PAGE_COLOR: "🟥"}
# Lines drawn dashed: the plain-Dense curve lies exactly on the TimeDistributed one.
DASHED = {compare.PLAIN_DENSE, "main_page"}


def square(color: str) -> str:
    return SQUARES.get(color, "⬛")


def title(entry: compare.ComparisonEntry) -> str:
    return f"{square(entry.color)} {entry.label}"


# --------------------------------------------------------------------------- controls


def sidebar() -> dict:
    """The comparison's controls; their values by name."""
    ui.persist(*CONTROLS)
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    if st.session_state["compare_threshold"] not in THRESHOLDS:
        st.session_state["compare_threshold"] = DEFAULTS["compare_threshold"]
    with st.sidebar:
        st.header("Shared settings")
        st.caption("The same for every topology, so that only the framing differs.")
        values = {
            "sequence_length": ui.number_input("sequence_length", key="compare_sequence_length", step=1),
            "units": ui.number_input("units", key="compare_units", step=1),
            "learning_rate": ui.number_input("learning_rate", key="compare_learning_rate", step=0.001, format="%.5f"),
            "seed": ui.number_input("seed", key="compare_seed", step=1),
        }
        st.header("Budget")
        values["budget"] = st.radio(
            "Epochs",
            compare.BUDGETS,
            format_func=lambda budget: (
                f"Tutorial epochs ({compare.tutorial_epochs_text()})" if budget == "tutorial" else "Equal epochs"
            ),
            key="compare_budget",
            help="The tutorial trains each topology for its own number of epochs; equal epochs "
            "gives every topology the same budget.",
        )
        values["epochs"] = ui.number_input("epochs", key="compare_epochs", step=100,
                                           disabled=values["budget"] != "equal")
        st.header("Topologies")
        values["topologies"] = st.multiselect(
            "Compare", list(TOPOLOGIES), format_func=lambda key: TOPOLOGIES[key].label, key="compare_topologies"
        )
        values["threshold"] = st.select_slider(
            "Loss threshold", THRESHOLDS, format_func=lambda value: f"{value:g}", key="compare_threshold",
            help="The table shows the first epoch at which each loss fell below this value.",
        )
    ui.persist(*CONTROLS)
    return values


# --------------------------------------------------------------------------- figures


def loss_chart(entries: list[compare.ComparisonEntry], threshold: float):
    """One loss line per entry in its colour (plain Dense and the main page's run dashed)."""
    from lstm_core import plots

    figure = plots.loss_figure([(entry.label, entry.color) for entry in entries],
                               title=f"Training loss per topology (dotted line: threshold {threshold:g})")
    for index, entry in enumerate(entries):
        plots.set_losses(figure, index, entry.losses)
        if entry.name in DASHED:
            figure.data[index].line.dash = "dash"
    figure.add_hline(y=threshold, line_dash="dot", line_color="#888888", line_width=1)
    # 10⁻⁶ rather than Plotly's default "1µ": a loss is not a length.
    figure.update_yaxes(exponentformat="power")
    return figure


# --------------------------------------------------------------------------- training


def train_all(run: compare.ComparisonRun, extras: list, progress_area, chart_slot, threshold: float) -> None:
    """Train every config of `run` in turn with a live curve and progress bar each.

    A press of Stop (or of any control) reruns the script: the live chart catches the signal,
    the run in progress stops after its current epoch, and the signal is passed on. Entries go
    into `run` with plain Python, never through st.session_state: after such a signal every
    Streamlit call of this (old) script run raises again, and the new run reads `run` instead.
    """
    pending = [compare.entry_for(config) for config in run.configs]
    figure = loss_chart(pending + extras, threshold)
    with progress_area.container():
        slots = [st.empty() for _ in pending]
    for slot, entry in zip(slots, pending):
        slot.progress(0.0, text=f"{title(entry)}: waiting")
    charts = {
        entry.name: ui.LiveChart(figure, trace_index=index, label=f"{title(entry)}: ",
                                 progress_slot=slot, chart_slot=chart_slot)
        for index, (entry, slot) in enumerate(zip(pending, slots))
    }

    def callbacks_for(config: ExperimentConfig):
        live = charts[config.topology]
        # Each run's redraws differ from the last run's, even with no epoch drawn yet (Streamlit
        # refuses two identical keyless charts in one script run).
        figure.layout.meta = {"run": config.topology}
        live.progress_slot.progress(0.0, text=f"{live.label}preparing the model (a new shape compiles first)…")
        return [live.callback()]

    try:
        for entry in compare.iter_comparison(run.configs, callbacks_for=callbacks_for):
            run.record(entry)
            live = charts[entry.name]
            if live.interrupt is not None:
                run.interrupted = True
                live.reraise_interrupt()
            if entry.failed:
                live.progress_slot.error(f"{title(entry)}: {entry.status}", icon="❌")
    except BaseException as exc:
        if ui.is_interrupt(exc):
            run.interrupted = True
        raise
    finally:
        run.finished.set()


def _interrupt_notice(run: compare.ComparisonRun, stopped_by_user: bool) -> str:
    why = "you pressed Stop" if stopped_by_user else "the page was used during the run (a setting, a button or the main page)"
    stopped = [entry for entry in run.entries if entry.stopped]
    if stopped:
        entry = stopped[0]
        text = (f"Training stopped during {entry.label} after epoch {entry.result.epochs_completed:,} of "
                f"{entry.config.epochs:,} because {why}.")
    else:
        text = f"Training stopped because {why}."
    not_trained = [TOPOLOGIES[config.topology].label for config in run.not_trained]
    if not_trained:
        text += f" Not trained: {', '.join(not_trained)}."
    return text + " What finished is kept (with the partial curve); press **Train all** to start again."


# --------------------------------------------------------------------------- results


def draw_progress(entries: list, progress_area) -> None:
    with progress_area.container():
        for entry in entries:
            planned = entry.config.epochs
            done = entry.result.epochs_completed if entry.result is not None else 0
            loss = f" · loss {entry.losses[-1]:.3g}" if len(entry.losses) else ""
            if entry.failed:
                st.error(f"{title(entry)}: {entry.status}", icon="❌")
            else:
                st.progress(min(done / max(planned, 1), 1.0),
                            text=f"{title(entry)}: epoch {done:,} / {planned:,}{loss} · {entry.status}")


def draw_panels(entries: list, chosen: list[str]) -> None:
    """One column per entry: its target-vs-prediction chart (one y range for all) and what it sees."""
    from lstm_core import plots

    st.subheader("Target vs prediction")
    if not entries:
        st.caption("What each network sees; press **Train all** to add what it learned.")
        entries = [compare.entry_for(ExperimentConfig(topology=key, epochs=1)) for key in chosen]
        if not entries:
            return
    trained = [entry.result for entry in entries if entry.result is not None]
    y_range = plots.shared_y_range(*[r.targets for r in trained], *[r.predictions for r in trained]) if trained else None
    for column, entry in zip(st.columns(len(entries)), entries):
        with column:
            st.markdown(f"**{title(entry)}**")
            result = entry.result
            if result is not None and len(result.predictions):
                figure = plots.prediction_figure(result.targets, result.predictions, title="", color=entry.color,
                                                 y_range=y_range, height=300)
                figure.update_layout(title=None, margin={"t": 20})
                figure.update_xaxes(range=[-0.5, len(result.targets) - 0.5])
                st.plotly_chart(figure, config={"displaylogo": False}, key=f"compare_prediction_{entry.name}")
            if entry.failed and result is not None and result.stop_reason == "non_finite_loss":
                st.error(ui.describe_stop(result, stopped_by_user=False)[1], icon="❌")
            elif entry.failed:
                st.error(f"Training failed: {entry.error}. The other topologies were trained anyway.", icon="❌")
            elif entry.stopped:
                st.info(f"Stopped after epoch {result.epochs_completed:,} of {entry.config.epochs:,}.", icon="⏹️")
            if entry.name == "main_page":
                c = entry.config
                st.caption(f"Trained on the main page: sequence length {c.sequence_length}, {c.units} units, "
                           f"{c.epochs:,} epochs, batch {c.batch_size}, learning rate {c.learning_rate:g}, seed {c.seed}.")
            st.caption(TOPOLOGIES[entry.config.topology].explanation)


def draw_table(entries: list, threshold: float) -> None:
    st.subheader("Side by side")
    rows = compare.table_rows(entries, threshold)
    for row, entry in zip(rows, entries):
        row["topology"] = title(entry)
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_order=compare.TABLE_COLUMNS,
        column_config={
            "final MSE": st.column_config.NumberColumn(format="%.2e"),
            "largest abs error": st.column_config.NumberColumn(format="%.3f"),
            "wall time (s)": st.column_config.NumberColumn(format="%.2f"),
            "first epoch below threshold": st.column_config.TextColumn(f"first epoch below {threshold:g}"),
        },
    )
    st.caption("Final MSE and the largest error compare the predictions with the sequence after the last "
               "epoch; the wall time includes compiling a shape the first time it is trained.")


# --------------------------------------------------------------------------- TimeDistributed vs Dense


@st.cache_data(max_entries=32, show_spinner=False)
def _dense_check(sequence_length: int, units: int, seed: int) -> compare.DenseCheck:
    # Numbers only (no model), the same for every user: safe to share across sessions.
    return compare.dense_check(sequence_length, units, seed)


def draw_dense_section(sequence_length: int, units: int, seed: int, entries: list) -> None:
    st.subheader("TimeDistributed(Dense) or plain Dense?")
    st.markdown(
        "**They are the same layer here.** In Keras 3, `Dense` applied to a 3-D tensor "
        "(samples, time steps, features) acts on the last axis only: after "
        "`LSTM(units, return_sequences=True)` a plain `Dense(1)` maps each time step's hidden state "
        "to one output with the same weights for every step, which is exactly what "
        "`TimeDistributed(Dense(1))` does. Both have the same parameters, and with the same weights "
        "they give the same outputs. (Older Keras versions needed `TimeDistributed`; that is where "
        "the advice comes from.)"
    )
    if not backend.is_loaded():
        ui.rerun_when_tensorflow_is_loaded("Loading TensorFlow for the model summaries and the check…")
        return
    keys = (compare.TIME_DISTRIBUTED, compare.PLAIN_DENSE)
    for column, key in zip(st.columns(2), keys):
        topology = TOPOLOGIES[key]
        summary = lstm_core.describe_model(ExperimentConfig(topology=key, sequence_length=sequence_length,
                                                            units=units, epochs=1))
        with column:
            st.markdown(f"**{square(topology.color)} {topology.label}**")
            st.dataframe(summary["layers"], hide_index=True, width="stretch")
            st.caption(f"Total parameters: {summary['total_parameters']}")
    check = _dense_check(sequence_length, units, seed)
    difference = "**0**: bit for bit equal" if check.max_abs_difference == 0 else f"**{check.max_abs_difference:.1e}**"
    st.markdown(
        f"**The check:** the same weights (drawn from seed {seed}) copied into both models, both run on "
        f"the same X of shape `(1, {sequence_length}, 1)`: the largest difference between their "
        f"{sequence_length} outputs is {difference}; parameters {check.time_distributed_parameters} "
        f"and {check.dense_parameters}."
    )
    trained = {entry.name: entry for entry in entries if entry.result is not None and not entry.failed}
    if all(key in trained for key in keys):
        gap = compare.max_curve_difference(trained[keys[0]].losses, trained[keys[1]].losses)
        if gap is not None:
            st.markdown(
                f"In the training above both started from the same seeded weights: their loss curves differ "
                f"by at most **{gap:.1e}** (float rounding), so the dashed purple curve lies on the green one."
            )


# --------------------------------------------------------------------------- the page


def compare_page() -> None:
    st.title("⚖️ Compare topologies")
    st.caption(
        "The same sequence, the same budget, several ways to frame it. Choose the shared settings and "
        "the topologies in the sidebar, press **Train all**, and compare the curves, the predictions "
        "and the table."
    )
    values = sidebar()
    configs, messages = compare.comparison_configs(
        values["topologies"], sequence_length=values["sequence_length"], units=values["units"],
        seed=values["seed"], learning_rate=values["learning_rate"], budget=values["budget"],
        epochs=values["epochs"],
    )
    ui.show_messages(messages)
    if not configs:
        st.warning("Choose at least one topology in the sidebar to compare.", icon="👈")

    main_result = st.session_state.get("result")
    extra = st.session_state.get(EXTRA)
    buttons = st.columns([1, 1, 2])
    train_pressed = buttons[0].button("Train all", type="primary", width="stretch", key="compare_train",
                                      disabled=not configs)
    stop_pressed = buttons[1].button("Stop", width="stretch", key="compare_stop",
                                     help="Stop after the current epoch, keeping what finished.")
    already_added = extra is not None and main_result is not None and extra.result is main_result
    add_pressed = buttons[2].button("Add the main page's last run", width="stretch", key="compare_add_main",
                                    disabled=main_result is None or already_added)
    if main_result is None:
        buttons[2].caption("No run on the main page yet: train one on 🔁 Explorer to add it here.")
    elif already_added:
        buttons[2].caption("The main page's last run is in the comparison.")
    if add_pressed and main_result is not None:
        st.session_state[EXTRA] = compare.entry_from_result(main_result, color=MAIN_PAGE_COLOR)
        st.rerun()

    progress_area = st.empty()
    chart_slot = st.empty()
    # The controls are on their way to the browser: now import TensorFlow in the background.
    lstm_core.warm_up(delay=0.5)
    extras = [extra] if extra is not None else []
    run = st.session_state.get(RUN)
    if run is not None:
        ui.wait_for_interrupted_run(run)
        if run.interrupted and run.notice is None:
            # This is the script run that the interruption started: it knows whether Stop did it.
            run.notice = _interrupt_notice(run, stopped_by_user=stop_pressed)
    if train_pressed and configs:
        run = compare.ComparisonRun(configs)
        st.session_state[RUN] = run
        train_all(run, extras, progress_area, chart_slot, values["threshold"])

    entries = (list(run.entries) if run is not None else []) + extras
    if entries:
        draw_progress(entries, progress_area)
        chart_slot.plotly_chart(loss_chart(entries, values["threshold"]), config={"displaylogo": False},
                                key="compare_loss_chart")
        if run is not None and run.notice:
            st.info(run.notice, icon="⏹️")
        if run is not None and run.configs != configs:
            st.caption("The results are from the last **Train all**; the settings have changed since.")
    else:
        progress_area.info("Press **Train all** to train every chosen topology in turn; the loss curves "
                           "appear here as they learn.", icon="📉")
    draw_panels(entries, values["topologies"])
    if entries:
        draw_table(entries, values["threshold"])
    draw_dense_section(configs[0].sequence_length if configs else values["sequence_length"],
                       configs[0].units if configs else values["units"],
                       configs[0].seed if configs else values["seed"], entries)


ui.run_page(compare_page, "comparison")
