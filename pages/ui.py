"""Streamlit pieces shared by the pages: settings that survive page switches, URL sync, live charts.

Not a page itself (the navigation in dashboard.py lists the pages). Everything here draws or
reads widgets; the numbers come from lstm_core.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Iterable

import numpy as np
import streamlit as st

import lstm_core

_PREFIX = "saved:"


def persist(*keys: str) -> None:
    """Keep widget values across page switches.

    Streamlit forgets a widget's state when a run does not draw it (on another page); a copy
    under a non-widget key survives, and is put back before the widget is drawn again.
    """
    for key in keys:
        if key in st.session_state:
            st.session_state[_PREFIX + key] = st.session_state[key]
        elif _PREFIX + key in st.session_state:
            st.session_state[key] = st.session_state[_PREFIX + key]


def keep_keras_state_between_runs() -> None:
    """Stop Streamlit from clearing Keras's session (`keras.backend.clear_session`) after every run.

    Streamlit's script runner (`_clean_problem_modules` in runtime/scriptrunner/
    script_runner.py, 1.67) clears Keras's global state after each run of each session. Keras
    keeps that state per thread, but the clear replaces it for every thread at once: a model
    being built or compiled in another session's thread loses its stateless scope mid-trace
    (its gradients come back None) — a classroom of students pressing Train breaks. This app
    needs no clearing: it names and seeds its layers and reuses compiled work per shape.
    Streamlit's other clean-up (closing matplotlib figures) is kept. Idempotent.
    """
    from streamlit.runtime.scriptrunner import script_runner

    script_runner._clean_problem_modules = _close_matplotlib_figures


def _close_matplotlib_figures() -> None:
    """What Streamlit's clean-up does besides clearing Keras: close pyplot's figures."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        try:
            pyplot.close("all")
        except Exception:  # noqa: BLE001 - as Streamlit: never crash the app over it
            pass


def number_input(field: str, key: str | None = None, maximum=None, **kwargs):
    """A number input for one of the config's fields, with its label, range and help text."""
    spec = lstm_core.FIELD_RANGES[field]
    return st.number_input(
        spec.label,
        min_value=spec.kind(spec.minimum),
        max_value=spec.kind(spec.maximum if maximum is None else maximum),
        key=key or field,
        help=spec.help,
        **kwargs,
    )


@st.fragment(run_every=0.5)
def rerun_when_tensorflow_is_loaded(waiting_text: str) -> None:
    """Polls while TensorFlow loads in the background, then redraws the page once.

    Used where a page shows something that needs Keras (a model summary): the first paint
    does not wait for the import, and the poll exists only while the import is running.
    """
    if lstm_core.backend.is_loaded():
        st.rerun(scope="app")
    st.caption(f"⏳ {waiting_text}")


def run_page(page, name: str) -> None:
    """Draw a page; an unexpected error becomes a short message (the server log has the rest)."""
    try:
        page()
    except Exception as exc:  # noqa: BLE001 - Streamlit's rerun/stop signals are not Exceptions
        logging.getLogger(__name__).exception("The %s page failed", name)
        st.error(
            f"Something went wrong on this page ({type(exc).__name__}). Change a setting or try "
            "again; the details are in the server log.",
            icon="⚠️",
        )


def saved_key(key: str) -> str:
    """Where `persist` keeps a widget's value from the previous run."""
    return _PREFIX + key


def show_messages(messages: Iterable[str]) -> None:
    for message in messages:
        st.warning(message, icon="⚠️")


def is_interrupt(exc: BaseException) -> bool:
    """Streamlit's rerun/stop signals are BaseExceptions raised at the next st.* call."""
    return not isinstance(exc, Exception)


class PendingRun:
    """A run in progress, put in the session *before* training and filled in plain Python.

    With Streamlit's fast reruns (the default), pressing a button mid-run starts the next run
    at once in another thread, while in the old run every later `st.*` call, and every
    `st.session_state` access, raises Streamlit's stop signal. So the old run cannot store
    its (partial) result through the session after the interrupt: it fills this holder
    instead, and the next run waits on `finished` and takes the result from here.
    """

    def __init__(self):
        self.result = None
        self.interrupted = False
        self.finished = threading.Event()


# How long a new script run waits for an interrupted one to hand over its partial result: a
# chunk of epochs takes ~0.05 s, but the run may be compiling a new shape (seconds).
STOP_WAIT_SECONDS = 30


def wait_for_interrupted_run(holder) -> bool:
    """Wait (with a spinner) until a run's holder (anything with a `finished` Event) is done."""
    if not holder.finished.is_set():
        with st.spinner("⏹️ Stopping the run in progress (keeping what it learned)…"):
            holder.finished.wait(STOP_WAIT_SECONDS)
    return holder.finished.is_set()


def take_pending_run(key: str):
    """The finished holder under `key` (waiting for an interrupted run to wrap up), or None."""
    pending = st.session_state.get(key)
    if pending is None or not wait_for_interrupted_run(pending):
        return None  # none, or still running: look again on the next run
    del st.session_state[key]
    return pending


class LiveChart:
    """A progress bar and a loss chart updated in place while a run streams its losses.

    `callback()` gives a ThrottledCallback (at most ~10 redraws a second, last epoch always
    drawn). If the user presses a button or changes a control mid-run, Streamlit raises its
    rerun or stop signal inside a redraw; the chart catches it, asks the run to stop after the
    current epoch (so the partial run is kept) and `reraise_interrupt()` passes the signal on
    once the caller has saved the result in a `PendingRun` (not through st.session_state,
    which raises in an interrupted run under fast reruns).
    """

    def __init__(self, figure, trace_index: int = 0, label: str = "", progress_slot=None, chart_slot=None):
        self.figure = figure
        self.trace_index = trace_index
        self.label = label
        self.progress_slot = progress_slot if progress_slot is not None else st.empty()
        self.chart_slot = chart_slot if chart_slot is not None else st.empty()
        self.interrupt: BaseException | None = None
        self._callback = None

    def callback(self, min_interval: float = 0.1):
        self._callback = lstm_core.ThrottledCallback(self._draw, min_interval=min_interval)
        self.interrupt = None
        return self._callback

    def _draw(self, done: int, total: int, losses: np.ndarray) -> None:
        from lstm_core import plots

        if self.interrupt is not None:
            return
        plots.set_losses(self.figure, self.trace_index, losses)
        loss_text = f"{losses[-1]:.3g}" if len(losses) else "–"
        try:
            self.progress_slot.progress(
                min(done / max(total, 1), 1.0), text=f"{self.label}epoch {done:,} / {total:,} · loss {loss_text}"
            )
            self.chart_slot.plotly_chart(self.figure, config={"displaylogo": False})
        except BaseException as exc:  # noqa: BLE001 - Streamlit's rerun/stop signals
            if not is_interrupt(exc):
                raise
            self.interrupt = exc
            if self._callback is not None and self._callback.model is not None:
                self._callback.model.stop_training = True

    def reraise_interrupt(self) -> None:
        if self.interrupt is not None:
            raise self.interrupt


def results_table(result):
    import pandas as pd

    return pd.DataFrame(
        {
            "position": np.arange(len(result.targets)),
            "target": result.targets,
            "prediction": result.predictions,
            "error": result.predictions - result.targets,
        }
    )


def describe_stop(result, stopped_by_user: bool) -> tuple[str, str] | None:
    """(level, message) explaining why a run ended early, or None when it ran to the end."""
    config = result.config
    if result.stop_reason == "non_finite_loss":
        return (
            "error",
            f"The loss became NaN or infinite after epoch {result.epochs_completed:,}, so training "
            f"stopped there. The curve up to that point is kept, and the predictions come from the "
            f"last weights that gave a finite loss. Try a smaller learning rate than "
            f"{config.learning_rate:g} (for example {max(config.learning_rate / 10, 1e-4):g}).",
        )
    if result.stop_reason == "stopped":
        why = "you pressed Stop" if stopped_by_user else "a setting changed during the run"
        return (
            "info",
            f"Training stopped after epoch {result.epochs_completed:,} of {config.epochs:,} because "
            f"{why}. The partial curve and the predictions of that moment are kept; press Train "
            f"to start again.",
        )
    return None


def learning_hint(result) -> str | None:
    """A hint when a run ended but barely learned, the usual sign of a too large learning rate."""
    losses = result.losses
    if result.stop_reason or len(losses) < 10 or result.config.learning_rate < 0.1:
        return None
    if losses[-1] > 0.5 * losses[0]:
        return (
            f"With learning rate {result.config.learning_rate:g} the loss hardly fell: the LSTM's "
            "gates saturate and it stops learning. Try 0.01 or smaller."
        )
    return None
