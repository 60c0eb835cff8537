"""The heavy modules the pages need, imported in one place, once, under one lock.

TensorFlow's import (lstm_core.backend, in a background thread) imports pandas too. A page
thread importing pandas (for a table) or Plotly's figure classes (for a chart) at the same
moment could see a half-initialised module ("partially initialized module 'pandas' has no
attribute 'Series'", seen on a cold server). So pandas and Plotly's figure classes are
imported here, on the first import of `app`, before any page can start TensorFlow's import;
they take ~0.2 s. TensorFlow itself stays with lstm_core.backend, under its own lock.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_loaded = threading.Event()


def preload() -> None:
    """Import pandas and Plotly's figure classes (once per process; later calls return at once)."""
    if _loaded.is_set():
        return
    with _lock:
        if _loaded.is_set():
            return
        import pandas  # noqa: F401
        import plotly.graph_objects as go

        # Plotly 7 imports each figure class on first use: build one now, under the lock.
        go.Figure(go.Scatter(x=[0], y=[0])).to_plotly_json()
        _loaded.set()


def is_loaded() -> bool:
    return _loaded.is_set()
