"""Settings controls drawn from lstm_core's field table, kept across pages and mirrored in the URL.

Values go one way: the session's widget values (or the URL's parameters) → `lstm_core.resolve`,
the one place where values are checked and clamped → the widgets and the URL. The number
inputs have no min/max of their own, so that a typed 51 reaches `resolve`, which keeps 50 and
says so, instead of a red box that silently keeps the old value.

The URL: a page writes its settings there after every run. Streamlit pushes a browser history
entry for each change; when the browser comes back with other parameters than the ones this
session last wrote (Back, Forward, an edited address), the page loads them, so Back restores
the previous settings. A run that a press or a change of one of the page's widgets started is
the user's action, never a navigation: the browser sends the address it shows, which may be the
one before the page's last write (a click right after typing a number, on a busy server).
Buttons and widgets outside the URL's settings mark their runs with `user_acted`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping

import streamlit as st

import lstm_core
from lstm_core import CELLS, FIELDS, TASKS, TOPOLOGIES

_SAVED = "saved:"
_WRITTEN = "url:"
_ACTION = "action:pending"  # set by a widget's callback, before the run it starts
_ACTED = "action:this_run"  # whether this script run was started by such a widget
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


def user_acted(then: Callable[..., Any] | None = None, *args: Any, **kwargs: Any) -> None:
    """A widget callback (`on_click=controls.user_acted`, or `args=(its_own_callback, ...)`):
    the run it starts is the user's action, so `new_url_params` does not take the browser's
    address, possibly older than the page's last write, for a Back."""
    st.session_state[_ACTION] = True
    if then is not None:
        then(*args, **kwargs)


def begin_run() -> None:
    """At the start of every page's script run: note whether a `user_acted` widget started it."""
    st.session_state[_ACTED] = st.session_state.pop(_ACTION, False)


def new_url_params(page: str, keys: Iterable[str]) -> dict[str, str] | None:
    """The URL's parameters when this session has not applied them yet: the page's first visit,
    or the browser came back with other ones (Back, Forward, an edited address). Else None.

    Call it before `persist`. A run in which a control of `keys` changed is the user's edit,
    whatever the query says (the browser may send the query of before the last change, when
    the page has not yet shown it), and so is a run started by a `user_acted` button or widget;
    a switch of page drops the parameters, and an empty query changes nothing either.
    """
    incoming = st.query_params.to_dict()
    written = st.session_state.get(_WRITTEN + page)
    if written is None:
        return incoming
    edited = any(key in st.session_state and _SAVED + key in st.session_state
                 and st.session_state[key] != st.session_state[_SAVED + key] for key in keys)
    if incoming and incoming != written and not edited and not st.session_state.get(_ACTED, False):
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
