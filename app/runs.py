"""The one handle for a run in progress, used by every page, and who interrupted it.

Pressing any button or changing any control during a run makes Streamlit start a new script
run at once (fast reruns), while in the old one every later `st.*` call and every
`st.session_state` access raises Streamlit's rerun or stop signal. So the old run cannot store
its (partial) result through the session once interrupted: the page puts a `RunHandle` in the
session *before* training, the training fills it in plain Python, and the next script run waits
on `finished` and reads it. The handle also records who interrupted the run (the page's Stop,
a setting, a switch of page, Streamlit's own Stop in the header), so the page can say so.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from typing import Any, Iterable

import streamlit as st

from lstm_core import diagnosis, prefetch

# How long a new script run waits for an interrupted one to hand over its partial result: a
# chunk of epochs takes ~0.05 s, but the run may be compiling a new shape (seconds).
STOP_WAIT_SECONDS = 30
# While a run trains, a small fragment polls this often: if Streamlit's header Stop ended the
# script run (no rerun follows such a stop), it starts one so the partial run is shown.
HEADER_STOP_POLL_SECONDS = 1.0
_KEY = "run:"


class RunHandle:
    """One press of Train (or Train all): its configs, what finished, and how it ended.

    Attributes:
        page: the name of the page that started it.
        configs: what was to be trained, in order.
        results: what finished (a `TrainingResult` or a comparison entry each), in order.
        interrupted: whether a rerun or stop signal cut the run short.
        cause: who interrupted it (one of lstm_core.diagnosis's causes), once known.
        finished: set when the training thread is done with the handle.
        finished_at: `time.time()` when it was set (the browser tests time the last redraw).
        shown: whether a script run has drawn the outcome (the header-Stop poll's flag).
    """

    def __init__(self, page: str, configs: Iterable[Any]):
        self.page = page
        self.configs = list(configs)
        self.results: list = []
        self.interrupted = False
        self.cause: str | None = None
        self.finished = threading.Event()
        self.finished_at: float | None = None
        self.shown = False

    def record(self, result: Any) -> None:
        self.results.append(result)

    def interrupt(self, signal: BaseException) -> None:
        """Note a Streamlit signal. Its cause is not in the signal: with fast reruns a pressed
        button also stops the old script run (and starts a new one), just as Streamlit's header
        Stop does (which starts none). The next script run names the cause (`settle`,
        `note_page_visit`); when none comes, `watch_for_header_stop` does."""
        self.interrupted = True

    def finish(self) -> None:
        self.finished_at = time.time()
        self.finished.set()

    @contextlib.contextmanager
    def running(self):
        """Wrap the training of this handle's run: a Streamlit signal raised inside marks the run
        interrupted (and goes on up), and whatever happens the handle is finished, so the next
        script run stops waiting for it.

        Example:
            with handle.running():
                handle.record(lstm_core.train(config, callbacks=[chart.callback()]))
        """
        try:
            yield self
        except BaseException as exc:  # noqa: BLE001 - Streamlit's signals are BaseExceptions
            if is_interrupt(exc):
                self.interrupt(exc)
            raise
        finally:
            self.finish()

    def wait(self, timeout: float) -> bool:
        return self.finished.wait(timeout)

    @property
    def not_trained(self) -> list:
        """The configs without a result (an interrupted run did not reach them)."""
        done = {getattr(item, "config", None) for item in self.results}
        return [config for config in self.configs if config not in done]


def is_interrupt(exc: BaseException) -> bool:
    """Streamlit's rerun/stop signals are BaseExceptions raised at the next st.* call."""
    return not isinstance(exc, Exception)


def start(page: str, configs: Iterable[Any]) -> RunHandle:
    """A new handle for `page`, in the session before training starts (the old one is dropped)."""
    handle = RunHandle(page, configs)
    st.session_state[_KEY + page] = handle
    return handle


def current(page: str) -> RunHandle | None:
    return st.session_state.get(_KEY + page)


def note_page_visit(page: str) -> None:
    """Called at the start of every page's run: a run of *another* page that is still going, or
    was interrupted by nobody known, was interrupted by this switch of page."""
    for key in [key for key in st.session_state if isinstance(key, str) and key.startswith(_KEY)]:
        handle = st.session_state[key]
        if handle.page != page and handle.cause is None and (not handle.finished.is_set() or handle.interrupted):
            handle.cause = diagnosis.PAGE_SWITCHED


def settle(page: str, stop_pressed: bool) -> RunHandle | None:
    """This page's handle once its run is done (waiting, with a spinner, for an interrupted one),
    with the cause of an interruption filled in: the page's Stop, else a setting."""
    handle = current(page)
    if handle is None:
        return None
    if not handle.finished.is_set():
        with st.spinner("⏹️ Stopping the run in progress (keeping what it learned)…"):
            handle.wait(STOP_WAIT_SECONDS)
    if handle.interrupted and handle.cause is None:
        handle.cause = diagnosis.STOP_BUTTON if stop_pressed else diagnosis.SETTING_CHANGED
    return handle


@st.fragment(run_every=HEADER_STOP_POLL_SECONDS)
def watch_for_header_stop(page: str) -> None:
    """Drawn (empty) by the script run that trains. Any new script run of the page removes it
    and names the cause of an interruption; so when a tick finds the run interrupted with no
    cause, nothing followed the stop: it was Streamlit's own Stop (or the tab went away). It
    then starts a script run, so the page shows the partial run and says why it ended."""
    handle = current(page)
    if (handle is not None and handle.finished.is_set() and handle.interrupted and handle.cause is None
            and not handle.shown):
        handle.cause = diagnosis.HEADER_STOP
        st.rerun(scope="app")


def compile_ahead(configs: Iterable[Any]) -> None:
    """Compile the shapes of the settings on screen in the background (lstm_core.prefetch), so
    that Train usually finds them compiled; this session's newest request replaces its older one."""
    source = st.session_state.setdefault("compile_ahead_source", uuid.uuid4().hex)
    prefetch.prefetch(configs, source)
