"""Plotly figures of the inside view: heatmaps of h, c and the gates under the input sequence.

Pure functions of an `lstm_core.inside.InsideView` (or a `StepExplanation`); testable without a
browser, and they load nothing from outside the machine.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_core.inside import InsideView, StepExplanation

INPUT_COLOR = "#444444"
# Colour scales: gates lie in [0, 1] (closed → open); states and candidates are signed.
GATE_SCALE = "Blues"
SIGNED_SCALE = "RdBu"
PANEL_HEIGHT = 150

# Quantity -> (symbol, words) for panel titles; gate symbols come from the cell's registry entry.
QUANTITY_WORDS = {
    "hidden": ("h_t", "hidden state"),
    "cell": ("c_t", "cell state"),
    "input": ("i_t", "input gate: how much is written"),
    "forget": ("f_t", "forget gate: how much of c is kept"),
    "candidate": (None, "candidate: what could be written"),
    "output": ("o_t", "output gate: how much of tanh(c) is shown"),
    "update": ("z_t", "update gate: how much old h is kept"),
    "reset": ("r_t", "reset gate: how much old h the candidate sees"),
}
GATES_IN_UNIT_RANGE = {"input", "forget", "output", "update", "reset"}


def _panel_title(trace, quantity: str) -> str:
    symbol, words = QUANTITY_WORDS.get(quantity, (quantity, quantity))
    if symbol is None:  # the candidate's symbol depends on the cell (g_t for an LSTM, h̃_t for a GRU)
        symbol = dict(trace.kind.gates)[quantity] + "_t"
    return f"{symbol}: {words}"


def _reach_text(trace, view: InsideView) -> str:
    readers = ", ".join(trace.readers) or "the output"
    if view.positions_are_samples:
        return f"each sample's h goes to {readers}"
    if trace.return_sequences:
        return f"every h_t goes to {readers}"
    last = int(trace.order[-1])
    return f"only h at step {last} (the last one read) goes to {readers}"


def inside_figure(view: InsideView, layer_index: int = 0, position: int | None = None) -> go.Figure:
    """One recurrent layer: the input sequence on top, then a units × positions heatmap of h_t,
    c_t (LSTM) and each gate, with hover values; `position` outlines one column (the step shown).

    Columns of h that reach the next layer are outlined in black: all of them with
    return_sequences=True, only the last one read without.
    """
    trace = view.layers[layer_index]
    positions = np.arange(view.num_positions)
    quantities = list(trace.quantities())
    reads_model_input = trace.inputs.shape[-1] == view.inputs.shape[-1] and np.array_equal(
        trace.inputs, view.inputs.astype(np.float64)
    )
    panels = ["input"] + ([] if reads_model_input else ["layer input"]) + quantities
    titles = ["the input sequence x" if reads_model_input else "the model's input sequence"]
    if not reads_model_input:
        titles.append("x_t: what this layer reads (feature × position)")
    titles += [_panel_title(trace, quantity) for quantity in quantities]
    heights = [0.6] + [1.0] * (len(panels) - 1)
    figure = make_subplots(
        rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.35 / len(panels),
        subplot_titles=titles, row_heights=heights,
    )
    series = view.input_series()
    for feature in range(series.shape[1]):
        figure.add_trace(
            go.Scatter(
                x=positions, y=series[:, feature], mode="lines+markers", name=f"x (feature {feature})",
                line={"color": INPUT_COLOR}, marker={"size": 7}, showlegend=False,
                hovertemplate=f"{view.position_label} %{{x}}<br>x = %{{y:.3f}}<extra></extra>",
            ),
            row=1, col=1,
        )
    row = 2
    if not reads_model_input:
        layer_input = (trace.inputs[:, 0, :] if view.positions_are_samples else trace.inputs[0]).T
        figure.add_trace(_heatmap(layer_input, positions, "x_t", view, signed=True, row=row, rows=len(panels)),
                         row=row, col=1)
        figure.update_yaxes(title_text="feature", row=row, col=1)
        row += 1
    for quantity in quantities:
        matrix = view.matrix(trace, quantity)
        figure.add_trace(
            _heatmap(matrix, positions, quantity, view, signed=quantity not in GATES_IN_UNIT_RANGE,
                     row=row, rows=len(panels)),
            row=row, col=1,
        )
        figure.update_yaxes(title_text="unit", row=row, col=1, autorange="reversed",
                            dtick=1 if trace.units <= 16 else None)
        if quantity == "hidden":
            reaching = np.ones(view.num_positions, bool) if view.positions_are_samples else trace.reaches_next_layer()
            # One outline per run of neighbouring columns (a shape per column is slow to build).
            for first, last in _runs(np.flatnonzero(reaching)):
                figure.add_shape(
                    type="rect", x0=first - 0.5, x1=last + 0.5, y0=-0.5, y1=trace.units - 0.5,
                    line={"color": "black", "width": 2}, fillcolor="rgba(0,0,0,0)", row=row, col=1,
                    name="reaches next layer",
                )
        row += 1
    if position is not None:
        # One outline down the whole figure (the panels share their x axis); an outline, not a
        # fill: a fill would change the colours it is meant to point at.
        figure.add_shape(
            type="rect", xref="x", yref="paper", x0=position - 0.5, x1=position + 0.5, y0=0, y1=1,
            fillcolor="rgba(0,0,0,0)", line={"color": "#ff7f0e", "width": 3, "dash": "dot"},
            name="selected position",
        )
    figure.update_xaxes(title_text=view.position_label, dtick=1 if view.num_positions <= 30 else None,
                        row=len(panels), col=1)
    figure.update_layout(
        title=f"Inside {trace.label} — {_reach_text(trace, view)}",
        height=int(PANEL_HEIGHT * (len(panels) - 0.4) + 90),
        margin={"l": 60, "r": 20, "t": 70, "b": 45},
    )
    return figure


def _runs(columns) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive integers in a sorted array."""
    runs = []
    for column in (int(c) for c in columns):
        if runs and column == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], column)
        else:
            runs.append((column, column))
    return runs


def _heatmap(matrix, positions, quantity, view: InsideView, signed: bool, row: int, rows: int) -> go.Heatmap:
    matrix = np.asarray(matrix, dtype=np.float64)
    if signed:
        bound = float(max(np.max(np.abs(matrix)), 1e-6))
        scale = {"colorscale": SIGNED_SCALE, "zmin": -bound, "zmax": bound, "reversescale": True}
    else:
        scale = {"colorscale": GATE_SCALE, "zmin": 0.0, "zmax": 1.0}
    # One colour bar per panel, beside its own row.
    top = 1.0 - (row - 1) / rows
    return go.Heatmap(
        z=matrix, x=positions, y=np.arange(matrix.shape[0]), name=quantity, **scale,
        colorbar={"len": 0.8 / rows, "y": top - 0.5 / rows, "thickness": 10},
        hovertemplate=f"{view.position_label} %{{x}}<br>unit %{{y}}<br>{quantity} = %{{z:.3f}}<extra></extra>",
    )


def step_figure(explanation: StepExplanation) -> go.Figure:
    """One cell update as bars per unit: the state before, each gate and the state after."""
    columns = [name for name in explanation.units[0] if name != "unit"]
    units = [row["unit"] for row in explanation.units]
    figure = go.Figure()
    for column in columns:
        figure.add_trace(
            go.Bar(
                x=units, y=[row[column] for row in explanation.units], name=column,
                hovertemplate=f"unit %{{x}}<br>{column} = %{{y:.3f}}<extra></extra>",
            )
        )
    figure.update_layout(
        title=f"{explanation.layer} ({explanation.direction}) at step {explanation.time_step}, sample "
              f"{explanation.sample}: every unit's update",
        barmode="group", xaxis_title="unit", yaxis_title="value", height=320,
        margin={"l": 50, "r": 20, "t": 50, "b": 45}, xaxis={"dtick": 1},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure
