"""Loading TensorFlow/Keras once, lazily, so that reading configs and drawing controls stays fast.

`import tensorflow` costs seconds; `warm_up()` starts it in a background thread so a page can
paint its controls first, and `load()` waits for it when a model is actually needed.
"""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_thread: threading.Thread | None = None


def _configure_environment() -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load():
    """Import TensorFlow and Keras (once per process) and return the keras module."""
    _configure_environment()
    import tensorflow  # noqa: F401  (imported for its side effect of loading the runtime)
    import keras

    return keras


def warm_up() -> threading.Thread:
    """Start importing TensorFlow in a daemon thread; returns the thread (started once)."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=load, name="tensorflow-warm-up", daemon=True)
            _thread.start()
        return _thread
