"""Streamlit must not clear Keras's global state between runs: other sessions are mid-build.

app/patches.py replaces Streamlit's private after-run clean-up once per process; these tests
check that it takes, that it is still in place after page runs, that it protects a compile in
another thread, and that a Streamlit without the function makes it fail loudly.
"""

from __future__ import annotations

import threading

import pytest

import lstm_core
from lstm_core import ExperimentConfig
from tests.pagetools import app


def test_a_page_run_leaves_keras_global_state_alone():
    lstm_core.backend.load()
    from keras.src.backend.common import global_state

    app().run()
    from app import patches

    assert patches.is_installed()
    tracker = global_state.GLOBAL_STATE_TRACKER
    at = app().run()
    assert not at.exception
    # Streamlit 1.67 would have called keras.backend.clear_session(), replacing the tracker
    # of every thread; a compile running in another session's thread would then fail.
    assert global_state.GLOBAL_STATE_TRACKER is tracker
    assert patches.is_installed()


def test_a_streamlit_without_the_clean_up_function_fails_loudly(monkeypatch):
    from streamlit.runtime.scriptrunner import script_runner

    from app import patches

    monkeypatch.delattr(script_runner, "_clean_problem_modules")
    with pytest.raises(patches.StreamlitChangedError, match="_clean_problem_modules"):
        patches.keep_keras_state_between_runs()


def test_compiles_in_one_thread_survive_page_runs_in_another():
    lstm_core.backend.load()
    from lstm_core import engine

    app().run()
    stop = threading.Event()
    failures: list[BaseException] = []

    def page_runs():
        while not stop.is_set():
            try:
                app().run()
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

    thread = threading.Thread(target=page_runs)
    thread.start()
    try:
        for units in (13, 14, 15):  # new shapes: each one traced and compiled now
            config = ExperimentConfig(topology="many_to_many", units=units, epochs=20)
            engine.compile_shape(config)
            assert lstm_core.train(config).epochs_completed == 20
    finally:
        stop.set()
        thread.join()
    assert not failures, failures
