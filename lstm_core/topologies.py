"""The topology registry: how each LSTM topology frames the sequence and builds its model.

Adding a topology is adding one `Topology` entry to `TOPOLOGIES`; the config validation, the
sidebar, the engine and the comparison page all read this registry. Keras is imported only
inside the build functions, so reading the registry (labels, framing) stays cheap.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import numpy as np


def make_sequence(sequence_length: int) -> np.ndarray:
    """The tutorial's sequence: i / n for i in range(n), as float32 (0.0 0.2 0.4 0.6 0.8 for n=5)."""
    return (np.arange(sequence_length, dtype=np.float64) / sequence_length).astype(np.float32)


class SeededInitializers:
    """Hands out Keras initializers whose seeds follow from one run seed, in a fixed order.

    Seeding every initializer explicitly (instead of seeding Keras globally) makes a
    run's initial weights depend on its config alone, even while other threads build models.
    The initializers are Keras's defaults for LSTM and Dense (Glorot-uniform kernels,
    orthogonal recurrent kernels; biases stay zeros, with the LSTM forget-gate bias at one).
    """

    def __init__(self, seed: int):
        self._seed = seed
        self._count = 0

    def _next_seed(self) -> int:
        self._count += 1
        # A fixed, well-spread mapping from (run seed, draw number) to a 31-bit seed.
        return (self._seed * 1_000_003 + self._count * 7_919) % (2**31 - 1)

    def glorot_uniform(self):
        import keras

        return keras.initializers.GlorotUniform(seed=self._next_seed())

    def orthogonal(self):
        import keras

        return keras.initializers.Orthogonal(seed=self._next_seed())

    def lstm(self, units: int, **kwargs):
        import keras

        return keras.layers.LSTM(
            units,
            kernel_initializer=self.glorot_uniform(),
            recurrent_initializer=self.orthogonal(),
            name="lstm",
            **kwargs,
        )

    def dense(self, units: int, name: str = "dense"):
        import keras

        return keras.layers.Dense(units, kernel_initializer=self.glorot_uniform(), name=name)


@dataclasses.dataclass(frozen=True)
class Topology:
    """One way to frame the sequence and the LSTM network that learns it."""

    key: str
    label: str
    description: str
    # What the network sees at each time step, for the comparison page.
    explanation: str
    default_epochs: int
    # Default batch size for a sequence of length n (the tutorial's n_batch).
    default_batch_size: Callable[[int], int]
    # sequence -> (X, y) with X as (samples, timesteps, features).
    frame: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    # (timesteps, sequence_length, units, initializers) -> keras.Model
    build: Callable[[int, int, int, SeededInitializers], object]
    color: str


def _frame_one_to_one(seq: np.ndarray):
    n = len(seq)
    return seq.reshape(n, 1, 1), seq.reshape(n, 1)


def _frame_many_to_one(seq: np.ndarray):
    n = len(seq)
    return seq.reshape(1, n, 1), seq.reshape(1, n)


def _frame_many_to_many(seq: np.ndarray):
    n = len(seq)
    return seq.reshape(1, n, 1), seq.reshape(1, n, 1)


def _build_one_to_one(timesteps, sequence_length, units, init):
    import keras

    inputs = keras.Input(shape=(timesteps, 1), name="sequence")
    hidden = init.lstm(units)(inputs)
    outputs = init.dense(1)(hidden)
    return keras.Model(inputs, outputs, name="one_to_one")


def _build_many_to_one(timesteps, sequence_length, units, init):
    import keras

    inputs = keras.Input(shape=(timesteps, 1), name="sequence")
    hidden = init.lstm(units)(inputs)
    outputs = init.dense(sequence_length)(hidden)
    return keras.Model(inputs, outputs, name="many_to_one")


def _build_many_to_many(timesteps, sequence_length, units, init):
    import keras

    inputs = keras.Input(shape=(timesteps, 1), name="sequence")
    hidden = init.lstm(units, return_sequences=True)(inputs)
    outputs = keras.layers.TimeDistributed(init.dense(1), name="time_distributed")(hidden)
    return keras.Model(inputs, outputs, name="many_to_many")


def _build_many_to_many_dense(timesteps, sequence_length, units, init):
    import keras

    inputs = keras.Input(shape=(timesteps, 1), name="sequence")
    hidden = init.lstm(units, return_sequences=True)(inputs)
    # In Keras 3, Dense on a 3-D tensor acts on the last axis: the same as TimeDistributed(Dense).
    outputs = init.dense(1)(hidden)
    return keras.Model(inputs, outputs, name="many_to_many_dense")


def _whole_sequence(sequence_length: int) -> int:
    return sequence_length


def _one(sequence_length: int) -> int:
    return 1


TOPOLOGIES: dict[str, Topology] = {
    topology.key: topology
    for topology in (
        Topology(
            key="one_to_one",
            label="One-to-one",
            description="Each value is its own sample of one time step; LSTM(units) → Dense(1).",
            explanation=(
                "The network sees one value, one time step, and outputs one value. The time "
                "dimension has length 1, so the LSTM's memory never carries anything across the "
                "sequence: the sequence is gathered outside the network, as a batch of samples."
            ),
            default_epochs=1000,
            default_batch_size=_whole_sequence,
            frame=_frame_one_to_one,
            build=_build_one_to_one,
            color="#1f77b4",
        ),
        Topology(
            key="many_to_one",
            label="Many-to-one",
            description="The whole sequence in, one vector of n values out; LSTM(units) → Dense(n).",
            explanation=(
                "The network reads the whole sequence, one value per time step, and only its last "
                "hidden state reaches the output: the time dimension is thrown away there, and "
                "Dense(n) has to produce all n values from that single vector."
            ),
            default_epochs=500,
            default_batch_size=_one,
            frame=_frame_many_to_one,
            build=_build_many_to_one,
            color="#ff7f0e",
        ),
        Topology(
            key="many_to_many",
            label="Many-to-many (TimeDistributed)",
            description=(
                "The sequence in, one output per time step; "
                "LSTM(units, return_sequences=True) → TimeDistributed(Dense(1))."
            ),
            explanation=(
                "The network reads one value per time step and, with return_sequences=True, emits "
                "a hidden state at every step. TimeDistributed applies the same Dense(1), with "
                "the same 6 weights, to each step's hidden state: one output per time step."
            ),
            default_epochs=1000,
            default_batch_size=_one,
            frame=_frame_many_to_many,
            build=_build_many_to_many,
            color="#2ca02c",
        ),
        Topology(
            key="many_to_many_dense",
            label="Many-to-many (plain Dense)",
            description=(
                "As many-to-many, with a plain Dense(1) after return_sequences=True: "
                "in Keras 3 it acts on the last axis, exactly like TimeDistributed(Dense(1))."
            ),
            explanation=(
                "The same network as the TimeDistributed one. Keras 3's Dense works on the last "
                "axis of a 3-D tensor, so it is applied to each time step's hidden state with "
                "shared weights: same parameters, and on the same weights the same outputs."
            ),
            default_epochs=1000,
            default_batch_size=_one,
            frame=_frame_many_to_many,
            build=_build_many_to_many_dense,
            color="#9467bd",
        ),
    )
}


@functools.lru_cache(maxsize=1024)
def frame_shapes(topology_key: str, sequence_length: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The shapes of X and y for a topology at a sequence length, without building anything."""
    X, y = TOPOLOGIES[topology_key].frame(make_sequence(sequence_length))
    return X.shape, y.shape
