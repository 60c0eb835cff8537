"""The Presenter page: one laptop on a projector. Big preset buttons; one story per screen.

Thin: the presets are data (`lstm_core.presets.PRESETS`). A pressed preset trains its one or
two configs with `lstm_core.train`, streaming the loss into one chart (`app.live.LiveChart`,
one line per run), then shows the loss beside the target-vs-prediction of each run, and one
sentence per run from the task and topology registries. Everything fits 1280×720 without
scrolling, with chart text for the back row (ticks `TICK_FONT` px).

The sidebar is hidden with CSS (`STYLE`): the shell's `st.set_page_config` runs before any page
and a page cannot collapse it for this page alone; the "Presenter mode" toggle leaves the page
(to the Explorer), since the page navigation lives in the hidden sidebar. `?present=1` on any
page's URL opens this page (app/shell.py).
"""

from __future__ import annotations

import logging

import numpy as np
import streamlit as st

import lstm_core
from app import controls, live, runs, shell
from lstm_core import TASKS, TOPOLOGIES, plots
from lstm_core.presets import PRESETS, Preset

PAGE = "present"
LEAVE_TO = "pages/explorer.py"
CHOICE_KEY = "present_choice"  # the preset on screen
PRESSED_KEY = "present_pressed"  # a preset button pressed in this run (set by its callback)
RESULT_KEY = "present_result"  # (preset key, [TrainingResult, …])
TICK_FONT = 18
AXIS_TITLE_FONT = 20
TITLE_FONT = 24
CHART_HEIGHT = 350
_logger = logging.getLogger(__name__)

# Page text for the back row; the sidebar and its open arrow hidden; less empty space above and
# between blocks so the story fits 1280×720. No external font: the browser's own sans-serif.
STYLE = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 3.6rem 1.5rem 0.5rem 1.5rem; max-width: 100%; }
[data-testid="stMain"] [data-testid="stVerticalBlock"] { gap: 0.6rem; }
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p { font-size: 22px; line-height: 1.35; }
[data-testid="stMain"] .stButton button { min-height: 3.6rem; padding: 0.25rem 0.5rem; }
[data-testid="stMain"] .stButton button p { font-size: 19px; font-weight: 600; line-height: 1.2; }
[data-testid="stMain"] .stButton button * { white-space: normal; overflow: visible; text-overflow: clip; }
[data-testid="stMain"] [data-testid="stWidgetLabel"] p { font-size: 18px; white-space: nowrap; }
[data-testid="stMain"] [data-testid="stProgress"] p { font-size: 20px; }
</style>"""


def large_text(figure):
    """Chart text a back row can read: ticks TICK_FONT px, axis titles and the title larger."""
    figure.update_layout(font={"size": TICK_FONT}, title_font_size=TITLE_FONT, legend_font_size=TICK_FONT,
                         height=CHART_HEIGHT, margin={"l": 80, "r": 20, "t": 60, "b": 110},
                         legend={"orientation": "h", "y": -0.32, "x": 0})
    for update in (figure.update_xaxes, figure.update_yaxes):
        update(tickfont_size=TICK_FONT, title_font_size=AXIS_TITLE_FONT)
    return figure


def loss_chart(configs) -> object:
    series = [(f"{TOPOLOGIES[c.topology].glyph} {TOPOLOGIES[c.topology].label}", TOPOLOGIES[c.topology].color)
              for c in configs]
    return large_text(plots.loss_figure(series, title="Training loss", height=CHART_HEIGHT))


def choose(key: str) -> None:
    """A preset button's callback: runs before the script, so the page draws the choice at once."""
    st.session_state[CHOICE_KEY] = key
    st.session_state[PRESSED_KEY] = key


def train_now(preset: Preset, progress_slot, loss_slot) -> None:
    """Train the preset's runs one after the other, one live loss line each, into a run handle."""
    st.session_state.pop(RESULT_KEY, None)
    configs = preset.configs
    handle = runs.start(PAGE, configs)
    runs.watch_for_header_stop(PAGE)
    figure = loss_chart(configs)
    with handle.running():
        try:
            for index, config in enumerate(configs):
                topology = TOPOLOGIES[config.topology]
                chart = live.LiveChart(figure, progress_slot, loss_slot, handle, trace_index=index,
                                       label=f"{topology.label} ({index + 1} of {len(configs)}): ")
                progress_slot.progress(0.0, text=f"{chart.label}preparing the model…")
                handle.record(lstm_core.train(config, callbacks=[chart.callback()]))
                chart.reraise_interrupt()
        except Exception as exc:  # noqa: BLE001 - said on the page in plain words; the log has the rest
            _logger.exception("Training preset %s failed", preset.key)
            progress_slot.error(shell.failure_message(exc, "training"), icon="⚠️")


def score_line(results) -> str:
    parts = []
    for result in results:
        topology = TOPOLOGIES[result.config.topology]
        which = "validation MSE" if result.has_validation else "MSE"
        verdict = "✅ learned" if result.solved else "❌ not learned"
        parts.append(f"{topology.glyph} **{topology.label}**: {which} {result.score:.1e} {verdict}")
    return " · ".join(parts)


def draw_result(preset: Preset, results, loss_slot, prediction_slots) -> None:
    figure = loss_chart([result.config for result in results])
    for index, result in enumerate(results):
        plots.set_losses(figure, index, np.asarray(result.losses))
    plots.apply_loss_axis(figure)
    loss_slot.plotly_chart(large_text(figure), config=live.CHART_CONFIG, key="present_loss")
    shown = []
    for result in results:
        split = "validation" if result.has_validation else "train"
        _, targets, predictions = result.sequence(0, split)
        shown.append((result, split, targets, predictions))
    y_range = plots.shared_y_range(*[a for _, _, t, p in shown for a in (t, p)])
    for index, ((result, split, targets, predictions), slot) in enumerate(zip(shown, prediction_slots)):
        topology = TOPOLOGIES[result.config.topology]
        where = "a new sequence" if split == "validation" else "the training sequence"
        prediction = plots.prediction_figure(targets, predictions, color=topology.color, y_range=y_range,
                                             title=f"{topology.label}<br><sup>target vs prediction, {where}</sup>")
        slot.plotly_chart(large_text(prediction), config=live.CHART_CONFIG, key=f"present_prediction_{index}")


def preset_from_url() -> list[str]:
    """A link's `preset=` (a teacher putting the class on one story): chosen, not trained yet;
    an unknown one gets a message."""
    incoming = controls.new_url_params(PAGE)
    key = (incoming or {}).get("preset")
    if key is None:
        return []
    if key in PRESETS:
        st.session_state[CHOICE_KEY] = key
        return []
    return [f"URL parameter preset={key!r} is not a preset (one of: {', '.join(PRESETS)}); press one of the "
            "buttons instead."]


def presenter_page() -> None:
    st.html(STYLE)
    messages = preset_from_url()
    chosen = st.session_state.get(CHOICE_KEY)
    controls.write_url(PAGE, {"preset": chosen} if chosen in PRESETS else {})
    controls.show_messages(messages)
    pressed = st.session_state.pop(PRESSED_KEY, None)
    columns = st.columns([1] * len(PRESETS) + [1.1], vertical_alignment="center")
    for column, preset in zip(columns, PRESETS.values()):
        column.button(preset.label, key=f"present_{preset.key}", width="stretch", on_click=choose, args=(preset.key,),
                      type="primary" if preset.key == chosen else "secondary")
    if not columns[-1].toggle("Presenter mode", value=True, key="present_mode"):
        st.switch_page(LEAVE_TO)
    handle = runs.settle(PAGE, stop_pressed=False)
    if chosen not in PRESETS:
        st.markdown("### 📽️ Presenter\nPress a preset: it trains on the spot, then shows its loss curve beside "
                    "what it predicts, with one sentence on why. Every run is seeded: it is the run the story was "
                    "checked on. Turn *Presenter mode* off to leave for the Explorer and its settings.")
        return
    preset = PRESETS[chosen]
    configs = preset.configs
    st.markdown(f"**{preset.label}.** {preset.story}")
    progress_slot = st.empty()
    columns = st.columns(1 + len(configs))
    loss_slot = columns[0].empty()
    columns[0].markdown(f"*{TASKS[configs[0].task].label}*: {TASKS[configs[0].task].summary}")
    prediction_slots = [column.empty() for column in columns[1:]]
    for column, sentence in zip(columns[1:], preset.explanations()):
        column.markdown(sentence)
    if pressed == chosen:
        train_now(preset, progress_slot, loss_slot)
        handle = runs.current(PAGE)
        if handle.results and len(handle.results) == len(configs):
            st.session_state[RESULT_KEY] = (chosen, list(handle.results))
    elif handle is not None and handle.interrupted and handle.results:
        progress_slot.info("The run was interrupted: press the preset again to train it.")
    stored = st.session_state.get(RESULT_KEY)
    if stored is not None and stored[0] == chosen:
        draw_result(preset, stored[1], loss_slot, prediction_slots)
        progress_slot.markdown(score_line(stored[1]))
        if handle is not None:
            handle.shown = True
    elif pressed != chosen:
        progress_slot.info(f"Press **{preset.label}** to train it.")


shell.page(presenter_page, PAGE)
