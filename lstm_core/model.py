"""Building a topology's Keras model with weights seeded from the config, and describing it."""

from __future__ import annotations

import functools

from lstm_core import backend
from lstm_core.config import ExperimentConfig
from lstm_core.topologies import TOPOLOGIES, SeededInitializers


def build_model(config: ExperimentConfig):
    """A new `keras.Model` for the config, its initial weights decided by `config.seed` alone."""
    backend.load()
    topology = TOPOLOGIES[config.topology]
    return topology.build(
        config.timesteps, config.sequence_length, config.units, SeededInitializers(config.seed)
    )


def lstm_param_count(units: int, features: int = 1) -> int:
    """4 · units · (units + features + 1): four gates, each with input, recurrent and bias weights."""
    return 4 * units * (units + features + 1)


@functools.lru_cache(maxsize=64)
def _summary_rows(topology: str, sequence_length: int, units: int) -> tuple[tuple[str, str, str, int], ...]:
    # epochs=1: the summary does not depend on them, and any length and units must be allowed.
    model = build_model(ExperimentConfig(topology=topology, sequence_length=sequence_length, units=units, epochs=1))
    rows = []
    for layer in model.layers:
        shape = tuple(layer.output.shape)
        rows.append((layer.name, type(layer).__name__, str(shape).replace("None", "batch"), layer.count_params()))
    return tuple(rows)


def describe_model(config: ExperimentConfig) -> dict:
    """The model summary as data: each layer's output shape and parameters, and the LSTM formula."""
    rows = _summary_rows(config.topology, config.sequence_length, config.units)
    features = 1
    units = config.units
    return {
        "layers": [
            {"layer": name, "type": kind, "output shape": shape, "parameters": params}
            for name, kind, shape, params in rows
        ],
        "total_parameters": sum(row[3] for row in rows),
        "lstm_parameters": lstm_param_count(units, features),
        "lstm_formula": (
            f"4 · units · (units + features + 1) = 4 · {units} · ({units} + {features} + 1) "
            f"= {lstm_param_count(units, features)}"
        ),
    }
