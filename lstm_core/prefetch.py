"""Compiling the shape a learner is about to train while they reach for Train.

A shape never trained before costs an XLA compile (about a second here) before its first
epoch. Pages call `prefetch(configs, source)` whenever they draw settings: each shape not yet
compiled is compiled in one background thread, so that when Train is pressed a second later
the compiled function is usually there. What is trained, and how, does not change: the same
compiled function is made either way, only earlier.

- A request waits `DELAY_S` before its compile starts, and a newer request from the same
  `source` (one browser session) replaces its older one: clicking "+" five times compiles the
  last length, not the four on the way. The same request again keeps its place.
- The newest request whose wait is over is compiled first; at most `MAX_PENDING` shapes wait,
  the oldest request dropped.
- Compiling ahead never pushes a compiled shape out of the engine's cache: it stops while the
  cache is full, so the shapes a class is training stay compiled.
- XLA never frees a compiled program (see benchmarks/bench_memory.py), so a process compiles
  at most `MAX_AHEAD` shapes ahead in its life (failed attempts count, and are not retried);
  after that, shapes compile on Train as before.
- `LSTM_DASHBOARD_PREFETCH=0` turns it off (the unit tests do, so that no background compile
  runs under a test that counts compiled shapes).

A Train on another new shape waits for a compile ahead in progress (compiles take one lock).
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
from typing import Iterable

DELAY_S = 0.4
MAX_PENDING = 8
MAX_AHEAD = 24

_lock = threading.Lock()
# source → (the time of its request, its configs by compiled key, in order); newest last
_pending: "collections.OrderedDict[str, tuple[float, dict]]" = collections.OrderedDict()
_worker: threading.Thread | None = None
_exit_hook = False
_attempts = 0  # compiles started ahead in this process, failed ones included
_failed: set = set()
_log = logging.getLogger(__name__)


def enabled() -> bool:
    return os.environ.get("LSTM_DASHBOARD_PREFETCH", "1").strip() != "0"


def _room() -> bool:
    """Whether a compile ahead may start: the engine's cache has room, and the process's share is left."""
    from lstm_core import engine

    return (_attempts < MAX_AHEAD and len(engine.compiled_shapes()) < engine.MAX_CACHED_SHAPES
            and engine.room_to_compile())


def prefetch(configs: Iterable, source: str = "") -> None:
    """Compile the shapes of `configs` in the background, unless compiled already; replaces
    the earlier request of the same `source`. Returns at once."""
    global _worker, _exit_hook
    if not enabled():
        return
    from lstm_core import engine

    compiled = set(engine.compiled_shapes())
    wanted = {}
    for config in configs:
        key = engine.compiled_key(config)
        if key not in compiled and key not in _failed:
            wanted.setdefault(key, config)
    with _lock:
        earlier = _pending.pop(source, None)
        if not wanted or not _room():
            return
        # The same request again (a rerun with the same settings) keeps its time.
        requested = earlier[0] if earlier is not None and earlier[1].keys() == wanted.keys() else time.monotonic()
        _pending[source] = (requested, wanted)
        while sum(len(configs) for _, configs in _pending.values()) > MAX_PENDING and len(_pending) > 1:
            _pending.popitem(last=False)
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="compile-ahead", daemon=True)
            _worker.start()
            if not _exit_hook:
                atexit.register(_finish)
                _exit_hook = True


def pending() -> int:
    """How many shapes wait to be compiled ahead."""
    with _lock:
        return sum(len(configs) for _, configs in _pending.values())


def _next() -> tuple[float, object | None]:
    """(seconds to wait, None) or (0, the config to compile now); (-1, None) when done."""
    global _worker, _attempts
    with _lock:
        if not _pending or not _room():
            _pending.clear()
            _worker = None
            return -1, None
        now = time.monotonic()
        ready = [source for source, (requested, _) in _pending.items() if requested + DELAY_S <= now]
        if not ready:
            return min(requested + DELAY_S for requested, _ in _pending.values()) - now, None
        source = ready[-1]  # the newest request whose wait is over
        configs = _pending[source][1]
        config = configs.pop(next(iter(configs)))
        if not configs:
            del _pending[source]
        _attempts += 1
        return 0, config


def _work() -> None:
    from lstm_core import engine

    while True:
        wait, config = _next()
        if wait < 0:
            return
        if config is None:
            time.sleep(min(wait, 0.1))  # short naps: a newer request may come meanwhile
            continue
        try:
            engine.compile_shape(config)  # nothing to do if Train compiled it meanwhile
        except Exception:  # noqa: BLE001 - compiling ahead is an optimisation: Train compiles it again
            _log.exception("compiling a shape ahead failed; it compiles on Train instead")
            with _lock:
                _failed.add(engine.compiled_key(config))


def _finish(timeout: float = 60.0) -> None:
    """At exit, let a compile in progress end first (a daemon thread inside TensorFlow's C++
    code at interpreter shutdown aborts the process; see backend._finish_warm_up)."""
    with _lock:
        _pending.clear()
        worker = _worker
    if worker is not None and worker.is_alive():
        worker.join(timeout)


def wait_until_idle(timeout: float = 120.0) -> bool:
    """Block until no compile ahead waits or runs (tests, benchmarks); whether it got there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _lock:
            worker = _worker
        if worker is None or not worker.is_alive():
            return True
        worker.join(min(0.1, max(deadline - time.monotonic(), 0)))
    return False
