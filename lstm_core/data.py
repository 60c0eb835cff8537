"""Framing a task's sequences as (samples, timesteps, features) input and its targets."""

from __future__ import annotations

import dataclasses

import numpy as np

from lstm_core.config import ExperimentConfig
from lstm_core.tasks import TaskData, make_data
from lstm_core.topologies import TOPOLOGIES


@dataclasses.dataclass(frozen=True)
class FramedData:
    """A run's data as the network sees it: X and y for training and for validation."""

    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    sequences: TaskData

    @property
    def has_validation(self) -> bool:
        return len(self.X_val) > 0


def frame_data(config: ExperimentConfig) -> FramedData:
    """The config's task data, framed for its topology (float32)."""
    sequences = make_data(config)
    topology = TOPOLOGIES[config.topology]
    X, y = topology.frame(sequences.train_inputs, sequences.train_targets)
    if sequences.has_validation:
        X_val, y_val = topology.frame(sequences.val_inputs, sequences.val_targets)
    else:
        X_val = np.zeros((0, *X.shape[1:]), np.float32)
        y_val = np.zeros((0, *y.shape[1:]), np.float32)
    return FramedData(X, y, X_val, y_val, sequences)


def frame(config: ExperimentConfig) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of the training data as float32 arrays with the topology's shapes.

    For the echo, the tutorial's: one_to_one X (n, 1, 1), y (n, 1); many_to_one X (1, n, 1),
    y (1, n); many_to_many X (1, n, 1), y (1, n, 1). Flattening y gives the sequences in order.
    """
    sequences = make_data(config)
    return TOPOLOGIES[config.topology].frame(sequences.train_inputs, sequences.train_targets)


def framing_rows(config: ExperimentConfig, max_rows: int = 8) -> list[dict[str, str]]:
    """The first samples of the training data: what goes in (a time step per value) and what
    should come out, at most `max_rows` rows."""
    X, y = frame(config)
    rows = []
    for index in range(min(X.shape[0], max_rows)):
        rows.append(
            {
                "sample": str(index),
                "input X (time steps)": "  ".join(f"{value:.2f}" for value in X[index].reshape(-1)),
                "target y": "  ".join(f"{value:.2f}" for value in y[index].reshape(-1)),
            }
        )
    return rows
