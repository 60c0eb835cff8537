"""The shape trace: how the data's shape changes from the raw sequences through every layer to y.

`shape_trace(model, ...)` lists the pipeline as data: the task's sequences (N, n), the framed
X (samples, timesteps, features), each layer of the model with its output shape, its parameter
count and a note of what it does to the shape, and the targets y. The notes come from one
table keyed by layer class (`LAYER_ROLES`), so a new topology needs no code here, and a new
kind of layer needs one entry. `shape_figure` draws it as boxes and arrows (Plotly, offline).
"""

from __future__ import annotations

import dataclasses
import textwrap
from typing import Callable

import plotly.graph_objects as go

BATCH = "batch"


@dataclasses.dataclass(frozen=True)
class ShapeStep:
    """One box of the pipeline.

    Attributes:
        kind: "data" (the sequences, X, y) or "layer".
        title: what the box says first, e.g. "LSTM(5, return_sequences=True)" or "X".
        name: the layer's name in the model ("" for data).
        shape: the shape, with None for the batch axis of layer outputs.
        parameters: the layer's parameter count (0 for data).
        formula: where the parameters come from, weight by weight ("" when there are none).
        note: what this step does to the shape, in words.
        color: the box's fill colour.
    """

    kind: str
    title: str
    name: str
    shape: tuple
    parameters: int
    formula: str
    note: str
    color: str

    @property
    def shape_text(self) -> str:
        """The shape as the pages print it: (batch, 5, 1)."""
        return "(" + ", ".join(BATCH if size is None else str(size) for size in self.shape) + (
            ",)" if len(self.shape) == 1 else ")"
        )


# --------------------------------------------------------------------------- what each layer does


def _first(value):
    return value[0] if isinstance(value, (list, tuple)) else value


def _shape(tensor) -> tuple:
    return tuple(_first(tensor).shape)


def _recurrent_title(layer) -> str:
    flags = [f"{flag}=True" for flag in ("return_sequences", "return_state", "go_backwards") if getattr(layer, flag, False)]
    return f"{type(layer).__name__}({', '.join([str(layer.units), *flags])})"


def _recurrent_note(layer, in_shape, out_shape) -> str:
    steps, features = in_shape[1], in_shape[2]
    units = layer.units
    read = f"reads {steps} time step{'s' if steps != 1 else ''} of {features} feature{'s' if features != 1 else ''}"
    if layer.return_sequences:
        return f"{read}; return_sequences=True keeps the time axis: one h of {units} values per step"
    return f"{read}; return_sequences=False drops the time axis: only the last h ({units} values) leaves"


def _bidirectional_title(layer) -> str:
    return f"Bidirectional({_recurrent_title(layer.forward_layer)})"


def _bidirectional_note(layer, in_shape, out_shape) -> str:
    inner = _recurrent_note(layer.forward_layer, in_shape, out_shape)
    units = layer.forward_layer.units
    if layer.merge_mode == "concat":
        joined = f"forward and backward h are joined: {units} + {units} = {out_shape[-1]} features"
    else:
        joined = f"forward and backward h are merged by {layer.merge_mode!r}: {out_shape[-1]} features"
    return f"two layers, one reading forwards and one backwards; each {inner.split('; ', 1)[1]}; {joined}"


def _repeat_title(layer) -> str:
    return f"RepeatVector({layer.n})"


def _repeat_note(layer, in_shape, out_shape) -> str:
    return f"adds a time axis back: the same {in_shape[-1]}-value vector at each of {layer.n} steps"


def _time_distributed_title(layer) -> str:
    return f"TimeDistributed({_title(layer.layer)})"


def _time_distributed_note(layer, in_shape, out_shape) -> str:
    return (
        f"applies the same {_title(layer.layer)} to each of the {in_shape[1]} steps: "
        f"{in_shape[-1]} → {out_shape[-1]} features per step, shared weights"
    )


def _dense_title(layer) -> str:
    return f"Dense({layer.units})"


def _dense_note(layer, in_shape, out_shape) -> str:
    if len(in_shape) == 3:
        return (
            f"acts on the last axis of each of the {in_shape[1]} steps ({in_shape[-1]} → {layer.units}): "
            "in Keras 3 the same as TimeDistributed(Dense)"
        )
    return f"maps the {in_shape[-1]} values it gets to {layer.units} output{'s' if layer.units != 1 else ''}"


def _input_title(layer) -> str:
    return "Input"


def _input_note(layer, in_shape, out_shape) -> str:
    return "takes X a batch of samples at a time: the batch axis is left open"


def _other_title(layer) -> str:
    return type(layer).__name__


def _other_note(layer, in_shape, out_shape) -> str:
    return f"{type(layer).__name__}: {in_shape} → {out_shape}"


@dataclasses.dataclass(frozen=True)
class LayerRole:
    """How the shape trace shows one layer class: its title, its note and its colour."""

    title: Callable
    note: Callable  # (layer, input shape, output shape) -> str
    color: str


RECURRENT_COLOR = "#c6dbef"
_RECURRENT = LayerRole(_recurrent_title, _recurrent_note, RECURRENT_COLOR)
DATA_COLOR = "#e5e5e5"

# Keras layer class name -> how its box reads. A layer class not listed gets `_OTHER`.
LAYER_ROLES: dict[str, LayerRole] = {
    "InputLayer": LayerRole(_input_title, _input_note, "#f2f2f2"),
    "LSTM": _RECURRENT,
    "GRU": _RECURRENT,
    "SimpleRNN": _RECURRENT,
    "Bidirectional": LayerRole(_bidirectional_title, _bidirectional_note, "#9ecae1"),
    "RepeatVector": LayerRole(_repeat_title, _repeat_note, "#fdd0a2"),
    "TimeDistributed": LayerRole(_time_distributed_title, _time_distributed_note, "#c7e9c0"),
    "Dense": LayerRole(_dense_title, _dense_note, "#c7e9c0"),
}
_OTHER = LayerRole(_other_title, _other_note, "#f2f2f2")


def _role(layer) -> LayerRole:
    return LAYER_ROLES.get(type(layer).__name__, _OTHER)


def _title(layer) -> str:
    return _role(layer).title(layer)


def _formula(layer) -> str:
    """Parameters weight by weight: 'kernel 1×20 + recurrent_kernel 5×20 + bias 20 = 140'."""
    forward = getattr(layer, "forward_layer", None)  # a Bidirectional names its two halves
    forward_ids = {id(weight) for weight in forward.weights} if forward is not None else set()
    parts = []
    for weight in layer.weights:
        size = "×".join(str(s) for s in tuple(weight.shape))
        name = weight.path.split("/")[-1]
        prefix = "" if forward is None else ("forward " if id(weight) in forward_ids else "backward ")
        parts.append(f"{prefix}{name} {size}")
    if not parts:
        return ""
    return f"{' + '.join(parts)} = {layer.count_params()}"


# --------------------------------------------------------------------------- the pipeline


def shape_trace(model, x_shape: tuple, y_shape: tuple, raw_shape: tuple | None = None) -> list[ShapeStep]:
    """The pipeline of a built functional model as a list of `ShapeStep`s, in order.

    raw_shape: the task's sequences before framing, (num_sequences, n); x_shape and y_shape:
    the framed arrays the model trains on.
    """
    steps = []
    if raw_shape is not None:
        count, length = raw_shape
        steps.append(
            ShapeStep(
                "data", "sequences", "", tuple(raw_shape), 0, "",
                f"{count} sequence{'s' if count != 1 else ''} of {length} values each", DATA_COLOR,
            )
        )
    samples, timesteps, features = x_shape
    framing = (
        f"{samples} sample{'s' if samples != 1 else ''} × {timesteps} time step{'s' if timesteps != 1 else ''}"
        f" × {features} feature{'s' if features != 1 else ''}: what the network is fed"
    )
    steps.append(ShapeStep("data", "X", "", tuple(x_shape), 0, "", framing, DATA_COLOR))
    for layer in model.layers:
        role = _role(layer)
        out_shape = _shape(layer.output)
        in_shape = out_shape if type(layer).__name__ == "InputLayer" else _shape(layer.input)
        steps.append(
            ShapeStep(
                "layer", role.title(layer), layer.name, out_shape, int(layer.count_params()), _formula(layer),
                role.note(layer, in_shape, out_shape), role.color,
            )
        )
    steps.append(
        ShapeStep(
            "data", "y", "", tuple(y_shape), 0, "",
            f"the targets: the last layer's (batch, …) output is compared with y by mean squared error",
            DATA_COLOR,
        )
    )
    return steps


def shape_trace_for(config) -> list[ShapeStep]:
    """The shape trace of the config's model and data (builds the model, trains nothing)."""
    from lstm_core.data import frame
    from lstm_core.model import build_model
    from lstm_core.tasks import make_data

    data = make_data(config)
    X, y = frame(config)
    return shape_trace(build_model(config), X.shape, y.shape, data.train_inputs.shape)


# --------------------------------------------------------------------------- the figure


def shape_figure(steps: list[ShapeStep], title: str = "How the shape changes") -> go.Figure:
    """The pipeline as boxes (top to bottom) joined by arrows, each with its note beside it.

    Only shapes and annotations: nothing to load, so it draws offline.
    """
    figure = go.Figure()
    box_width, box_height, gap = 4.0, 0.62, 0.38
    note_x = box_width + 0.25
    for index, step in enumerate(steps):
        top = -index * (box_height + gap)
        bottom = top - box_height
        figure.add_shape(
            type="rect", x0=0, x1=box_width, y0=bottom, y1=top,
            line={"color": "#555555", "width": 1}, fillcolor=step.color, layer="below",
        )
        params = f" · {step.parameters:,} params" if step.kind == "layer" else ""
        label = f"<b>{step.title}</b>" + (f"  <i>{step.name}</i>" if step.name and step.name != step.title else "")
        figure.add_annotation(
            x=box_width / 2, y=(top + bottom) / 2, text=f"{label}<br>{step.shape_text}{params}",
            showarrow=False, font={"size": 12}, align="center",
        )
        figure.add_annotation(
            # Plotly does not wrap text: break long notes so they fit beside the boxes.
            x=note_x, y=(top + bottom) / 2, text="<br>".join(textwrap.wrap(step.note, 64)),
            showarrow=False, xanchor="left",
            align="left", font={"size": 11, "color": "#333333"},
        )
        if index:
            figure.add_annotation(
                x=box_width / 2, y=top, ax=box_width / 2, ay=top + gap, xref="x", yref="y",
                axref="x", ayref="y", text="", showarrow=True, arrowhead=2, arrowsize=1.2,
                arrowwidth=1.5, arrowcolor="#555555",
            )
    # Invisible points carry the hover text: the parameter formula of each layer.
    figure.add_trace(
        go.Scatter(
            x=[box_width / 2] * len(steps),
            y=[-index * (box_height + gap) - box_height / 2 for index in range(len(steps))],
            mode="markers", marker={"size": 30, "opacity": 0}, showlegend=False,
            hovertext=[step.formula or step.note for step in steps], hoverinfo="text", name="steps",
        )
    )
    bottom = -(len(steps) - 1) * (box_height + gap) - box_height
    figure.update_xaxes(visible=False, range=[-0.1, 11.0], fixedrange=True)
    figure.update_yaxes(visible=False, range=[bottom - 0.15, 0.15], fixedrange=True)
    figure.update_layout(
        title=title, height=int(70 * len(steps) + 70), margin={"l": 10, "r": 10, "t": 45, "b": 10},
        plot_bgcolor="white", paper_bgcolor="white",
    )
    return figure
