"""Building a topology's Keras model with weights seeded from the config, and describing it."""

from __future__ import annotations

import functools

from lstm_core import backend
from lstm_core.cells import CELLS
from lstm_core.config import ExperimentConfig
from lstm_core.topologies import TOPOLOGIES, SeededInitializers


def build_model(config: ExperimentConfig):
    """A new `keras.Model` for the config, its initial weights decided by `config.seed` alone."""
    backend.load()
    return TOPOLOGIES[config.topology].build(config, SeededInitializers(config.seed))


def lstm_param_count(units: int, features: int = 1) -> int:
    """4 · units · (features + units + 1): four gates, each with input, recurrent and bias weights."""
    return CELLS["lstm"].param_count(units, features)


def _formula(layer, features: int | None = None) -> str:
    """A layer's parameter count as a formula with its numbers, from the cell registry or Dense's rule.

    `features` is what the layer reads per step (by default, the last axis of its input).
    """
    kind = type(layer).__name__
    if layer.count_params() == 0:
        return "no weights"
    features = int(layer.input.shape[-1]) if features is None else features
    cells = {cell.keras_class: cell for cell in CELLS.values()}
    if kind in cells:
        return cells[kind].formula(layer.units, features)
    if kind == "Bidirectional":
        inner = cells[type(layer.forward_layer).__name__]
        per_direction = inner.param_count(layer.forward_layer.units, features)
        return f"2 directions × ({inner.formula(layer.forward_layer.units, features)}) = {2 * per_direction}"
    if kind == "TimeDistributed":
        return f"{_formula(layer.layer, features)}, the same weights at every time step"
    if kind == "Dense":
        return f"outputs · (inputs + 1) = {layer.units} · ({features} + 1) = {layer.units * (features + 1)}"
    return ""


@functools.lru_cache(maxsize=64)
def _summary_rows(config: ExperimentConfig) -> tuple[tuple[str, str, str, int, str], ...]:
    model = build_model(config)
    rows = []
    for layer in model.layers:
        shape = tuple(layer.output.shape)
        rows.append((layer.name, type(layer).__name__, str(shape).replace("None", "batch"),
                     layer.count_params(), _formula(layer)))
    return tuple(rows)


def describe_model(config: ExperimentConfig) -> dict:
    """The model summary as data: each layer's output shape, parameters and parameter formula."""
    # The summary depends on the architecture only: one cache entry serves every seed and budget.
    key = ExperimentConfig(task="echo", topology=config.topology, cell=config.cell,
                           sequence_length=config.sequence_length, units=config.units, epochs=1)
    rows = _summary_rows(key)
    cell = CELLS[config.cell]
    first_recurrent = cell.formula(config.units, 1)
    return {
        "layers": [
            {"layer": name, "type": kind, "output shape": shape, "parameters": params, "formula": formula}
            for name, kind, shape, params, formula in rows
        ],
        "total_parameters": sum(row[3] for row in rows),
        "recurrent_parameters": cell.param_count(config.units, 1),
        "recurrent_formula": first_recurrent,
        # The first recurrent layer's formula (reads one feature per step); kept under its old name.
        "lstm_formula": first_recurrent,
        "lstm_parameters": cell.param_count(config.units, 1),
    }
