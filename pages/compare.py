"""The Compare page: one task, one budget, several topologies side by side.

Thin: the controls' values (or the URL's) go to `lstm_core.compare.resolve_settings`, which
validates them through `lstm_core.resolve` and builds the configs; training streams into one
app.live chart, line by line; the outcome lives in an app.runs handle. The settings are in
the URL, so a comparison can be shared.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import lstm_core
from app import controls, live, runs, shell
from app.results import run_title, shown_sequence
from lstm_core import FIELDS, TASKS, TOPOLOGIES, ExperimentConfig, backend, compare, diagnosis, plots, robustness
from lstm_core.config import field_limits

PAGE = "compare"
PREFIX = "compare_"
SHARED_KEYS = tuple(PREFIX + name for name in compare.SHARED)
CONTROLS = (*SHARED_KEYS, "compare_budget", "compare_epochs", "compare_topologies", "compare_threshold",
            "compare_log_scale")
MAIN_PAGE_COLOR = "#d62728"
MAIN_PAGE_GLYPH = "🟥"
PANEL_HEIGHT = 260
PANELS_PER_ROW = 4
# Lines drawn dashed: the plain-Dense curve lies exactly on the TimeDistributed one.
DASHED = {compare.PLAIN_DENSE, "main_page"}


def glyph_of(entry: compare.ComparisonEntry) -> str:
    return MAIN_PAGE_GLYPH if entry.name == "main_page" else controls.glyph(entry.config.topology)


def title(entry: compare.ComparisonEntry) -> str:
    """"✅ 🟦 One-to-one": the verdict (once trained), the topology's glyph, its label."""
    return " ".join(part for part in (entry.verdict, glyph_of(entry), entry.label) if part)


# --------------------------------------------------------------------------- controls


def _control_values() -> dict:
    values = {name: st.session_state.get(PREFIX + name) for name in compare.SHARED}
    values = {name: value for name, value in values.items() if value not in (None, "")}
    values.update(topologies=st.session_state.get("compare_topologies", compare.default_topologies()),
                  budget=st.session_state.get("compare_budget", "tutorial"),
                  epochs=st.session_state.get("compare_epochs", compare.DEFAULT_EQUAL_EPOCHS),
                  threshold=st.session_state.get("compare_threshold", compare.DEFAULT_THRESHOLD))
    return values


def _task_changed() -> None:
    for name in ("sequence_length", "units", "learning_rate"):
        st.session_state[PREFIX + name] = None


def settings() -> tuple[compare.CompareSettings, list[ExperimentConfig], list[str]]:
    """The comparison the controls (or a new URL) describe, validated, with its messages."""
    from_url = controls.new_url_params(PAGE)
    controls.persist(*CONTROLS)
    if from_url is not None:
        chosen, configs, messages = compare.resolve_settings(from_url, source="URL parameter")
    else:
        chosen, configs, messages = compare.resolve_settings(_control_values(), source="Setting")
    for name, value in chosen.shared:
        st.session_state[PREFIX + name] = controls.widget_value(name, value)
    st.session_state.update(compare_topologies=list(chosen.topologies), compare_budget=chosen.budget,
                            compare_epochs=chosen.epochs, compare_threshold=chosen.threshold)
    st.session_state.setdefault("compare_log_scale", True)
    shared = ExperimentConfig(**{**chosen.shared_values(), "epochs": 1})
    limits = field_limits(shared)
    with st.sidebar:
        st.header("Shared settings")
        st.caption("The same for every topology, so that only the framing differs.")
        for name in compare.SHARED:
            if shared.applies(name):
                controls.field_widget(name, PREFIX + name, limits, on_change=_task_changed if name == "task" else None)
        st.header("Budget")
        st.radio("Epochs", compare.BUDGETS, key="compare_budget",
                 format_func=lambda budget: (f"Each topology's own ({compare.tutorial_epochs_text(chosen.topologies)})"
                                             if budget == "tutorial" else "Equal epochs"),
                 help="The tutorial trains each topology for its own number of epochs; equal epochs gives "
                      "every topology the same budget.")
        st.number_input("Epochs for all", key="compare_epochs", step=100, disabled=chosen.budget != "equal",
                        help=f"{FIELDS['epochs'].help} {controls.range_text('epochs', {})}")
        st.header("Topologies")
        st.multiselect("Compare", list(TOPOLOGIES), format_func=lambda key: controls.label_of("topology", key),
                       key="compare_topologies")
        st.select_slider("Loss threshold", compare.THRESHOLDS, format_func=lambda value: f"{value:g}",
                         key="compare_threshold",
                         help="The table shows the first epoch at which each loss fell below this value.")
        st.toggle("Log-scale loss", key="compare_log_scale")
    controls.persist(*CONTROLS)
    controls.write_url(PAGE, chosen.to_query_params())
    return chosen, configs, messages


# --------------------------------------------------------------------------- figures


def loss_chart(entries: list[compare.ComparisonEntry], threshold: float, log_y: bool):
    """One loss line per entry in its colour (plain Dense and the main page's run dashed)."""
    figure = plots.loss_figure([(entry.label, entry.color) for entry in entries], log_y=log_y,
                               title=f"Training loss per topology<br><sup>grey dotted line: threshold {threshold:g}; "
                                     f"thin dotted lines: validation loss</sup>")
    for index, entry in enumerate(entries):
        plots.set_losses(figure, index, entry.losses)
        if entry.name in DASHED:
            figure.data[index].line.dash = "dash"
    figure.add_hline(y=threshold, line_dash="dot", line_color="#888888", line_width=1)
    return figure


def train_all(handle: runs.RunHandle, extras: list, progress_slot, chart_slot, chosen) -> None:
    """Train every config of `handle` in turn, one live line each; entries go into the handle."""
    log_y = st.session_state.get("compare_log_scale", True)
    pending = [compare.entry_for(config) for config in handle.configs]
    figure = loss_chart(pending + extras, chosen.threshold, log_y)
    charts = {entry.name: live.LiveChart(figure, progress_slot, chart_slot, handle, trace_index=index,
                                         label=f"{title(entry)} ({index + 1} of {len(pending)}): ", log_y=log_y,
                                         extra_y=[chosen.threshold])
              for index, entry in enumerate(pending)}
    # Held-out losses stream into a dotted line of the same figure, redrawn with the training one.
    validation = {entry.name: compare.add_validation_trace(figure, entry)
                  for entry in pending if entry.config.num_val_samples > 0}

    def callbacks_for(config: ExperimentConfig):
        chart = charts[config.topology]
        progress_slot.progress(0.0, text=f"{chart.label}preparing the model (a new shape compiles first)…")
        lines = [compare.ValidationLine(figure, validation[config.topology])] if config.topology in validation else []
        return [*lines, chart.callback()]

    with handle.running():
        for entry in compare.iter_comparison(handle.configs, callbacks_for=callbacks_for):
            handle.record(entry)
            charts[entry.name].reraise_interrupt()


def interrupt_notice(handle: runs.RunHandle) -> str:
    stopped = [entry for entry in handle.results if entry.stopped]
    because = diagnosis.cause_text(handle.cause)
    if stopped:
        entry = stopped[0]
        text = (f"Training stopped during {entry.label} after epoch {entry.result.epochs_completed:,} of "
                f"{entry.config.epochs:,} because {because}.")
    else:
        text = f"Training stopped because {because}."
    not_trained = [TOPOLOGIES[config.topology].label for config in handle.not_trained]
    if not_trained:
        text += f" Not trained: {', '.join(not_trained)}."
    return text + " What finished is kept (with the partial curve); press **Train all** to start again."


# --------------------------------------------------------------------------- results


def status_line(entries: list) -> str:
    parts = []
    for entry in entries:
        done = entry.result.epochs_completed if entry.result is not None else 0
        parts.append(f"{glyph_of(entry)} {done:,}/{entry.config.epochs:,}" + (" ❌" if entry.failed else ""))
    return "Epochs: " + " · ".join(parts)


def draw_panels(entries: list, chosen_keys, stale: bool) -> None:
    """Target vs prediction per entry, on one y range, a few per row."""
    st.subheader("Target vs prediction")
    if not entries:
        st.caption("What each network sees; press **Train all** to add what it learned.")
        for key in chosen_keys:
            st.caption(f"{controls.glyph(key)} **{TOPOLOGIES[key].label}**: {TOPOLOGIES[key].explanation}")
        return
    trained = [entry.result for entry in entries if entry.result is not None and len(entry.result.predictions)]
    y_range = plots.shared_y_range(*[r.targets for r in trained], *[r.predictions for r in trained]) if trained else None
    for start in range(0, len(entries), PANELS_PER_ROW):
        row = entries[start:start + PANELS_PER_ROW]
        for column, entry in zip(st.columns(PANELS_PER_ROW), row):
            with column:
                draw_panel(entry, y_range, stale)


def verdict_text(entry) -> str:
    """":green[**✅ solved**]: validation MSE 2.0e-05 < 0.01" (coloured, for a panel)."""
    result = entry.result
    if entry.solved is None:
        return ""
    kind = "validation MSE" if result.has_validation else "final MSE"
    limit = entry.config.solved_below
    if entry.solved:
        return f":green[**{compare.SOLVED_GLYPH} solved**]: {kind} {result.score:.1e} < {limit:g}"
    return f":red[**{compare.NOT_SOLVED_GLYPH} not solved**]: {kind} {result.score:.1e}, not below {limit:g}"


def draw_panel(entry, y_range, stale: bool) -> None:
    st.markdown(f"**{title(entry)}**")
    if text := verdict_text(entry):
        st.markdown(text)
    if entry.reason:
        st.caption(f"Why: {entry.reason}")
    result = entry.result
    if result is not None and len(result.predictions):
        targets, predictions, which = shown_sequence(result)
        figure = plots.prediction_figure(targets, predictions, title="", color=entry.color, y_range=y_range,
                                         height=PANEL_HEIGHT)
        figure.update_layout(title=None, margin={"t": 10, "l": 45, "r": 10, "b": 40}, showlegend=False)
        figure.update_xaxes(range=[-0.5, len(targets) - 0.5], title=f"position{which}")
        if stale:
            plots.dim(figure)
        st.plotly_chart(figure, config=live.CHART_CONFIG, key=f"compare_prediction_{entry.name}")
    if entry.failed and result is not None and result.stop_reason == diagnosis.NON_FINITE_LOSS:
        st.error(diagnosis.describe_stop(result)[1], icon="❌")
    elif entry.failed:
        st.error(f"Training failed: {entry.error}. The other topologies were trained anyway.", icon="❌")
    elif entry.stopped:
        st.info(f"Stopped after epoch {result.epochs_completed:,} of {entry.config.epochs:,}.", icon="⏹️")
    if entry.name == "main_page":
        c = entry.config
        st.caption(f"Trained on the Explorer: length {c.sequence_length}, {c.units} units, {c.epochs:,} epochs, "
                   f"batch {c.batch_size}, learning rate {c.learning_rate:g}, seed {c.seed}.")
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
            "topology": st.column_config.TextColumn(width="medium"),
            "solved": st.column_config.TextColumn(f"solved (< {entries[0].config.solved_below:g})"),
            "score": st.column_config.NumberColumn(
                "validation MSE" if any(e.result is not None and e.result.has_validation for e in entries)
                else "final MSE", format="%.2e"),
            "final MSE": st.column_config.NumberColumn(format="%.2e"),
            "largest abs error": st.column_config.NumberColumn("largest error", format="%.3f"),
            "compile (s)": st.column_config.NumberColumn(format="%.2f"),
            "training (s)": st.column_config.NumberColumn(format="%.2f"),
            "first epoch below threshold": st.column_config.TextColumn(f"below {threshold:g} at"),
        },
    )
    st.caption("Solved: the validation MSE (on held-out sequences; the training MSE where the task has none) "
               "is below the task's threshold. Final MSE and the largest error compare the training "
               "predictions with the targets after the last epoch; compile is the time spent compiling a "
               "shape the first time it is trained.")
    downloads = st.columns(2)
    downloads[0].download_button("⬇️ Table as CSV", compare.table_csv(entries, threshold), "comparison.csv",
                                 "text/csv", key="compare_download_csv", on_click="ignore", width="stretch")
    # Built when clicked (plotly.js inlined: a few MB), not on every rerun.
    downloads[1].download_button("⬇️ Report (one HTML file, opens offline)",
                                 lambda: compare.report_html(entries, threshold), "comparison.html", "text/html",
                                 key="compare_download_html", on_click="ignore", width="stretch")


# --------------------------------------------------------------------------- seed robustness

SEEDS_KEY = "compare_seed_run"  # not a runs.current() handle: a page visit must not name its cause


def draw_robustness(configs: list[ExperimentConfig], stop_pressed: bool) -> None:
    """N seeds per chosen topology: success rate, spread of final errors, median curve with a band,
    and the best and worst seed one click away."""
    st.subheader("Seed robustness: one lucky seed, or a topology that wins?")
    st.caption("Each topology is trained again with seeds 0, 1, 2, … (each seed draws its own initial weights "
               "and, for the random tasks, its own sequences), with the settings above. Configurations of one "
               "shape train together as one population.")
    columns = st.columns([1, 1, 2], vertical_alignment="bottom")
    # No min/max on the widget: a typed 500 becomes 100 with a message, not a silent red box.
    count, message = robustness.seed_count(st.session_state.get("compare_seed_count", robustness.DEFAULT_SEEDS))
    st.session_state["compare_seed_count"] = count
    columns[0].number_input("Seeds per topology", step=1, key="compare_seed_count",
                            help=f"{robustness.MIN_SEEDS} to {robustness.MAX_SEEDS}.")
    pressed = columns[1].button(f"Run {count} seeds", key="compare_run_seeds", disabled=not configs,
                                width="stretch", help="Stop (above) ends it after the topology in progress.")
    if message:
        st.warning(message, icon="✏️")
    progress_slot = st.empty()
    handle = st.session_state.get(SEEDS_KEY)
    if handle is not None and not handle.finished.is_set():
        with st.spinner("⏹️ Stopping the seeds in progress…"):
            handle.wait(runs.STOP_WAIT_SECONDS)
    if handle is not None and handle.interrupted and handle.cause is None:
        handle.cause = diagnosis.STOP_BUTTON if stop_pressed else diagnosis.SETTING_CHANGED
    if pressed and configs:
        seed_configs = [c for config in configs for c in robustness.seed_configs(config, int(count))]
        handle = runs.RunHandle(PAGE, seed_configs)
        st.session_state[SEEDS_KEY] = handle
        train_seeds(handle, progress_slot)
    if handle is None or not handle.results:
        if handle is not None and handle.interrupted:
            st.info("Stopped before the first topology's seeds finished.", icon="⏹️")
        return
    if handle.interrupted:
        not_trained = dict.fromkeys(TOPOLOGIES[c.topology].label for c in handle.not_trained)
        st.info(f"Stopped because {diagnosis.cause_text(handle.cause)}; not run: {', '.join(not_trained)}.",
                icon="⏹️")
    if {c.replace(seed=0) for c in handle.configs} != {c.replace(seed=0) for c in configs}:
        st.warning("These seeds were run with other settings: press **Run seeds** again for the ones above.",
                   icon="🔄")
    summaries = [robustness.summarise(group) for group in grouped(handle.results)]
    draw_seed_results(summaries, handle.results)



def grouped(results: list) -> list[list]:
    """Results grouped by topology, in the order first seen."""
    groups: dict[str, list] = {}
    for result in results:
        groups.setdefault(result.config.topology, []).append(result)
    return list(groups.values())


def train_seeds(handle: runs.RunHandle, progress_slot) -> None:
    """Train the handle's seed configs through robustness.train_seeds; a Stop (any rerun signal,
    raised at the progress update) keeps the topologies that finished."""
    progress_slot.progress(0.0, text="Preparing the population (a new shape compiles first)…")

    def progress(done: int, total: int) -> None:
        progress_slot.progress(min(done / max(total, 1), 1.0), text=f"Seeds: {done:,} of {total:,} epochs")

    with handle.running():
        for results in robustness.train_seeds(handle.configs, progress=progress):
            for result in results:
                handle.record(result)
    progress_slot.empty()


def draw_seed_results(summaries: list[robustness.SeedSummary], results: list) -> None:
    for summary in summaries:
        topology = TOPOLOGIES[summary.topology]
        glyph = compare.SOLVED_GLYPH if summary.success_rate == 1 else (
            compare.NOT_SOLVED_GLYPH if summary.success_rate == 0 else "⚠️")
        st.markdown(f"{glyph} {topology.glyph} **{topology.label}**: {summary.rate_text()}; "
                    f"median {summary.curve_kind} MSE {float(np.median(summary.scores)):.1e}, best seed "
                    f"{summary.best_seed} ({summary.scores[summary.best_index]:.1e}), worst seed "
                    f"{summary.worst_seed} ({summary.scores[summary.worst_index]:.1e}).")
    left, right = st.columns(2)
    left.plotly_chart(robustness.spread_figure(summaries), config=live.CHART_CONFIG, key="compare_seed_spread")
    right.plotly_chart(robustness.band_figure(summaries), config=live.CHART_CONFIG, key="compare_seed_band")
    by_seed = {(r.config.topology, r.config.seed): r for r in results}
    choices = [(s.topology, which, seed) for s in summaries
               for which, seed in (("best", s.best_seed), ("worst", s.worst_seed))]
    shown = st.selectbox("Show the predictions of", choices, key="compare_seed_shown",
                         format_func=lambda c: f"{TOPOLOGIES[c[0]].glyph} {TOPOLOGIES[c[0]].label}: {c[1]} seed ({c[2]})")
    if shown is None or (shown[0], shown[2]) not in by_seed:
        return
    result = by_seed[(shown[0], shown[2])]
    targets, predictions, which = shown_sequence(result)
    figure = plots.prediction_figure(targets, predictions, title=f"{run_title(result.config)}, seed {shown[2]}{which}",
                                     color=TOPOLOGIES[shown[0]].color, height=PANEL_HEIGHT + 60)
    columns = st.columns([3, 1], vertical_alignment="center")
    columns[0].plotly_chart(figure, config=live.CHART_CONFIG, key="compare_seed_prediction")
    with columns[1]:
        entry = compare.ComparisonEntry(name=shown[0], label=TOPOLOGIES[shown[0]].label,
                                        color=TOPOLOGIES[shown[0]].color, config=result.config, result=result)
        st.markdown(verdict_text(entry))
        st.page_link("pages/explorer.py", label=f"Open seed {shown[2]} in the Explorer", icon="🔎",
                     query_params=result.config.to_query_params())


# --------------------------------------------------------------------------- TimeDistributed vs Dense


@st.cache_data(max_entries=32, show_spinner=False)
def _dense_check(sequence_length: int, units: int, seed: int) -> compare.DenseCheck:
    # Numbers only (the models are built per call and dropped), the same for every user.
    return compare.dense_check(sequence_length, units, seed)


def difference_text(difference: float) -> str:
    return "**none: they are identical**, bit for bit" if difference == 0 else f"**{difference:.1e}** (float rounding)"


def draw_dense_section(shared: dict, entries: list) -> None:
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
        rerun_when_tensorflow_is_loaded("Loading TensorFlow for the model summaries and the check…")
        return
    length, units, seed = shared["sequence_length"], shared["units"], shared["seed"]
    keys = (compare.TIME_DISTRIBUTED, compare.PLAIN_DENSE)
    for column, key in zip(st.columns(2), keys):
        summary = lstm_core.describe_model(ExperimentConfig(topology=key, sequence_length=length, units=units, epochs=1))
        with column:
            st.markdown(f"**{controls.label_of('topology', key)}**")
            st.dataframe(summary["layers"], hide_index=True, width="stretch")
            st.caption(f"Total parameters: {summary['total_parameters']}")
    check = _dense_check(length, units, seed)
    st.markdown(
        f"**The check:** the same weights (drawn from seed {seed}) copied into both models, both run on "
        f"the same X of shape `(1, {length}, 1)`: the largest difference between their {length} outputs: "
        f"{difference_text(check.max_abs_difference)}; parameters {check.time_distributed_parameters} "
        f"and {check.dense_parameters}."
    )
    trained = {entry.name: entry for entry in entries if entry.result is not None and not entry.failed}
    if all(key in trained for key in keys):
        gap = compare.max_curve_difference(trained[keys[0]].losses, trained[keys[1]].losses)
        if gap is not None:
            st.markdown(
                f"In the training above both started from the same seeded weights: the largest difference "
                f"between their loss curves: {difference_text(gap)}, so the dashed curve lies on the other."
            )


@st.fragment(run_every=0.5)
def rerun_when_tensorflow_is_loaded(waiting_text: str) -> None:
    if backend.is_loaded():
        st.rerun(scope="app")
    st.caption(f"⏳ {waiting_text}")


# --------------------------------------------------------------------------- the page


def compare_page() -> None:
    st.title("⚖️ Compare topologies")
    chosen, configs, messages = settings()
    controls.show_messages(messages)
    if not configs:
        st.warning("Choose at least one topology in the sidebar to compare.", icon="👈")

    main_handle = runs.current("explorer")
    main_result = main_handle.results[-1] if main_handle is not None and main_handle.results else None
    extra = st.session_state.get("compare_extra")
    buttons = st.columns([1, 1, 2])
    train_pressed = buttons[0].button("Train all", type="primary", width="stretch", key="compare_train",
                                      disabled=not configs)
    stop_pressed = buttons[1].button("Stop", width="stretch", key="compare_stop",
                                     help="Stop after the current epoch, keeping what finished.")
    already_added = extra is not None and main_result is not None and extra.result is main_result
    add_pressed = buttons[2].button("Add the Explorer's last run", width="stretch", key="compare_add_main",
                                    disabled=main_result is None or already_added)
    if add_pressed and main_result is not None:
        st.session_state["compare_extra"] = compare.entry_from_result(main_result, color=MAIN_PAGE_COLOR)
        st.rerun()

    handle = runs.settle(PAGE, stop_pressed)
    progress_slot = st.empty()
    chart_slot = st.empty()
    caption_slot = st.empty()
    lstm_core.warm_up(delay=0.5)
    if not train_pressed:
        runs.compile_ahead(configs)
    extras = [extra] if extra is not None else []
    if train_pressed and configs:
        handle = runs.start(PAGE, configs)
        runs.watch_for_header_stop(PAGE)
        train_all(handle, extras, progress_slot, chart_slot, chosen)

    entries = (list(handle.results) if handle is not None else []) + extras
    stale = handle is not None and handle.configs != configs
    if entries:
        log_y = st.session_state.get("compare_log_scale", True)
        figure = loss_chart(entries, chosen.threshold, log_y)
        compare.add_validation_lines(figure, entries)
        note = plots.apply_loss_axis(figure, log_y=log_y, extra=[chosen.threshold])
        figure.layout.meta = {"run_finished_at": handle.finished_at if handle is not None else None}
        if stale:
            plots.dim(figure)
        progress_slot.caption(status_line(entries))
        chart_slot.plotly_chart(figure, config=live.CHART_CONFIG, key="compare_loss_chart")
        falls = [f"{glyph_of(e)} {fall.text()}" for e in entries if (fall := diagnosis.loss_fall(e.losses))]
        caption_slot.caption(" · ".join(falls + ([note] if note else [])))
        if stale:
            st.warning("**Settings changed: press Train all.** The results below are from the last Train all, "
                       "not the settings in the sidebar.", icon="🔄")
        if handle is not None and handle.interrupted:
            st.info(interrupt_notice(handle), icon="⏹️")
            handle.shown = True
    else:
        progress_slot.info("Press **Train all** to train every chosen topology in turn; the loss curves "
                           "appear here as they learn.", icon="📉")
    draw_panels(entries, chosen.topologies, stale)
    if entries:
        draw_table(entries, chosen.threshold)
    draw_robustness(configs, stop_pressed)
    draw_dense_section(chosen.shared_values(), entries)


shell.page(compare_page, PAGE)
