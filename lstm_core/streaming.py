"""Keras-style callbacks for watching a run: a recorder and a throttled redraw driver."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from lstm_core import backend

keras = backend.load()


class LossRecorder(keras.callbacks.Callback):
    """Records each epoch's loss into a preallocated array (microseconds per epoch).

    Example:
        recorder = LossRecorder()
        lstm_core.train(config, callbacks=[recorder])
        recorder.losses  # one float per completed epoch
    """

    def __init__(self):
        super().__init__()
        self._losses = np.empty(0, dtype=np.float64)
        self.count = 0

    def on_train_begin(self, logs=None):
        self._losses = np.empty(self.params.get("epochs", 0) if self.params else 0, dtype=np.float64)
        self.count = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.count == len(self._losses):
            self._losses = np.resize(self._losses, max(16, 2 * len(self._losses)))
        self._losses[self.count] = logs.get("loss", np.nan)
        self.count += 1

    @property
    def losses(self) -> np.ndarray:
        """The losses so far (a view: copy it to keep it past the next epoch)."""
        return self._losses[: self.count]


class ThrottledCallback(LossRecorder):
    """Calls `draw(epochs_done, total_epochs, losses)` at most every `min_interval` seconds.

    On epochs where no redraw is due it only records the loss and reads the clock, so a fast
    engine is not slowed by the page. The first draw comes `min_interval` after the start (a
    run shorter than that is drawn once, at its end), and the final epoch is always drawn
    (in `on_train_end`).

    Args:
        draw: called with the number of completed epochs, the planned total, and the losses
            so far. It may update a chart in place; it must not keep the array.
        min_interval: seconds between two draws (0.1 → at most ~10 redraws a second).
        clock: a monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, draw: Callable[[int, int, np.ndarray], None], min_interval: float = 0.1,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self._draw = draw
        self._min_interval = min_interval
        self._clock = clock
        self._last_draw = -float("inf")
        self._drawn_count = -1
        self.draws = 0

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._last_draw = self._clock()
        self._drawn_count = -1
        self.draws = 0

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        now = self._clock()
        if now - self._last_draw >= self._min_interval:
            self._last_draw = now
            self._call_draw()

    def on_train_end(self, logs=None):
        if self._drawn_count != self.count:
            self._call_draw()

    def _call_draw(self):
        self.draws += 1
        self._drawn_count = self.count
        self._draw(self.count, self.params.get("epochs", self.count) if self.params else self.count, self.losses)
