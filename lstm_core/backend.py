"""Loading TensorFlow/Keras once, lazily, so that reading configs and drawing controls stays fast.

`import tensorflow` costs seconds; `warm_up()` starts it in a background thread so a page can
paint its controls first, and `load()` waits for it when a model is actually needed.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

_lock = threading.Lock()
_thread: threading.Thread | None = None
_loaded = threading.Event()
_stopping = threading.Event()  # set at exit: a warm-up finishes its current step and stops
_import_lock = threading.Lock()


def _configure_environment() -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load():
    """Import TensorFlow and Keras (once per process) and return the keras module.

    One thread imports while the others wait: two threads importing TensorFlow at once can
    see its modules half initialised.
    """
    if not _loaded.is_set():
        with _import_lock:
            _configure_environment()
            import tensorflow  # noqa: F401  (imported for its side effect of loading the runtime)
            import keras  # noqa: F401

            _loaded.set()
    import keras

    return keras


def is_loaded() -> bool:
    """Whether TensorFlow and Keras are imported (so building a model is fast)."""
    return _loaded.is_set()


def warm_up(delay: float = 0.0, then=None) -> threading.Thread:
    """Start importing TensorFlow in a daemon thread after `delay` seconds (once per process).

    `then`, if given, runs in the same thread after the import (e.g. compiling common shapes).
    """
    global _thread

    def run():
        time.sleep(delay)
        load()
        # Again, now that TensorFlow and Keras are imported: exit hooks run last-registered
        # first, and Keras's own (registered by its import) tear down the state a compile in
        # progress uses. This one runs before them, so the warm-up ends first.
        atexit.register(_finish_warm_up)
        if then is not None and not stopping():
            try:
                then()
            except Exception:  # noqa: BLE001 - a warm-up is an optimisation: log, never crash
                logging.getLogger(__name__).exception("warm-up step failed; it will run on first use")

    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=run, name="tensorflow-warm-up", daemon=True)
            _thread.start()
            atexit.register(_finish_warm_up)
        return _thread


def stopping() -> bool:
    """Whether the process is exiting: a warm-up's steps should stop (see `_finish_warm_up`)."""
    return _stopping.is_set()


def _finish_warm_up(timeout: float = 60.0) -> None:
    """At exit, let a warm-up still compiling finish its current step first (and take no other).

    A daemon thread inside TensorFlow's C++ code when the interpreter finalises is unwound by
    force, which aborts the process ("terminate called after throwing an instance of ''"):
    a test run or a server stopped in the first seconds would end with a crash instead of its
    own exit status.
    """
    _stopping.set()
    if _thread is not None and _thread.is_alive():
        _thread.join(timeout)
