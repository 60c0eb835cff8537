"""The one change this app makes to Streamlit's behaviour, applied once per process and checked.

Streamlit's script runner (`_clean_problem_modules` in runtime/scriptrunner/script_runner.py,
1.67) calls Keras's `keras.backend.clear_session` after every script run of every session. Keras
keeps that state per thread, but the clear replaces it for every thread at once: a model being
built or compiled in another session's thread loses its stateless scope mid-trace (its
gradients come back None: "ValueError: None values not supported"), so a classroom pressing
Train together breaks. This app needs no clearing: it names and seeds its layers and reuses
compiled work per shape. Streamlit's other clean-up, closing matplotlib's figures, is kept.

The function is private to Streamlit: if a new version renames it, `keep_keras_state_between_runs`
raises instead of silently patching nothing (tests/test_streamlit_keras_state.py checks both).
"""

from __future__ import annotations

import sys
import threading

_lock = threading.Lock()


class StreamlitChangedError(RuntimeError):
    """The Streamlit internals this app patches are not where they were: check the new version."""


def _close_matplotlib_figures() -> None:
    """What Streamlit's clean-up does besides clearing Keras: close pyplot's figures."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        try:
            pyplot.close("all")
        except Exception:  # noqa: BLE001 - as Streamlit: never crash the app over it
            pass


def is_installed() -> bool:
    from streamlit.runtime.scriptrunner import script_runner

    return getattr(script_runner, "_clean_problem_modules", None) is _close_matplotlib_figures


def keep_keras_state_between_runs() -> None:
    """Replace Streamlit's after-run clean-up with one that leaves Keras alone (once; idempotent).

    Raises `StreamlitChangedError` when Streamlit has no `_clean_problem_modules` to replace, or
    when the replacement did not take.
    """
    from streamlit.runtime.scriptrunner import script_runner

    with _lock:
        if is_installed():
            return
        if not callable(getattr(script_runner, "_clean_problem_modules", None)):
            raise StreamlitChangedError(
                "streamlit.runtime.scriptrunner.script_runner._clean_problem_modules is gone: this "
                "Streamlit version clears Keras's state some other way. Find where it calls "
                "keras.backend.clear_session and stop it (see app/patches.py), or pin streamlit<1.68."
            )
        script_runner._clean_problem_modules = _close_matplotlib_figures
        if not is_installed():
            raise StreamlitChangedError("replacing Streamlit's _clean_problem_modules did not take effect")
