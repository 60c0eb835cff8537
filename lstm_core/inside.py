"""Inside a trained network: every recurrent layer's states and gates, step by step, in NumPy.

`trace_model(model, X)` recomputes, from each recurrent layer's weights, what the layer does at
every time step: its input x_t, its hidden state h_t and, for an LSTM, its cell state c_t and
its four gates; for a GRU its update and reset gates and candidate; for a SimpleRNN h_t alone.
The formulas are Keras's own (keras/src/layers/rnn/lstm.py, gru.py, simple_rnn.py, version
3.15), written out below one by one; the tests hold them to the layers' outputs to 1e-6.

What a layer is fed is taken from the model itself (a sub-model from the model's input to each
recurrent layer's input), so stacked layers, encoder-decoders (RepeatVector between two
recurrent layers), Bidirectional wrappers and states passed as `initial_state` all work the
same way. A cell type is one entry of `CELL_KINDS`; nothing here is specific to a topology.

`look_inside(result)` does this for one sequence of a `TrainingResult`, and `explain_step`
fills one cell update's equations with its numbers, for a page to show.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from typing import Callable

import numpy as np

# --------------------------------------------------------------------------- activations


def _sigmoid(x):
    # 1 / (1 + e^-x), written with tanh so it never overflows.
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# Keras activation name -> the same function in NumPy. Keras's defaults are tanh (activation)
# and sigmoid (recurrent_activation); the others are here so a layer built with them traces too.
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
}

# How a formula writes each activation.
_SYMBOLS = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu", "linear": "", "hard_sigmoid": "hard_σ"}
_LATEX = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\mathrm{relu}", "linear": "", "hard_sigmoid": r"\sigma_{hard}"}


def _activation(function) -> str:
    name = getattr(function, "__name__", None)
    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not supported here: allowed {', '.join(ACTIVATIONS)}")
    return name


# --------------------------------------------------------------------------- weights


@dataclasses.dataclass(frozen=True)
class CellWeights:
    """One recurrent cell's weights as float64 arrays, in Keras's layout.

    kernel: (features, k·units), recurrent_kernel: (units, k·units), with the k gate blocks
    side by side in Keras's order (LSTM i f c o; GRU z r h; SimpleRNN one block).
    bias: (k·units,), or for a GRU with reset_after=True (2, 3·units): row 0 is added to the
    input part, row 1 to the recurrent part; None without a bias.
    """

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray | None
    activation: str
    recurrent_activation: str | None
    units: int
    reset_after: bool = False

    def block(self, matrix: np.ndarray, index: int) -> np.ndarray:
        """Gate block `index` of a kernel, recurrent kernel or bias (the last axis is split)."""
        return matrix[..., index * self.units:(index + 1) * self.units]

    def act(self, x):
        return ACTIVATIONS[self.activation](x)

    def rec_act(self, x):
        return ACTIVATIONS[self.recurrent_activation](x)


def _cell_weights(cell, values: dict | None = None) -> CellWeights:
    """The cell's weights: its variables' values, or those in `values` (id(variable) -> array)."""

    def array(variable):
        if variable is None:
            return None
        value = values.get(id(variable), variable) if values else variable
        return np.asarray(keras_value(value), dtype=np.float64)

    recurrent = getattr(cell, "recurrent_activation", None)
    return CellWeights(
        kernel=array(cell.kernel),
        recurrent_kernel=array(cell.recurrent_kernel),
        bias=array(cell.bias) if getattr(cell, "use_bias", True) else None,
        activation=_activation(cell.activation),
        recurrent_activation=None if recurrent is None else _activation(recurrent),
        units=int(cell.units),
        reset_after=bool(getattr(cell, "reset_after", False)),
    )


def keras_value(value):
    """A Keras variable's (or a tensor's, or an array's) value as a NumPy array."""
    import keras

    return keras.ops.convert_to_numpy(value.value if hasattr(value, "value") else value)


# --------------------------------------------------------------------------- one step per cell
#
# Each step function takes the weights, x_t (samples, features) and the previous states
# (a dict of (samples, units) arrays) and returns the new states and the gates, as dicts.


def _lstm_step(w: CellWeights, x, previous):
    """One LSTM update, as keras.layers.LSTMCell.call computes it (Keras's gate order i, f, c, o):

        i_t = σ(x_t W_i + h_{t-1} U_i + b_i)          input gate: how much of g_t to write
        f_t = σ(x_t W_f + h_{t-1} U_f + b_f)          forget gate: how much of c_{t-1} to keep
        g_t = tanh(x_t W_g + h_{t-1} U_g + b_g)       candidate (Keras's c̃): what could be written
        o_t = σ(x_t W_o + h_{t-1} U_o + b_o)          output gate: how much of tanh(c_t) to show
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                cell state
        h_t = o_t ⊙ tanh(c_t)                         hidden state (the layer's output)

    σ is the layer's recurrent_activation (sigmoid by default), tanh its activation.
    """
    h, c = previous["hidden"], previous["cell"]
    pre = x @ w.kernel + h @ w.recurrent_kernel
    if w.bias is not None:
        pre = pre + w.bias
    i = w.rec_act(w.block(pre, 0))
    f = w.rec_act(w.block(pre, 1))
    g = w.act(w.block(pre, 2))
    o = w.rec_act(w.block(pre, 3))
    c_new = f * c + i * g
    h_new = o * w.act(c_new)
    return {"hidden": h_new, "cell": c_new}, {"input": i, "forget": f, "candidate": g, "output": o}


def _gru_parts(w: CellWeights, x, h):
    """The GRU's pre-activations: input parts x_z, x_r, x_h and recurrent parts u_z, u_r, u_h."""
    input_part = x @ w.kernel
    recurrent_part = h @ w.recurrent_kernel
    if w.bias is not None:
        if w.reset_after:
            input_part = input_part + w.bias[0]
            recurrent_part = recurrent_part + w.bias[1]
        else:
            input_part = input_part + w.bias
    return input_part, recurrent_part


def _gru_step(w: CellWeights, x, previous):
    """One GRU update, as keras.layers.GRUCell.call computes it (gate order z, r, h):

        z_t = σ(x_t W_z + b_z + h_{t-1} U_z + b'_z)               update gate: how much old h to keep
        r_t = σ(x_t W_r + b_r + h_{t-1} U_r + b'_r)               reset gate: how much old h the candidate sees
        reset_after=True (Keras's default, b' the second bias row):
            h̃_t = tanh(x_t W_h + b_h + r_t ⊙ (h_{t-1} U_h + b'_h))
        reset_after=False (one bias row, no b'):
            h̃_t = tanh(x_t W_h + b_h + (r_t ⊙ h_{t-1}) U_h)
        h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ h̃_t                     note: Keras keeps the OLD state where z is 1
    """
    h = previous["hidden"]
    input_part, recurrent_part = _gru_parts(w, x, h)
    z = w.rec_act(w.block(input_part, 0) + w.block(recurrent_part, 0))
    r = w.rec_act(w.block(input_part, 1) + w.block(recurrent_part, 1))
    if w.reset_after:
        recurrent_h = r * w.block(recurrent_part, 2)
    else:
        recurrent_h = (r * h) @ w.block(w.recurrent_kernel, 2)
    candidate = w.act(w.block(input_part, 2) + recurrent_h)
    h_new = z * h + (1.0 - z) * candidate
    return {"hidden": h_new}, {"update": z, "reset": r, "candidate": candidate}


def _simple_rnn_step(w: CellWeights, x, previous):
    """One SimpleRNN update, as keras.layers.SimpleRNNCell.call computes it:

        h_t = tanh(x_t W + h_{t-1} U + b)             (tanh: the layer's activation)
    """
    pre = x @ w.kernel + previous["hidden"] @ w.recurrent_kernel
    if w.bias is not None:
        pre = pre + w.bias
    return {"hidden": w.act(pre)}, {}


@dataclasses.dataclass(frozen=True)
class CellKind:
    """What the inside view needs to know about one kind of recurrent cell."""

    key: str
    label: str
    states: tuple[str, ...]  # "hidden" first; an LSTM also carries "cell"
    gates: tuple[tuple[str, str], ...]  # (name, symbol) in the order a page shows them
    step: Callable
    explain: Callable  # (weights, x, previous, states, gates) -> (equations, summary)


# --------------------------------------------------------------------------- explaining one step


@dataclasses.dataclass(frozen=True)
class Equation:
    """One equation of a cell update: as written, in LaTeX, and with this step's numbers in it."""

    name: str
    formula: str
    latex: str
    filled: str


@dataclasses.dataclass(frozen=True)
class StepExplanation:
    """One cell update at one time step, filled in with its numbers, for a page to render.

    equations: the update's equations in order; summary: a few plain sentences (which gate
    opened most, what was forgotten, what was written); units: one row per unit with the
    previous state, the gates and the new state (column name -> value).
    """

    layer: str
    direction: str
    cell: str
    sample: int
    time_step: int
    input: np.ndarray
    equations: list[Equation]
    summary: str
    units: list[dict[str, float]]


def _vec(values, limit: int = 8) -> str:
    """[0.12, -0.50, …] with at most `limit` entries shown."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    shown = ", ".join(f"{v:+.3f}" for v in values[:limit])
    return f"[{shown}{', …' if values.size > limit else ''}]"


def _apply(symbol: str, text: str) -> str:
    return f"{symbol}({text})" if symbol else text


def _lstm_explain(w: CellWeights, x, previous, states, gates):
    s, a = _SYMBOLS[w.recurrent_activation], _SYMBOLS[w.activation]
    ls, la = _LATEX[w.recurrent_activation], _LATEX[w.activation]
    h_prev, c_prev = previous["hidden"], previous["cell"]
    pre = x @ w.kernel + h_prev @ w.recurrent_kernel + (0.0 if w.bias is None else w.bias)
    i, f, g, o = gates["input"], gates["forget"], gates["candidate"], gates["output"]
    c, h = states["cell"], states["hidden"]
    equations = []
    for index, (name, symbol, function, latex_function, value) in enumerate(
        [
            ("input gate", "i", s, ls, i),
            ("forget gate", "f", s, ls, f),
            ("candidate", "g", a, la, g),
            ("output gate", "o", s, ls, o),
        ]
    ):
        equations.append(
            Equation(
                name,
                f"{symbol}_t = {_apply(function, f'x_t·W_{symbol} + h_(t-1)·U_{symbol} + b_{symbol}')}",
                rf"{symbol}_t = {latex_function}\left(x_t W_{symbol} + h_{{t-1}} U_{symbol} + b_{symbol}\right)",
                f"{symbol} = {_apply(function, _vec(w.block(pre, index)))} = {_vec(value)}",
            )
        )
    equations.append(
        Equation(
            "cell state",
            "c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t",
            r"c_t = f_t \odot c_{t-1} + i_t \odot g_t",
            f"c = {_vec(f)} ⊙ {_vec(c_prev)} + {_vec(i)} ⊙ {_vec(g)} = {_vec(f * c_prev)} + {_vec(i * g)} = {_vec(c)}",
        )
    )
    equations.append(
        Equation(
            "hidden state",
            f"h_t = o_t ⊙ {_apply(a, 'c_t')}",
            rf"h_t = o_t \odot {la}(c_t)",
            f"h = {_vec(o)} ⊙ {_apply(a, _vec(c))} = {_vec(h)}",
        )
    )
    forgotten = (1.0 - f) * np.abs(c_prev)
    written = i * g
    opened = {name: float(np.mean(gates[name])) for name in ("input", "forget", "output")}
    widest = max(opened, key=opened.get)
    lost, wrote = int(np.argmax(forgotten)), int(np.argmax(np.abs(written)))
    sentences = [
        f"Input x_t = {_vec(x)}.",
        f"The {widest} gate opened most (mean {opened[widest]:.2f}; input {opened['input']:.2f}, "
        f"forget {opened['forget']:.2f}, output {opened['output']:.2f}).",
    ]
    if np.max(np.abs(c_prev)) < 1e-12:
        sentences.append("The cell state was empty (the first step), so nothing could be forgotten.")
    else:
        sentences.append(
            f"Forgotten: unit {lost} kept {f[lost]:.0%} of its cell state ({c_prev[lost]:+.3f} → "
            f"{f[lost] * c_prev[lost]:+.3f} before writing); on average {float(np.mean(f)):.0%} was kept."
        )
    sentences.append(
        f"Written: unit {wrote} took the most, i·g = {i[wrote]:.2f} × {g[wrote]:+.3f} = {written[wrote]:+.3f}, "
        f"so its cell state went {c_prev[wrote]:+.3f} → {c[wrote]:+.3f}."
    )
    sentences.append(f"The output gate let through {float(np.mean(o)):.0%} of tanh(c) on average: h = {_vec(h)}.")
    return equations, " ".join(sentences)


def _gru_explain(w: CellWeights, x, previous, states, gates):
    s, a = _SYMBOLS[w.recurrent_activation], _SYMBOLS[w.activation]
    ls, la = _LATEX[w.recurrent_activation], _LATEX[w.activation]
    h_prev, h = previous["hidden"], states["hidden"]
    z, r, candidate = gates["update"], gates["reset"], gates["candidate"]
    input_part, recurrent_part = _gru_parts(w, x, h_prev)
    if w.reset_after:
        candidate_formula = f"h̃_t = {_apply(a, 'x_t·W_h + b_h + r_t ⊙ (h_(t-1)·U_h + b′_h)')}"
        candidate_latex = rf"\tilde h_t = {la}\left(x_t W_h + b_h + r_t \odot (h_{{t-1}} U_h + b'_h)\right)"
        candidate_filled = (
            f"h̃ = {_apply(a, f'{_vec(w.block(input_part, 2))} + {_vec(r)} ⊙ {_vec(w.block(recurrent_part, 2))}')}"
            f" = {_vec(candidate)}"
        )
        bias_text, bias_latex = " + b′", " + b'"
    else:
        candidate_formula = f"h̃_t = {_apply(a, 'x_t·W_h + b_h + (r_t ⊙ h_(t-1))·U_h')}"
        candidate_latex = rf"\tilde h_t = {la}\left(x_t W_h + b_h + (r_t \odot h_{{t-1}}) U_h\right)"
        recurrent_h = (r * h_prev) @ w.block(w.recurrent_kernel, 2)
        candidate_filled = f"h̃ = {_apply(a, f'{_vec(w.block(input_part, 2))} + {_vec(recurrent_h)}')} = {_vec(candidate)}"
        bias_text, bias_latex = "", ""
    equations = []
    for index, (name, symbol, value) in enumerate([("update gate", "z", z), ("reset gate", "r", r)]):
        pre = w.block(input_part, index) + w.block(recurrent_part, index)
        equations.append(
            Equation(
                name,
                f"{symbol}_t = {_apply(s, f'x_t·W_{symbol} + b_{symbol} + h_(t-1)·U_{symbol}{bias_text}_{symbol}')}",
                rf"{symbol}_t = {ls}\left(x_t W_{symbol} + b_{symbol} + h_{{t-1}} U_{symbol}{bias_latex}_{symbol}\right)",
                f"{symbol} = {_apply(s, _vec(pre))} = {_vec(value)}",
            )
        )
    equations.append(Equation("candidate", candidate_formula, candidate_latex, candidate_filled))
    equations.append(
        Equation(
            "hidden state",
            "h_t = z_t ⊙ h_(t-1) + (1 − z_t) ⊙ h̃_t",
            r"h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t",
            f"h = {_vec(z)} ⊙ {_vec(h_prev)} + {_vec(1 - z)} ⊙ {_vec(candidate)} = {_vec(h)}",
        )
    )
    moved = int(np.argmax(np.abs(h - h_prev)))
    sentences = [
        f"Input x_t = {_vec(x)}.",
        f"The update gate kept {float(np.mean(z)):.0%} of the old state on average and took "
        f"{float(np.mean(1 - z)):.0%} from the candidate; the reset gate let the candidate see "
        f"{float(np.mean(r)):.0%} of the old state.",
        f"Unit {moved} changed most: z = {z[moved]:.2f}, candidate {candidate[moved]:+.3f}, "
        f"h went {h_prev[moved]:+.3f} → {h[moved]:+.3f}.",
    ]
    return equations, " ".join(sentences)


def _simple_rnn_explain(w: CellWeights, x, previous, states, gates):
    a, la = _SYMBOLS[w.activation], _LATEX[w.activation]
    h_prev, h = previous["hidden"], states["hidden"]
    from_input = x @ w.kernel + (0.0 if w.bias is None else w.bias)
    from_state = h_prev @ w.recurrent_kernel
    equations = [
        Equation(
            "hidden state",
            f"h_t = {_apply(a, 'x_t·W + h_(t-1)·U + b')}",
            rf"h_t = {la}\left(x_t W + h_{{t-1}} U + b\right)",
            f"h = {_apply(a, f'{_vec(from_input)} + {_vec(from_state)}')} = {_vec(h)}",
        )
    ]
    moved = int(np.argmax(np.abs(h - h_prev)))
    share = float(np.sum(np.abs(from_input)) / max(np.sum(np.abs(from_input)) + np.sum(np.abs(from_state)), 1e-12))
    summary = (
        f"Input x_t = {_vec(x)}. There are no gates: the new state mixes the input ({share:.0%} of the "
        f"pre-activation's size, bias included) with the old state ({1 - share:.0%}). Unit {moved} changed "
        f"most: {h_prev[moved]:+.3f} → {h[moved]:+.3f}."
    )
    return equations, summary


# Keras layer class name -> what the inside view knows about that cell. Add a cell here.
CELL_KINDS: dict[str, CellKind] = {
    "LSTM": CellKind(
        "lstm", "LSTM", ("hidden", "cell"),
        (("input", "i"), ("forget", "f"), ("candidate", "g"), ("output", "o")),
        _lstm_step, _lstm_explain,
    ),
    "GRU": CellKind(
        "gru", "GRU", ("hidden",), (("update", "z"), ("reset", "r"), ("candidate", "h̃")),
        _gru_step, _gru_explain,
    ),
    "SimpleRNN": CellKind("simple_rnn", "SimpleRNN", ("hidden",), (), _simple_rnn_step, _simple_rnn_explain),
}


# --------------------------------------------------------------------------- tracing a layer


@dataclasses.dataclass
class LayerTrace:
    """One recurrent layer (one direction of a Bidirectional) over a batch, step by step.

    Every array is (samples, timesteps, ·) in the input's time order, also for a layer that
    reads backwards: `hidden[:, t]` is the state right after the layer read x_t. For a
    backward direction that is after reading x_(T-1) … x_t, which is what Bidirectional
    puts at position t of its output.

    Attributes:
        layer: the model layer's name (the Bidirectional's name for both its directions).
        direction: "forward" or "backward".
        cell: a `CELL_KINDS` entry's key: "lstm", "gru" or "simple_rnn".
        inputs: x_t, (samples, timesteps, features).
        states: "hidden" (h_t) and, for an LSTM, "cell" (c_t): (samples, timesteps, units).
        previous: the states each step started from (h_(t-1), c_(t-1)).
        gates: gate name -> (samples, timesteps, units), in `CellKind.gates` order.
        order: the time indices in the order the layer read them.
        return_sequences: whether every h_t leaves the layer, or only the last one read.
        readers: names of the layers that read this layer's output.
        weights: the cell's weights, as used.
    """

    layer: str
    direction: str
    cell: str
    inputs: np.ndarray
    states: dict[str, np.ndarray]
    previous: dict[str, np.ndarray]
    gates: dict[str, np.ndarray]
    order: np.ndarray
    return_sequences: bool
    readers: tuple[str, ...]
    weights: CellWeights

    @property
    def kind(self) -> CellKind:
        return next(kind for kind in CELL_KINDS.values() if kind.key == self.cell)

    @property
    def hidden(self) -> np.ndarray:
        return self.states["hidden"]

    @property
    def cell_state(self) -> np.ndarray | None:
        return self.states.get("cell")

    @property
    def units(self) -> int:
        return self.weights.units

    @property
    def label(self) -> str:
        suffix = f" ({self.direction})" if self.direction != "forward" else ""
        return f"{self.layer}: {self.kind.label}{suffix}"

    def final_states(self) -> dict[str, np.ndarray]:
        """The states after the last step read (what return_state gives): (samples, units) each."""
        last = int(self.order[-1])
        return {name: values[:, last] for name, values in self.states.items()}

    def reaches_next_layer(self) -> np.ndarray:
        """Which time steps' h_t leave the layer: all with return_sequences, else the last one read."""
        mask = np.zeros(len(self.order), dtype=bool)
        if self.return_sequences:
            mask[:] = True
        else:
            mask[int(self.order[-1])] = True
        return mask

    def quantities(self) -> dict[str, np.ndarray]:
        """Everything drawn per unit and step: h, c (LSTM) and each gate, in display order."""
        return {**self.states, **self.gates}


def run_cell(kind: CellKind, weights: CellWeights, inputs: np.ndarray, initial: dict | None = None, backwards=False):
    """Run one cell over inputs (samples, timesteps, features) from zero (or `initial`) states.

    Returns (states, previous, gates, order) as described in `LayerTrace`.
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    samples, timesteps, _ = inputs.shape
    state = {
        name: np.zeros((samples, weights.units)) if initial is None or name not in initial
        else np.asarray(initial[name], dtype=np.float64)
        for name in kind.states
    }
    shape = (samples, timesteps, weights.units)
    states = {name: np.zeros(shape) for name in kind.states}
    previous = {name: np.zeros(shape) for name in kind.states}
    gates = {name: np.zeros(shape) for name, _ in kind.gates}
    order = np.arange(timesteps)[::-1] if backwards else np.arange(timesteps)
    for t in order:
        for name in kind.states:
            previous[name][:, t] = state[name]
        state, step_gates = kind.step(weights, inputs[:, t], state)
        for name in kind.states:
            states[name][:, t] = state[name]
        for name, value in step_gates.items():
            gates[name][:, t] = value
    return states, previous, gates, order.copy()


def _recurrent_parts(layer):
    """[(direction, RNN layer)] for a recurrent layer or a Bidirectional; [] for anything else."""
    inner = getattr(layer, "forward_layer", None)
    if inner is not None:  # Bidirectional
        return [("forward", layer.forward_layer), ("backward", layer.backward_layer)]
    if type(layer).__name__ in CELL_KINDS:
        return [("backward" if layer.go_backwards else "forward", layer)]
    return []


def _flat(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


_submodels: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_submodels_lock = threading.Lock()


def _feeds(model):
    """A sub-model from the model's input to every recurrent layer's inputs (cached per model)."""
    import keras

    with _submodels_lock:
        cached = _submodels.get(model)
    if cached is not None:
        return cached
    recurrent = [layer for layer in model.layers if _recurrent_parts(layer)]
    tensors = []
    for layer in recurrent:
        if len(layer._inbound_nodes) != 1:
            raise ValueError(f"layer {layer.name!r} is called {len(layer._inbound_nodes)} times: trace one call")
        # A layer given initial_state=[...] lists those tensors after its sequence.
        tensors.append(_flat(layer.input))
    flat = [tensor for group in tensors for tensor in group]
    submodel = keras.Model(model.input, flat, name=f"{model.name}_recurrent_inputs")
    cached = (recurrent, [len(group) for group in tensors], submodel)
    with _submodels_lock:
        _submodels[model] = cached
    return cached


def _readers(model, layer) -> tuple[str, ...]:
    outputs = {id(tensor) for tensor in _flat(layer.output)}
    return tuple(
        other.name
        for other in model.layers
        if other is not layer and other._inbound_nodes
        and any(id(tensor) in outputs for tensor in _flat(other.input))
    )


def trace_model(model, X, weights=None) -> list[LayerTrace]:
    """Every recurrent layer of a functional Keras model over the batch X, step by step.

    X is what the model takes, (samples, timesteps, features). Returns one `LayerTrace` per
    recurrent layer in the model's layer order, two (forward, backward) for a Bidirectional.
    The traces are computed in float64 from the model's current weights, or from `weights`:
    arrays in the order of `model.trainable_variables` (a weight snapshot of the run), which
    looks at the model as it was then without building another one.
    """
    recurrent, counts, submodel = _feeds(model)
    X = np.asarray(X, dtype=np.float32)
    values = None
    if weights is None:
        fed = submodel(X, training=False)
    else:
        if len(weights) != len(model.trainable_variables):
            raise ValueError(f"weights has {len(weights)} arrays; the model has "
                             f"{len(model.trainable_variables)} trainable variables")
        values = {id(variable): np.asarray(value) for variable, value in zip(model.trainable_variables, weights)}
        trainable = [values[id(variable)] for variable in submodel.trainable_variables]
        non_trainable = [variable.value for variable in submodel.non_trainable_variables]
        fed, _ = submodel.stateless_call(trainable, non_trainable, X, training=False)
    fed = [np.asarray(keras_value(value), dtype=np.float64) for value in _flat(fed)]
    traces = []
    position = 0
    for layer, count in zip(recurrent, counts):
        sequence, initial = fed[position], fed[position + 1:position + count]
        position += count
        parts = _recurrent_parts(layer)
        readers = _readers(model, layer)
        return_sequences = bool(getattr(layer, "return_sequences", parts[0][1].return_sequences))
        # Initial states given to a Bidirectional are split: the first half forward, the rest backward.
        per_part = len(initial) // len(parts) if initial else 0
        for index, (direction, rnn) in enumerate(parts):
            kind = CELL_KINDS[type(rnn).__name__]
            if getattr(rnn, "stateful", False):
                raise ValueError(f"layer {rnn.name!r} is stateful: its states outlive one batch, trace a stateless copy")
            given = initial[index * per_part:(index + 1) * per_part]
            weights = _cell_weights(rnn.cell, values)
            states, previous, gates, order = run_cell(
                kind, weights, sequence, dict(zip(kind.states, given)) if given else None, backwards=rnn.go_backwards
            )
            traces.append(
                LayerTrace(
                    layer=layer.name, direction=direction, cell=kind.key, inputs=sequence, states=states,
                    previous=previous, gates=gates, order=order, return_sequences=return_sequences,
                    readers=readers, weights=weights,
                )
            )
    return traces


def explain_step(trace: LayerTrace, time_step: int, sample: int = 0) -> StepExplanation:
    """The cell update of `trace` at `time_step` for one sample, its equations filled in."""
    samples, timesteps = trace.inputs.shape[:2]
    if not 0 <= time_step < timesteps:
        raise ValueError(f"time_step={time_step} is outside 0..{timesteps - 1}")
    if not 0 <= sample < samples:
        raise ValueError(f"sample={sample} is outside 0..{samples - 1}")
    kind = trace.kind
    x = trace.inputs[sample, time_step]
    previous = {name: values[sample, time_step] for name, values in trace.previous.items()}
    states = {name: values[sample, time_step] for name, values in trace.states.items()}
    gates = {name: values[sample, time_step] for name, values in trace.gates.items()}
    equations, summary = kind.explain(trace.weights, x, previous, states, gates)
    symbols = dict(kind.gates)
    rows = []
    for unit in range(trace.units):
        row = {"unit": unit}
        for name in kind.states:
            short = "h" if name == "hidden" else "c"
            row[f"{short}_(t-1)"] = float(previous[name][unit])
        for name, value in gates.items():
            row[symbols[name]] = float(value[unit])
        for name in kind.states:
            row["h_t" if name == "hidden" else "c_t"] = float(states[name][unit])
        rows.append(row)
    return StepExplanation(
        layer=trace.layer, direction=trace.direction, cell=trace.cell, sample=sample, time_step=time_step,
        input=x.copy(), equations=equations, summary=summary, units=rows,
    )


# --------------------------------------------------------------------------- one sequence of a run


@dataclasses.dataclass
class InsideView:
    """The inside of a trained model on one sequence: its input and every recurrent layer's trace.

    A sequence is framed as the run's topology frames it. When that gives several samples of
    one time step each (one-to-one), every sample starts from zero states and the positions of
    the sequence are the samples; otherwise it is one sample and the positions are time steps.
    """

    inputs: np.ndarray  # X of the sequence, (samples, timesteps, features)
    layers: list[LayerTrace]

    @property
    def positions_are_samples(self) -> bool:
        return self.inputs.shape[1] == 1 and self.inputs.shape[0] > 1

    @property
    def num_positions(self) -> int:
        return self.inputs.shape[0] if self.positions_are_samples else self.inputs.shape[1]

    @property
    def position_label(self) -> str:
        return "sample (one time step each)" if self.positions_are_samples else "time step"

    def locate(self, position: int) -> tuple[int, int]:
        """(sample, time step) of a position of the sequence."""
        if not 0 <= position < self.num_positions:
            raise ValueError(f"position={position} is outside 0..{self.num_positions - 1}")
        return (position, 0) if self.positions_are_samples else (0, position)

    def input_series(self) -> np.ndarray:
        """The model's input per position, (positions, features)."""
        return self.inputs[:, 0, :] if self.positions_are_samples else self.inputs[0]

    def matrix(self, trace: LayerTrace, quantity: str) -> np.ndarray:
        """One quantity of a layer ("hidden", "cell" or a gate name) as (units, positions)."""
        values = trace.quantities()[quantity]
        return (values[:, 0, :] if self.positions_are_samples else values[0]).T

    def explain(self, layer_index: int, position: int) -> StepExplanation:
        sample, time_step = self.locate(position)
        return explain_step(self.layers[layer_index], time_step, sample)


def look_inside(result, sequence_index: int = 0, split: str = "validation", weights=None) -> InsideView:
    """The inside of `result.model` on one sequence of the run (`result.sequence_inputs`).

    split: "validation" (a held-out sequence the network never trained on) or "train". A task
    without held-out sequences (the echo) is shown on its training sequence.
    weights: a weight snapshot to look at instead of the final weights (see `trace_model`).
    """
    if split == "validation" and not getattr(result, "has_validation", True):
        split = "train"
    X = np.asarray(result.sequence_inputs(sequence_index, split), dtype=np.float32)
    return InsideView(inputs=X, layers=trace_model(result.model, X, weights))
