"""Settings controls drawn from lstm_core's field table, kept across pages and mirrored in the URL.

Values go one way: the session's widget values (or the URL's parameters) → `lstm_core.resolve`,
the one place where values are checked and clamped → the widgets and the URL. The number
inputs have no min/max of their own, so that a typed 51 reaches `resolve`, which keeps 50 and
says so, instead of a red box that silently keeps the old value.

The URL: a page writes its settings there after every run, and Streamlit pushes a browser
history entry for each change. The page loads the URL's parameters on its first visit (a shared
link), on arriving from another page with parameters (`st.switch_page(..., query_params=...)`:
a landscape cell opening its run), and when the browser goes Back or Forward, so Back restores
the previous settings. Any other run keeps the session's settings, whatever address it
carries: the browser sends the one it shows, which after a click made right after a change (a
busy server) is still the one from before the page's last write, and taking it for Back
silently undid the change.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

import lstm_core
from lstm_core import CELLS, FIELDS, TASKS, TOPOLOGIES

_SAVED = "saved:"
_WRITTEN = "url:"
_LAST_PAGE = "page:last"  # the page of the session's previous script run
_ARRIVED = "page:arrived"  # whether this script run's page differs from it
# The registries whose keys a choice field holds, for their labels.
_REGISTRIES = {"task": TASKS, "topology": TOPOLOGIES, "cell": CELLS}
# Multiplicative steps for a log-scale field (the learning rate): 1, 2, 5 per decade.
_STEPS_PER_DECADE = (1.0, 2.0, 5.0)
MAX_MESSAGES_SHOWN = 8


# --------------------------------------------------------------------------- session and URL


def persist(*keys: str) -> None:
    """Keep widget values across page switches.

    Streamlit forgets a widget's state when a run does not draw it (on another page); a copy
    under a non-widget key survives, and is put back before the widget is drawn again.
    """
    for key in keys:
        if key in st.session_state:
            st.session_state[_SAVED + key] = st.session_state[key]
        elif _SAVED + key in st.session_state:
            st.session_state[key] = st.session_state[_SAVED + key]


def previous(key: str, default: Any = None) -> Any:
    """A widget's value as of the end of the previous run (kept by `persist`)."""
    return st.session_state.get(_SAVED + key, default)


def note_page(name: str) -> None:
    """At the start of every page's script run (app.shell): whether it arrives from another page."""
    st.session_state[_ARRIVED] = st.session_state.get(_LAST_PAGE) != name
    st.session_state[_LAST_PAGE] = name


def history_navigation() -> bool:
    """Whether this script run is the browser's Back or Forward (its `popstate`).

    Streamlit 1.67's frontend flags such reruns (`ScriptRunContext.is_history_navigation`, not
    a public API: tests/test_controls.py fails if a new version drops it); a click, a widget
    change or a timer never sets it.
    """
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.is_history_navigation)


def new_url_params(page: str) -> dict[str, str] | None:
    """The URL's parameters when the page is to apply them: on its first visit in this session,
    or other ones than the page last wrote when this run arrives from another page or the
    browser went Back or Forward (an empty query changes nothing: a switch of page by the
    navigation drops the parameters). Else None: the session's own settings stand."""
    incoming = st.query_params.to_dict()
    written = st.session_state.get(_WRITTEN + page)
    if written is None:
        return incoming
    if incoming and incoming != written and (st.session_state.get(_ARRIVED, False) or history_navigation()):
        return incoming
    return None


def write_url(page: str, params: Mapping[str, str]) -> None:
    """Show `params` in the address bar (the page's settings), and remember them as written."""
    params = dict(params)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    st.session_state[_WRITTEN + page] = params


def show_messages(messages: Iterable[str]) -> None:
    """All of a run's messages in one box: the first few, then how many more (never a wall of boxes)."""
    unique = list(dict.fromkeys(messages))
    if not unique:
        return
    if len(unique) == 1:
        st.warning(unique[0], icon="⚠️")
        return
    shown = unique[:MAX_MESSAGES_SHOWN]
    more = len(unique) - len(shown)
    text = "\n".join(f"- {message}" for message in shown)
    if more:
        text += f"\n- … and {more:,} more."
    st.warning(text, icon="⚠️")


# --------------------------------------------------------------------------- widgets


def label_of(name: str, value: Any) -> str:
    """How a choice is shown: the registry entry's label (with its colour glyph for topologies)."""
    registry = _REGISTRIES.get(name)
    if registry is None or value not in registry:
        return str(value)
    entry = registry[value]
    return f"{glyph(value)} {entry.label}" if name == "topology" else entry.label


def glyph(topology_key: str) -> str:
    """The emoji square of a topology's colour (no icon font is needed offline)."""
    return getattr(TOPOLOGIES[topology_key], "glyph", "") or "⬛"


def range_text(name: str, limits: Mapping[str, tuple[float, float]]) -> str:
    low, high = limits.get(name, (FIELDS[name].minimum, FIELDS[name].maximum))
    return f"Allowed: {_number_text(low)} to {_number_text(high)}."


def _number_text(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) and not float(value).is_integer() else f"{int(value):,}"


def log_steps(low: float, high: float, current: float | None = None) -> list[float]:
    """1-2-5 steps per decade from `low` to `high`, with `current` among them if it is not one."""
    values = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        for step in _STEPS_PER_DECADE:
            value = float(f"{step * 10.0 ** exponent:.12g}")
            if low <= value <= high:
                values.append(value)
    if current is not None and current not in values:
        values.append(float(current))
    return sorted(values)


def field_widget(name: str, key: str, limits: Mapping[str, tuple[float, float]], disabled: bool = False,
                 on_change=None, step: int | None = None):
    """The control for one of lstm_core's fields; its value is in st.session_state[key]."""
    field = FIELDS[name]
    help_text = field.help
    if field.kind is str:
        options = list(field.choices())
        return st.selectbox(field.label, options, format_func=lambda value: label_of(name, value), key=key,
                            help=help_text, on_change=on_change, disabled=disabled)
    if field.kind is tuple:
        return st.text_input(field.label, key=key, help=help_text, on_change=on_change, disabled=disabled)
    help_text = f"{help_text} {range_text(name, limits)}"
    if field.log_scale:
        low, high = limits[name]
        return st.select_slider(field.label, log_steps(low, high, st.session_state.get(key)), key=key,
                                format_func=lambda value: f"{value:g}", help=help_text, on_change=on_change,
                                disabled=disabled)
    if field.kind is int:
        return st.number_input(field.label, step=step or 1, key=key, help=help_text, on_change=on_change,
                               disabled=disabled)
    return st.number_input(field.label, key=key, format="%g", help=help_text, on_change=on_change,
                           disabled=disabled)


def widget_value(name: str, value: Any) -> Any:
    """A config value as its widget holds it (a text for a tuple of numbers)."""
    if FIELDS[name].kind is tuple:
        return " ".join(f"{number:g}" for number in value)
    return value
