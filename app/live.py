"""The progress line and the loss chart, updated in place while a run streams its losses.

Two cadences. The progress line ("epoch 1,234 / 20,000 · loss 0.0031") is a few bytes: it is
updated every `PROGRESS_INTERVAL` s, and each update is also where a pressed Stop (any rerun
or stop signal) reaches the run, so Stop acts within about that interval plus one chunk of
epochs. The chart is what costs the browser: each redraw sends at most
`plots.DISPLAY_POINTS` points per line, and redraws are spaced by at least `CHART_INTERVAL` s,
more when a redraw costs the server more (`COST_FACTOR` × its measured time: a loaded machine,
many lines), so the browser gets fewer, larger updates instead of a backlog. The last epoch is
always drawn.

With `val_trace_index`, the validation loss (the callback's `logs["val_loss"]`) is drawn into a
second line at each redraw; with `on_redraw`, a page draws more at the same cadence from the
run's model, which holds the weights of the chunk just trained (the Explorer's live predictions).
"""

from __future__ import annotations

import time

import numpy as np

import lstm_core
from app import runs
from lstm_core import plots

PROGRESS_INTERVAL = 0.1
CHART_INTERVAL = 0.3
COST_FACTOR = 25.0
CHART_CONFIG = {"displaylogo": False, "displayModeBar": False}


class LiveChart:
    """A progress slot and a chart slot fed by a run's losses (one line of a possibly shared figure).

    `callback()` gives the Keras callback for one run. If Streamlit raises its rerun or stop
    signal inside an update, the chart asks the run to stop after the current epoch (so the
    partial run is kept), tells the `handle`, and `reraise_interrupt()` passes the signal on
    once the caller has stored the result in the handle.
    """

    def __init__(self, figure, progress_slot, chart_slot, handle: runs.RunHandle, trace_index: int = 0,
                 label: str = "", log_y: bool = True, extra_y=(), clock=time.monotonic,
                 val_trace_index: int | None = None, on_redraw=None):
        self.figure = figure
        self.progress_slot = progress_slot
        self.chart_slot = chart_slot
        self.handle = handle
        self.trace_index = trace_index
        self.label = label
        self.log_y = log_y
        self.extra_y = tuple(extra_y)
        self.val_trace_index = val_trace_index
        self.on_redraw = on_redraw
        self.interrupt: BaseException | None = None
        self.chart_draws = 0
        self._clock = clock
        self._next_chart = 0.0
        self._callback = None

    def callback(self):
        self._callback = _recorder_class()(self._update, min_interval=PROGRESS_INTERVAL, clock=self._clock)
        self.interrupt = None
        self._next_chart = self._clock() + CHART_INTERVAL
        return self._callback

    def _update(self, done: int, total: int, losses: np.ndarray) -> None:
        if self.interrupt is not None:
            return
        try:
            self.progress_slot.progress(min(done / max(total, 1), 1.0), text=progress_text(self.label, done, total, losses))
            now = self._clock()
            if now >= self._next_chart or done >= total:
                started = time.perf_counter()
                self.draw_chart(losses)
                cost = time.perf_counter() - started
                self._next_chart = self._clock() + max(CHART_INTERVAL, COST_FACTOR * cost)
        except BaseException as exc:  # noqa: BLE001 - Streamlit's rerun/stop signals
            if not runs.is_interrupt(exc):
                raise
            self.interrupt = exc
            self.handle.interrupt(exc)
            if self._callback is not None and self._callback.model is not None:
                self._callback.model.stop_training = True

    def draw_chart(self, losses: np.ndarray) -> None:
        plots.set_losses(self.figure, self.trace_index, losses)
        if self.val_trace_index is not None and self._callback is not None:
            plots.set_losses(self.figure, self.val_trace_index, self._callback.val_losses)
        plots.apply_loss_axis(self.figure, log_y=self.log_y, extra=self.extra_y)
        self.chart_draws += 1
        # Each redraw differs from the last (Streamlit refuses two identical keyless charts in
        # one script run, e.g. when a new line starts with no epoch drawn yet).
        self.figure.layout.meta = {"draw": self.chart_draws, "line": self.trace_index}
        self.chart_slot.plotly_chart(self.figure, config=CHART_CONFIG)
        model = getattr(self._callback, "model", None)
        if self.on_redraw is not None and model is not None:
            self.on_redraw(model, self.chart_draws)

    def reraise_interrupt(self) -> None:
        if self.interrupt is not None:
            raise self.interrupt


_RECORDER = None


def _recorder_class():
    """`lstm_core.ThrottledCallback` that also keeps each epoch's `logs["val_loss"]` (made on
    first use: the callback classes load TensorFlow)."""
    global _RECORDER
    if _RECORDER is None:
        class ValidationRecorder(lstm_core.ThrottledCallback):
            def on_train_begin(self, logs=None):
                self._val_losses = np.empty(self.params.get("epochs", 0) if self.params else 0, dtype=np.float64)
                self.val_count = 0
                super().on_train_begin(logs)

            def on_epoch_end(self, epoch, logs=None):
                if logs and "val_loss" in logs:
                    if self.val_count == len(self._val_losses):
                        self._val_losses = np.resize(self._val_losses, max(16, 2 * len(self._val_losses)))
                    self._val_losses[self.val_count] = logs["val_loss"]
                    self.val_count += 1
                super().on_epoch_end(epoch, logs)

            @property
            def val_losses(self) -> np.ndarray:
                return self._val_losses[: self.val_count]

        _RECORDER = ValidationRecorder
    return _RECORDER


def progress_text(label: str, done: int, total: int, losses) -> str:
    loss = f"{losses[-1]:.3g}" if len(losses) else "–"
    return f"{label}epoch {done:,} / {total:,} · loss {loss}"
