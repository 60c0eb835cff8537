"""Framing the sequence as (samples, timesteps, features) input and its targets."""

from __future__ import annotations

import numpy as np

from lstm_core.config import ExperimentConfig
from lstm_core.topologies import TOPOLOGIES, make_sequence


def frame(config: ExperimentConfig) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) as float32 arrays with the tutorial's shapes for `config.topology`.

    one_to_one: X (n, 1, 1), y (n, 1); many_to_one: X (1, n, 1), y (1, n);
    many_to_many: X (1, n, 1), y (1, n, 1). Flattening y gives the sequence in order.
    """
    return TOPOLOGIES[config.topology].frame(make_sequence(config.sequence_length))


def framing_rows(config: ExperimentConfig) -> list[dict[str, str]]:
    """One row per sample: what goes in (a time step per value) and what should come out."""
    X, y = frame(config)
    rows = []
    for index in range(X.shape[0]):
        rows.append(
            {
                "sample": str(index),
                "input X (time steps)": "  ".join(f"{value:.2f}" for value in X[index].reshape(-1)),
                "target y": "  ".join(f"{value:.2f}" for value in y[index].reshape(-1)),
            }
        )
    return rows
