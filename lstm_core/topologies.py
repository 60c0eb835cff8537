"""The topology registry: how each topology frames a task's sequences and builds its model.

Adding a topology is adding one `Topology` entry to `TOPOLOGIES`: the config validation, the
sidebar, the engine, the comparison page and the tests all read this registry. A task gives
sequences as two (num_sequences, n) arrays, inputs and targets; `Topology.frame` turns them
into the (samples, timesteps, features) X and the y its model is trained on, and
`Topology.build` makes that model with any recurrent cell of `CELLS`. Keras is imported only
inside the build functions, so reading the registry (labels, framing) stays cheap.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import numpy as np


from lstm_core.cells import CELLS


def make_sequence(sequence_length: int) -> np.ndarray:
    """The tutorial's sequence: i / n for i in range(n), as float32 (0.0 0.2 0.4 0.6 0.8 for n=5)."""
    return (np.arange(sequence_length, dtype=np.float64) / sequence_length).astype(np.float32)


class SeededInitializers:
    """Hands out Keras initializers whose seeds follow from one run seed, in a fixed order.

    Seeding every initializer explicitly (instead of seeding Keras globally) makes a
    run's initial weights depend on its config alone, even while other threads build models.
    The initializers are Keras's defaults for the recurrent layers and Dense (Glorot-uniform
    kernels, orthogonal recurrent kernels; biases stay zeros, with the LSTM forget-gate bias at
    one). Each layer draws its seeds when it is made, so the order of the calls in a build
    function is part of the run's definition: the tutorial's models draw kernel, recurrent
    kernel, then the Dense kernel, as they always have.
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

    def recurrent(self, cell_key: str, units: int, name: str | None = None, **kwargs):
        """A recurrent layer of the cell `cell_key` (a key of `CELLS`), named after it by default."""
        kernel = self.glorot_uniform()
        recurrent = self.orthogonal()
        return CELLS[cell_key].layer(units, kernel, recurrent, name=name or cell_key, **kwargs)

    def lstm(self, units: int, **kwargs):
        return self.recurrent("lstm", units, **kwargs)

    def dense(self, units: int, name: str = "dense"):
        import keras

        return keras.layers.Dense(units, kernel_initializer=self.glorot_uniform(), name=name)


@dataclasses.dataclass(frozen=True)
class Topology:
    """One way to frame the sequences and the recurrent network that learns them.

    Attributes:
        key, label, description: the config value, its name on the pages, its layers in a line.
        explanation: what the network sees at each time step and where the output comes from.
        color, glyph: its colour on every chart and an emoji square of that colour (no icon
            font is needed offline).
        default_epochs: the tutorial's epochs for the echo.
        tutorial: whether it is one of the tutorial's three programs.
        samples_per_sequence: how many samples one sequence of length n becomes.
        input_steps: the time steps of one sample, for a sequence of length n.
        recurrent_steps: recurrent cell updates per sample (all layers and directions), for the
            work cap.
        frame: (inputs, targets), each (num_sequences, n) → (X, y), X as (samples, timesteps,
            features). Samples stay in sequence order, so y.reshape(num_sequences, -1) gives
            the targets back (and so do the model's predictions).
        build: (config, SeededInitializers) → keras.Model; uses config.sequence_length,
            config.units and config.cell.
        pads_time: whether sequences may be lengthened at their end, the extra steps left out of
            the loss, without changing anything before them. The engine then compiles the
            topology for a bucket of lengths (lstm_core.engine.LENGTH_BUCKETS); a weight sized by
            n (many-to-one's Dense(n)) gets zero columns for the extra steps, which get no
            gradient and stay zero. Not one-to-one: its length is its number of samples.
        masks_padding: whether a layer reads the whole sequence before its outputs (an encoder, a
            backward direction, the last state feeding Dense(n)): the padded input steps are then
            masked (Keras's RNN layers skip a masked step and keep their state), so they change
            nothing. Causal topologies need no mask: their outputs at the real steps never see
            the padded ones.
    """

    key: str
    label: str
    description: str
    explanation: str
    color: str
    glyph: str
    default_epochs: int
    tutorial: bool
    samples_per_sequence: Callable[[int], int]
    input_steps: Callable[[int], int]
    recurrent_steps: Callable[[int], int]
    frame: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    build: Callable[[object, SeededInitializers], object]
    pads_time: bool = False
    masks_padding: bool = False

    def default_batch_size(self, sequence_length: int) -> int:
        """The tutorial's batch for the echo: one-to-one's 5 samples together, else 1."""
        return self.samples_per_sequence(sequence_length)

    def layer_summary(self, cell_key: str) -> str:
        """The description with the chosen cell's layer name in place of LSTM."""
        return self.description.replace("LSTM", CELLS[cell_key].keras_class)


def _as_float32(array) -> np.ndarray:
    return np.asarray(array, dtype=np.float32)


def _frame_one_to_one(inputs, targets):
    # Every value is a sample of one time step: (N·n, 1, 1) → (N·n, 1).
    return _as_float32(inputs).reshape(-1, 1, 1), _as_float32(targets).reshape(-1, 1)


def _frame_many_to_one(inputs, targets):
    # The sequence in, all n targets out of one vector: (N, n, 1) → (N, n).
    n = inputs.shape[1]
    return _as_float32(inputs).reshape(-1, n, 1), _as_float32(targets).reshape(-1, targets.shape[1])


def _frame_many_to_many(inputs, targets):
    # The sequence in, one target per time step: (N, n, 1) → (N, n, 1).
    n = inputs.shape[1]
    return _as_float32(inputs).reshape(-1, n, 1), _as_float32(targets).reshape(-1, targets.shape[1], 1)


def _frame_one_to_many(inputs, targets):
    # Only the first value in, the whole target sequence out: (N, 1, 1) → (N, n, 1).
    return _as_float32(inputs)[:, :1].reshape(-1, 1, 1), _as_float32(targets).reshape(-1, targets.shape[1], 1)


def _input(timesteps: int):
    import keras

    return keras.Input(shape=(timesteps, 1), name="sequence")


def _time_distributed_dense(init):
    import keras

    return keras.layers.TimeDistributed(init.dense(1), name="time_distributed")


def _build_one_to_one(config, init):
    import keras

    inputs = _input(1)
    hidden = init.recurrent(config.cell, config.units)(inputs)
    return keras.Model(inputs, init.dense(1)(hidden), name="one_to_one")


def _build_many_to_one(config, init):
    import keras

    inputs = _input(config.sequence_length)
    hidden = init.recurrent(config.cell, config.units)(inputs)
    return keras.Model(inputs, init.dense(config.sequence_length)(hidden), name="many_to_one")


def _build_many_to_many(config, init):
    import keras

    inputs = _input(config.sequence_length)
    hidden = init.recurrent(config.cell, config.units, return_sequences=True)(inputs)
    return keras.Model(inputs, _time_distributed_dense(init)(hidden), name="many_to_many")


def _build_many_to_many_dense(config, init):
    import keras

    inputs = _input(config.sequence_length)
    hidden = init.recurrent(config.cell, config.units, return_sequences=True)(inputs)
    # In Keras 3, Dense on a 3-D tensor acts on the last axis: the same as TimeDistributed(Dense).
    return keras.Model(inputs, init.dense(1)(hidden), name="many_to_many_dense")


def _build_stacked(config, init):
    import keras

    inputs = _input(config.sequence_length)
    # The lower layer must return its whole sequence: the upper one needs 3-D input.
    lower = init.recurrent(config.cell, config.units, return_sequences=True)(inputs)
    upper = init.recurrent(config.cell, config.units, name=f"{config.cell}_2", return_sequences=True)(lower)
    return keras.Model(inputs, _time_distributed_dense(init)(upper), name="stacked")


def _encoder_decoder(config, init, inputs, name):
    import keras

    encoded = init.recurrent(config.cell, config.units, name=f"encoder_{config.cell}")(inputs)
    repeated = keras.layers.RepeatVector(config.sequence_length, name="repeat_vector")(encoded)
    decoded = init.recurrent(config.cell, config.units, name=f"decoder_{config.cell}",
                             return_sequences=True)(repeated)
    return keras.Model(inputs, _time_distributed_dense(init)(decoded), name=name)


def _build_encoder_decoder(config, init):
    return _encoder_decoder(config, init, _input(config.sequence_length), "encoder_decoder")


def _build_one_to_many(config, init):
    return _encoder_decoder(config, init, _input(1), "one_to_many")


def _build_bidirectional(config, init):
    import keras

    inputs = _input(config.sequence_length)
    # Each direction gets its own seeded weights (Keras would otherwise copy the forward
    # layer's initializers, seeds included, into the backward one).
    forward = init.recurrent(config.cell, config.units, name=f"forward_{config.cell}", return_sequences=True)
    backward = init.recurrent(config.cell, config.units, name=f"backward_{config.cell}",
                              return_sequences=True, go_backwards=True)
    hidden = keras.layers.Bidirectional(forward, backward_layer=backward, name="bidirectional")(inputs)
    return keras.Model(inputs, _time_distributed_dense(init)(hidden), name="bidirectional")


def _per_value(sequence_length: int) -> int:
    return sequence_length


def _one(sequence_length: int) -> int:
    return 1


def _twice(sequence_length: int) -> int:
    return 2 * sequence_length


def _one_then_all(sequence_length: int) -> int:
    return 1 + sequence_length


TOPOLOGIES: dict[str, Topology] = {
    topology.key: topology
    for topology in (
        Topology(
            key="one_to_one",
            label="One-to-one",
            description="Each value is its own sample of one time step; LSTM(units) → Dense(1).",
            explanation=(
                "The network sees one value, one time step, and outputs one value. The time "
                "dimension has length 1, so the recurrent memory never carries anything across the "
                "sequence: the sequence is gathered outside the network, as a batch of samples."
            ),
            color="#1f77b4", glyph="🟦", default_epochs=1000, tutorial=True,
            samples_per_sequence=_per_value, input_steps=_one, recurrent_steps=_one,
            frame=_frame_one_to_one, build=_build_one_to_one,
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
            color="#ff7f0e", glyph="🟧", default_epochs=500, tutorial=True,
            samples_per_sequence=_one, input_steps=_per_value, recurrent_steps=_per_value,
            frame=_frame_many_to_one, build=_build_many_to_one, pads_time=True,
            masks_padding=True,
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
                "the same weights, to each step's hidden state: one output per time step. It is "
                "causal: the output at step t has seen only the inputs up to t."
            ),
            color="#2ca02c", glyph="🟩", default_epochs=1000, tutorial=True,
            samples_per_sequence=_one, input_steps=_per_value, recurrent_steps=_per_value,
            frame=_frame_many_to_many, build=_build_many_to_many, pads_time=True,
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
            color="#9467bd", glyph="🟪", default_epochs=1000, tutorial=False,
            samples_per_sequence=_one, input_steps=_per_value, recurrent_steps=_per_value,
            frame=_frame_many_to_many, build=_build_many_to_many_dense, pads_time=True,
        ),
        Topology(
            key="stacked",
            label="Stacked (two layers)",
            description=(
                "Two recurrent layers: LSTM(units, return_sequences=True) → "
                "LSTM(units, return_sequences=True) → TimeDistributed(Dense(1))."
            ),
            explanation=(
                "A recurrent layer needs a 3-D input (samples, time steps, features), so the lower "
                "layer must return its whole sequence of hidden states (return_sequences=True) for "
                "the upper one to read. More depth, still causal: step t has seen inputs up to t only."
            ),
            color="#8c564b", glyph="🟫", default_epochs=1000, tutorial=False,
            samples_per_sequence=_one, input_steps=_per_value, recurrent_steps=_twice,
            frame=_frame_many_to_many, build=_build_stacked, pads_time=True,
        ),
        Topology(
            key="encoder_decoder",
            label="Encoder-decoder",
            description=(
                "LSTM(units) → RepeatVector(n) → LSTM(units, return_sequences=True) → "
                "TimeDistributed(Dense(1))."
            ),
            explanation=(
                "The encoder reads the whole sequence into one vector (its last hidden state); "
                "RepeatVector hands that vector to the decoder at each of the n output steps. Every "
                "output is made after the whole input was read, so it can reverse or rearrange it, "
                "as long as the vector is big enough to hold the sequence."
            ),
            color="#e377c2", glyph="🩷", default_epochs=1000, tutorial=False,
            samples_per_sequence=_one, input_steps=_per_value, recurrent_steps=_twice,
            frame=_frame_many_to_many, build=_build_encoder_decoder, pads_time=True,
            masks_padding=True,
        ),
        Topology(
            key="bidirectional",
            label="Bidirectional",
            description=(
                "Bidirectional(LSTM(units, return_sequences=True)) → TimeDistributed(Dense(1))."
            ),
            explanation=(
                "Two recurrent layers read the sequence, one forwards and one backwards; their "
                "hidden states are joined at every step (2 · units features). The output at step t "
                "has seen the whole sequence, the past from one side and the future from the other."
            ),
            color="#17becf", glyph="🩵", default_epochs=1000, tutorial=False,
            samples_per_sequence=_one, input_steps=_per_value, recurrent_steps=_twice,
            frame=_frame_many_to_many, build=_build_bidirectional, pads_time=True,
            masks_padding=True,
        ),
        Topology(
            key="one_to_many",
            label="One-to-many",
            description=(
                "The first value in, the sequence out: LSTM(units) → RepeatVector(n) → "
                "LSTM(units, return_sequences=True) → TimeDistributed(Dense(1))."
            ),
            explanation=(
                "The network sees only the sequence's first value (X has one time step); "
                "RepeatVector feeds what it made of it to a decoder that writes n outputs. It can "
                "learn anything that follows from the first value, and nothing else."
            ),
            color="#bcbd22", glyph="🟨", default_epochs=1000, tutorial=False,
            samples_per_sequence=_one, input_steps=_one, recurrent_steps=_one_then_all,
            frame=_frame_one_to_many, build=_build_one_to_many, pads_time=True,
        ),
    )
}


@functools.lru_cache(maxsize=1024)
def frame_shapes(topology_key: str, sequence_length: int, num_sequences: int = 1) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The shapes of X and y for a topology, sequence length and number of sequences, building nothing."""
    zeros = np.zeros((num_sequences, sequence_length), dtype=np.float32)
    X, y = TOPOLOGIES[topology_key].frame(zeros, zeros)
    return X.shape, y.shape
