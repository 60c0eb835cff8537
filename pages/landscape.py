"""The Landscape page: final loss over units × learning rate, one heatmap per topology.

Thin: the controls' values (or the URL's) go to `lstm_core.landscape.resolve_settings`, which
validates them (the run settings through `lstm_core.resolve`); training goes topology by
topology (every units value and learning rate of it as one population) and redraws the heatmaps
after each; the finished cells live in the session, so a Stop (or any interruption)
keeps them and Train continues the grid. The epoch slider reads the cells' loss histories.
Clicking a cell opens that run's settings in the Explorer.
"""

from __future__ import annotations

import time

import streamlit as st

import lstm_core
from app import controls, live, runs, shell
from lstm_core import TOPOLOGIES, diagnosis, landscape, plots
from lstm_core.config import field_limits

PAGE = "landscape"
PREFIX = "landscape_"
RUN_CONTROLS = tuple(PREFIX + name for name in landscape.RUN_FIELDS)
CONTROLS = (*RUN_CONTROLS, "landscape_topologies", "landscape_units", "landscape_learning_rates")
GRID_KEY = "landscape_grid"
OPENED_KEY = "landscape_opened"
PROGRESS_INTERVAL = 0.1


# --------------------------------------------------------------------------- controls


def _control_values() -> dict:
    values = {name: st.session_state.get(PREFIX + name) for name in landscape.RUN_FIELDS}
    values = {name: value for name, value in values.items() if value not in (None, "")}
    values.update(topologies=st.session_state.get("landscape_topologies", list(landscape.default_topologies())),
                  units=st.session_state.get("landscape_units"),
                  learning_rates=st.session_state.get("landscape_learning_rates"))
    return {name: value for name, value in values.items() if value is not None}


def settings() -> tuple[landscape.LandscapeSettings, list[str]]:
    """The grid the controls (or a new URL) describe, validated, with its messages."""
    from_url = controls.new_url_params(PAGE)
    controls.persist(*CONTROLS)
    if from_url is not None:
        chosen, messages = landscape.resolve_settings(from_url, source="URL parameter")
    else:
        chosen, messages = landscape.resolve_settings(_control_values(), source="Setting")
    for name in landscape.RUN_FIELDS:
        st.session_state[PREFIX + name] = getattr(chosen, name)
    st.session_state.update(
        landscape_topologies=list(chosen.topologies),
        landscape_units=", ".join(str(units) for units in chosen.units),
        landscape_learning_rates=", ".join(landscape.lr_label(rate) for rate in chosen.learning_rates),
    )
    base = lstm_core.ExperimentConfig(task=chosen.task, cell=chosen.cell, epochs=1, seed=chosen.seed)
    limits = field_limits(base)
    with st.sidebar:
        st.header("Runs")
        for name in landscape.RUN_FIELDS:
            controls.field_widget(name, PREFIX + name, limits, step=100 if name == "epochs" else None)
        st.caption("Every other setting is the task's default for each topology.")
        st.header("Grid")
        st.multiselect("Topologies", list(TOPOLOGIES), format_func=lambda key: controls.label_of("topology", key),
                       key="landscape_topologies")
        st.text_input("Units (rows)", key="landscape_units",
                      help=f"Whole numbers from 1 to 64, separated by commas; at most "
                           f"{landscape.MAX_AXIS_VALUES}.")
        st.text_input("Learning rates (columns)", key="landscape_learning_rates",
                      help=f"Numbers from 1e-05 to 10 such as 1e-4, 0.001, separated by commas; at most "
                           f"{landscape.MAX_AXIS_VALUES}.")
        st.caption(f"{chosen.size:,} runs of {chosen.epochs:,} epochs.")
    controls.persist(*CONTROLS)
    controls.write_url(PAGE, chosen.to_query_params())
    return chosen, messages


# --------------------------------------------------------------------------- training


def progress_text(grid: landscape.Landscape, column: str = "") -> str:
    return f"{grid.done:,} of {grid.settings.size:,} runs done{column}"


def train_grid(handle: runs.RunHandle, grid: landscape.Landscape, progress_slot, chart_slot) -> None:
    """Train the grid's missing cells, one topology at a time (one population each), redrawing
    after each topology; finished cells stay in `grid`."""
    settings = grid.settings
    per_column = len(settings.learning_rates)
    todo = landscape.pending_groups(settings, skip=grid.has_column)
    state = {"index": 0, "columns": 0, "next": 0.0, "draws": 0}

    def show_progress(done_epochs: int, total_epochs: int) -> None:
        now = time.monotonic()
        if now < state["next"] or state["index"] >= len(todo):
            return
        state["next"] = now + PROGRESS_INTERVAL
        topology, units = todo[state["index"]]
        fraction = (grid.done + len(units) * per_column * done_epochs / max(total_epochs, 1)) / settings.size
        progress_slot.progress(min(fraction, 1.0), text=progress_text(
            grid, f" · {TOPOLOGIES[topology].label}, {len(units) * per_column:,} runs at once: epoch "
                  f"{done_epochs:,} / {total_epochs:,}"))

    with handle.running():
        progress_slot.progress(grid.done / settings.size,
                               text=progress_text(grid, " · preparing (each new shape compiles first)…"))
        for topology, units, results in landscape.train_columns(settings, skip=grid.has_column,
                                                                progress=show_progress):
            # A topology's columns arrive together: all are kept before the page is redrawn once
            # (a Stop arrives at the next st.* call, and must not drop finished columns).
            grid.add(topology, units, results)
            handle.record((topology, units))
            state["columns"] += 1
            if state["columns"] < len(todo[state["index"]][1]):
                continue
            state["index"] += 1  # the topology's last column
            state["columns"] = 0
            state["draws"] += 1
            progress_slot.progress(grid.done / settings.size, text=progress_text(grid))
            figure = landscape.landscape_figure(grid)
            # Each redraw differs from the last (Streamlit refuses two identical keyless charts).
            figure.layout.meta = {"draw": state["draws"]}
            chart_slot.plotly_chart(figure, config=live.CHART_CONFIG)


# --------------------------------------------------------------------------- results


def open_clicked_cell(grid: landscape.Landscape, event) -> None:
    """A click on a cell opens its run in the Explorer (once per click: a kept selection is ignored)."""
    points = list(getattr(getattr(event, "selection", None), "points", None) or [])
    if not points:
        st.session_state.pop(OPENED_KEY, None)
        return
    marker = repr(points[0])
    if st.session_state.get(OPENED_KEY) == marker:
        return
    st.session_state[OPENED_KEY] = marker
    config = landscape.config_for_point(grid.settings, points[0])
    if config is not None:
        st.switch_page("pages/explorer.py", query_params=config.to_query_params())


def draw_grid(grid: landscape.Landscape, chosen: landscape.LandscapeSettings, chart_slot) -> None:
    settings = grid.settings
    stale = settings != chosen
    epoch = settings.epochs
    if settings.epochs > 1:
        if st.session_state.get("landscape_epoch_of") != settings:
            st.session_state["landscape_epoch"] = settings.epochs
            st.session_state["landscape_epoch_of"] = settings
        epoch = st.slider("Show the grid after epoch", 1, settings.epochs, key="landscape_epoch",
                          help="Every run keeps its loss at every epoch: moving this retrains nothing.")
    figure = landscape.landscape_figure(grid, epoch)
    if stale:
        plots.dim(figure)
    event = chart_slot.plotly_chart(figure, config=live.CHART_CONFIG, key="landscape_chart", on_select="rerun",
                                    selection_mode="points")
    st.caption(f"Colour: log₁₀ of the {grid.metric} (darker is lower), one scale for every heatmap and epoch. "
               "“diverged”: the loss became NaN or infinite before that epoch. Click a cell to open that run "
               "in the Explorer.")
    if stale:
        st.warning("**Settings changed: press Train grid.** The heatmaps are from the last grid, not the "
                   "settings in the sidebar.", icon="🔄")
    open_clicked_cell(grid, event)


def interrupt_notice(handle: runs.RunHandle, grid: landscape.Landscape) -> str:
    return (f"Training stopped because {diagnosis.cause_text(handle.cause)}, after {grid.done:,} of "
            f"{grid.settings.size:,} runs. The finished cells are kept; press **Continue the grid** to train "
            "the rest.")


def landscape_page() -> None:
    st.title("🗺️ The landscape")
    st.caption("The loss each run reaches, over a grid of units × learning rate, one heatmap per topology.")
    chosen, messages = settings()
    controls.show_messages(messages)
    if not chosen.topologies:
        st.warning("Choose at least one topology in the sidebar.", icon="👈")

    grid = st.session_state.get(GRID_KEY)
    resumable = grid is not None and grid.settings == chosen and not grid.complete
    buttons = st.columns([1, 1, 2])
    train_pressed = buttons[0].button("Continue the grid" if resumable else "Train grid", type="primary",
                                      width="stretch", key="landscape_train", disabled=not chosen.topologies)
    stop_pressed = buttons[1].button("Stop", width="stretch", key="landscape_stop",
                                     help="Stop now: the finished cells are kept; Continue trains the rest (the topology in progress again).")
    handle = runs.settle(PAGE, stop_pressed)
    progress_slot = st.empty()
    chart_slot = st.empty()
    lstm_core.warm_up(delay=0.5)
    if train_pressed and chosen.topologies:
        if not resumable:
            grid = landscape.Landscape(chosen)
            st.session_state[GRID_KEY] = grid
        handle = runs.start(PAGE, chosen.configs())
        runs.watch_for_header_stop(PAGE)
        train_grid(handle, grid, progress_slot, chart_slot)
        if resumable:  # the button above still says "Continue the grid"
            st.rerun()

    if grid is None:
        progress_slot.info(f"Press **Train grid** to train {chosen.size:,} runs; each topology's heatmap fills "
                           "in when its runs finish (they train together, as one population).", icon="🗺️")
        return
    progress_slot.caption(f"{grid.done:,} of {grid.settings.size:,} runs · {grid.metric} · "
                          f"{grid.settings.epochs:,} epochs each")
    if handle is not None and handle.interrupted and not grid.complete:
        st.info(interrupt_notice(handle, grid), icon="⏹️")
        handle.shown = True
    draw_grid(grid, chosen, chart_slot)


shell.page(landscape_page, PAGE)
