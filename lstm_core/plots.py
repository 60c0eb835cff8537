"""Plotly figure builders: pure functions of numbers, testable without a browser."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import plotly.graph_objects as go

TARGET_COLOR = "#444444"


def loss_figure(series: Iterable[tuple[str, str]], title: str = "Training loss", log_y: bool = True) -> go.Figure:
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
        height=340,
        margin={"l": 60, "r": 20, "t": 50, "b": 45},
        legend={"orientation": "h", "y": -0.25},
        uirevision="loss",  # keep the user's zoom across redraws
    )
    return figure


def set_losses(figure: go.Figure, trace_index: int, losses: np.ndarray) -> go.Figure:
    """Put `losses` (epoch 1, 2, …) into one line of a loss chart, in place; cheap enough per redraw."""
    trace = figure.data[trace_index]
    trace.x = np.arange(1, len(losses) + 1)
    trace.y = np.asarray(losses, dtype=np.float64)
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
    figure.update_layout(
        title=title,
        xaxis_title="position in the sequence",
        yaxis_title="value",
        height=height,
        margin={"l": 50, "r": 20, "t": 50, "b": 45},
        legend={"orientation": "h", "y": -0.25},
        xaxis={"dtick": 1 if len(targets) <= 20 else None},
    )
    if y_range is not None:
        figure.update_yaxes(range=list(y_range))
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
