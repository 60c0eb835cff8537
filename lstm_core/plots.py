"""Plotly figure builders: pure functions of numbers, testable without a browser.

Loss charts are drawn honestly: a log axis gets ticks at clean decades (10⁻³, not Plotly's
"2, 0.1, 5"), or a few plain values when the loss spans less than a decade; a curve that falls
far below the others does not flatten them (the axis stops at `LOSS_FLOOR`, with a note); and
long histories are drawn from at most `DISPLAY_POINTS` points per line, each bucket keeping
its lowest and highest loss, so the browser's work per redraw stays small whatever the epochs.
The result itself keeps every value.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import plotly.graph_objects as go

TARGET_COLOR = "#444444"
INPUT_COLOR = "#9ecae1"  # the input sequence, a pale blue beside the grey target
# Points per loss line sent to the browser: every epoch up to this many (the tutorial's 1000 are
# drawn exactly), else 2 per bucket (its min and max) plus the last epoch.
DISPLAY_POINTS = 2000
# A log axis stops here: losses this small are learned to float32 round-off, and one curve
# reaching 1e-13 would otherwise squeeze every other curve into the top of the chart.
LOSS_FLOOR = 1e-7
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def loss_figure(series: Iterable[tuple[str, str]], title: str = "Training loss", log_y: bool = True,
                height: int = 340) -> go.Figure:
    """An empty loss chart with one named, coloured line per (name, colour); fill with `set_losses`."""
    figure = go.Figure()
    for name, color in series:
        figure.add_trace(
            go.Scatter(x=np.empty(0), y=np.empty(0), mode="lines", name=name, line={"color": color, "width": 2})
        )
    figure.update_layout(
        title=title,
        xaxis_title="epoch",
        yaxis_title="loss (MSE)" + (", log scale" if log_y else ""),
        yaxis_type="log" if log_y else "linear",
        height=height,
        margin={"l": 60, "r": 20, "t": 65, "b": 45},
        legend={"orientation": "h", "y": -0.25},
        uirevision="loss",  # keep the user's zoom across redraws
    )
    figure.update_yaxes(exponentformat="power")
    return figure


def add_validation_line(figure: go.Figure, name: str, color: str) -> int:
    """Add a dashed line for a validation loss to a loss chart; returns its trace index."""
    figure.add_trace(go.Scatter(x=np.empty(0), y=np.empty(0), mode="lines", name=name,
                                line={"color": color, "width": 2, "dash": "dash"}))
    return len(figure.data) - 1


def display_points(losses: Sequence[float], max_points: int = DISPLAY_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, losses) to draw: all of them up to `max_points`, else each bucket's min and max.

    Epochs are 1-based. The last epoch is always drawn, so the line ends where the run is.
    """
    values = np.asarray(losses, dtype=np.float64).reshape(-1)
    count = values.size
    if count <= max_points:
        return np.arange(1, count + 1), values
    buckets = max(1, (max_points - 1) // 2)
    size = math.ceil(count / buckets)
    padded = np.concatenate([values, np.full(buckets * size - count, values[-1])]).reshape(buckets, size)
    offsets = np.arange(buckets) * size
    # NaN-safe: a NaN never wins a min or a max here.
    cleaned = np.where(np.isfinite(padded), padded, np.nanmedian(values) if np.isfinite(values).any() else 0.0)
    picks = np.concatenate([offsets + cleaned.argmin(axis=1), offsets + cleaned.argmax(axis=1), [count - 1]])
    picks = np.unique(np.minimum(picks, count - 1))
    return picks + 1, values[picks]


def set_losses(figure: go.Figure, trace_index: int, losses: np.ndarray,
               max_points: int = DISPLAY_POINTS) -> go.Figure:
    """Put `losses` (epoch 1, 2, …) into one line of a loss chart, in place, downsampled for display."""
    trace = figure.data[trace_index]
    trace.x, trace.y = display_points(losses, max_points)
    return figure


def superscript_power(exponent: int) -> str:
    """10 to a whole power as text: "10⁻³", "10⁰"."""
    return "10" + str(int(exponent)).translate(_SUPERSCRIPT)


def loss_axis(curves: Iterable[Sequence[float]], log_y: bool = True, extra: Iterable[float] = (),
              floor: float = LOSS_FLOOR) -> tuple[dict, str | None]:
    """The y axis settings for loss curves, and a note when the axis clips a curve (else None).

    Log scale: the range covers the curves (and `extra` values such as a threshold line) down
    to `floor`; ticks at every decade as 10⁻ⁿ when the range spans one or more (every second or
    third when it spans many), else three to five plain values ("0.2", "0.21"). Linear: Plotly's
    own ticks, which are plain numbers.
    """
    values = np.concatenate([np.asarray(c, dtype=np.float64).reshape(-1) for c in curves] or [np.empty(0)])
    values = np.concatenate([values, np.asarray(list(extra), dtype=np.float64)])
    if not log_y:
        return {"type": "linear", "tickmode": "auto", "tickvals": None, "ticktext": None, "range": None,
                "autorange": True}, None
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        return {"type": "log", "tickmode": "auto", "range": None, "autorange": True}, None
    low, high = float(positive.min()), float(positive.max())
    note = None
    if low < floor <= high:
        note = (f"The axis stops at {superscript_power(round(math.log10(floor)))}: a loss below it is "
                f"learned to round-off (lowest here: {low:.1e}).")
        low = floor
    log_low, log_high = math.log10(low), math.log10(high)
    pad = max(0.05 * (log_high - log_low), 0.02)
    if log_high - log_low >= 1:
        first, last = math.floor(log_low), math.ceil(log_high)
        step = 1 if last - first <= 8 else (2 if last - first <= 16 else 3)
        exponents = [k for k in range(first, last + 1, step)]
        ticks = [10.0 ** k for k in exponents]
        text = [superscript_power(k) for k in exponents]
    else:
        ticks = _log_ticks(10 ** (log_low - pad), 10 ** (log_high + pad))
        text = [f"{tick:.3g}" for tick in ticks]
    axis = {"type": "log", "tickmode": "array", "tickvals": ticks, "ticktext": text,
            "range": [log_low - pad, log_high + pad], "autorange": False}
    return axis, note


def _log_ticks(low: float, high: float) -> list[float]:
    """Ticks for a log axis spanning less than a decade: 1-2-5 values (or 1…9) inside, else round
    values on a linear step (a loss between 0.198 and 0.215)."""
    for mantissas in ((1, 2, 5), (1, 2, 3, 5), range(1, 10)):
        ticks = [float(f"{m * 10.0 ** k:.12g}") for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
                 for m in mantissas]
        ticks = [tick for tick in ticks if low <= tick <= high]
        if len(ticks) >= 3:
            return ticks
    return _nice_ticks(low, high)


def _nice_ticks(low: float, high: float) -> list[float]:
    """Three to five round values between low and high (a 1, 2 or 5 step)."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = math.ceil(low / step) * step
    ticks = [start + i * step for i in range(int((high - start) / step) + 1)]
    return [round(tick, 12) for tick in ticks if low <= tick <= high] or [low, high]


def apply_loss_axis(figure: go.Figure, log_y: bool = True, extra: Iterable[float] = ()) -> str | None:
    """`loss_axis` for the lines drawn in `figure` (their displayed points), applied in place."""
    axis, note = loss_axis([trace.y for trace in figure.data if trace.y is not None], log_y=log_y, extra=extra)
    figure.update_yaxes(**axis)
    # The title's text only: its font (large on the presenter page) stays as the figure had it.
    figure.update_layout(yaxis_title_text="loss (MSE)" + (", log scale" if log_y else ""))
    return note


def dim(figure: go.Figure, opacity: float = 0.3) -> go.Figure:
    """Fade every line of a figure (a result from other settings than those on screen)."""
    for trace in figure.data:
        trace.opacity = opacity
    return figure


def prediction_figure(
    targets: np.ndarray,
    predictions: np.ndarray,
    title: str = "Target vs prediction",
    color: str = "#d62728",
    y_range: tuple[float, float] | None = None,
    height: int = 340,
) -> go.Figure:
    """Target and prediction per sequence position, as two lines with markers."""
    positions = np.arange(len(targets))
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(x=positions, y=np.asarray(targets, dtype=np.float64), mode="lines+markers", name="target",
                   line={"color": TARGET_COLOR, "dash": "dash"}, marker={"size": 9})
    )
    figure.add_trace(
        go.Scatter(x=positions, y=np.asarray(predictions, dtype=np.float64), mode="lines+markers",
                   name="prediction", line={"color": color}, marker={"size": 9, "symbol": "x"})
    )
    _sequence_layout(figure, title, height, len(targets))
    if y_range is not None:
        figure.update_yaxes(range=list(y_range))
    return figure


def task_figure(inputs: np.ndarray, targets: np.ndarray, title: str = "The task", height: int = 340) -> go.Figure:
    """A sequence's input and the target the network must output for it, per position: what is
    to be learned, drawn before any training (the prediction figure takes its place after)."""
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=np.arange(len(inputs)), y=np.asarray(inputs, dtype=np.float64),
                                mode="lines+markers", name="input", line={"color": INPUT_COLOR},
                                marker={"size": 7}))
    figure.add_trace(go.Scatter(x=np.arange(len(targets)), y=np.asarray(targets, dtype=np.float64),
                                mode="lines+markers", name="target", line={"color": TARGET_COLOR, "dash": "dash"},
                                marker={"size": 9}))
    return _sequence_layout(figure, title, height, max(len(inputs), len(targets)))


def _sequence_layout(figure: go.Figure, title: str, height: int, positions: int) -> go.Figure:
    """Values per position in the sequence: the layout of the prediction and task figures."""
    figure.update_layout(
        title=title,
        xaxis_title="position in the sequence",
        yaxis_title="value",
        height=height,
        margin={"l": 50, "r": 20, "t": 65, "b": 45},
        legend={"orientation": "h", "y": -0.25},
        xaxis={"dtick": 1 if positions <= 20 else None},
    )
    return figure


def shared_y_range(*arrays: np.ndarray, pad: float = 0.1) -> tuple[float, float]:
    """One y range that holds every finite value of the arrays, padded: for side-by-side panels."""
    values = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (-1.0, 1.0)
    low, high = float(values.min()), float(values.max())
    span = max(high - low, 1e-6)
    return (low - pad * span, high + pad * span)
