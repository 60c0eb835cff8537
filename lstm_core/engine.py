"""The training engine: compiled multi-epoch chunks behind a Keras-style callback contract.

`model.fit` spends ~40 ms of overhead per epoch on these tiny models. Here one XLA-compiled
function runs a chunk of up to `MAX_CHUNK` epochs inside the graph (forward, gradients, Adam,
seeded mini-batch shuffling) and returns every epoch's loss, so callbacks still get one
`on_epoch_end` per epoch, in order, with the exact loss (and, for tasks with held-out
sequences, the validation loss after that epoch's updates, as `fit(validation_data=...)` logs
it). The function is *stateless*: weights, optimizer state and the data go in and come out as
tensors, so one compiled function per shape serves every run, task, seed and thread at once,
and nothing is compiled per click.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
import os
import threading
import time
from typing import Sequence

import numpy as np

from lstm_core import backend
from lstm_core.config import FIELDS, ExperimentConfig
from lstm_core.data import FramedData, frame_data
from lstm_core.model import build_model
from lstm_core.topologies import TOPOLOGIES, frame_shapes

# Epochs one compiled call can run; the losses buffer has this static size (XLA needs one).
MAX_CHUNK = 1024
# The first chunk is small, so the first loss reaches the page at once; later chunks are
# sized from the measured speed to take about TARGET_CHUNK_SECONDS, so the page can redraw
# ~10 times a second and a Stop is answered within a fraction of a second.
FIRST_CHUNK = 16
TARGET_CHUNK_SECONDS = 0.05
# Compiled shapes kept (least recently used dropped first). Dropping one frees nothing of its
# XLA program (see MAX_MAP_SHARE), and compiling it again costs another ~220 memory mappings
# and its memory: a small cache made a long test process, or a busy server, recompile and leak
# until it crashed. So every shape stays; MAX_MAP_SHARE is what bounds how many there are.
MAX_CACHED_SHAPES = 512
# A shape is compiled for the smallest of these widths that holds its units; the extra units
# are zero and stay zero (see `_pad`), so units 6, 7 and 8 share one compiled function:
# exploring units costs no compile within a bucket. Padding is not free (5 units run 8 wide
# took twice as long per epoch), so the tutorial's 5 and the tasks' 16 are buckets of their own.
UNIT_BUCKETS = (2, 4, 5, 8, 12, 16, 24, 32, 48, 64)
# Likewise the sequence length, for the topologies that allow it (Topology.pads_time: all but
# one-to-one): their sequences are padded at the end to the smallest of these that holds them,
# the extra steps left out of the loss (and masked where a layer reads the whole sequence first:
# Topology.masks_padding), so lengths 7 and 8 share one compiled function. The
# tutorial's 5 and the tasks' 6 and 10 are buckets of their own (no padding, no extra cost);
# above 8 a padded run does at most a third more steps.
LENGTH_BUCKETS = (2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 50)

# XLA never frees a compiled program, and each keeps ~100-250 of the process's memory mappings
# here (its code in pieces; benchmarks/bench_memory.py): past Linux's vm.max_map_count (65,530 by
# default) the next compile or run crashes the whole server (a segmentation fault, seen after
# ~270 shapes in one test process). Beyond this share of the limit, new shapes are refused with
# a message instead; the shapes already compiled still train.
MAX_MAP_SHARE = 0.85

# Weight snapshots kept per run, spread over its epochs, for replaying how it learned; fewer
# when the model is big, so that one result never holds more than SNAPSHOT_FLOATS numbers.
MAX_SNAPSHOTS = 50
SNAPSHOT_FLOATS = 2_000_000
SNAPSHOT_SLOTS = MAX_SNAPSHOTS + 1  # per compiled chunk: the snapshots, and a spare slot
# The snapshots of the calling thread's last chunk (compiled functions are shared by threads).
_snapshots = threading.local()

# Keras's Adam defaults; the update below is written exactly as keras.optimizers.Adam's.
BETA_1 = 0.9
BETA_2 = 0.999
EPSILON = 1e-7

# Compiled chunks running at once, at most: one per core. Many sessions calling into
# TensorFlow together on two cores spent their time spinning in its thread pools (32 at once
# took minutes, almost all system time); queued, each waits at most a few short chunks.
_execution_slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))

# Why a run ended early (TrainingResult.stop_reason): defined once, with the rest of what the
# pages say about a run, in lstm_core.diagnosis.
from lstm_core.diagnosis import NON_FINITE_LOSS, STOPPED  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The trainable weights after `epoch` epochs (0: the initial weights), as NumPy arrays."""

    epoch: int
    weights: tuple


def snapshot_epochs(epochs: int, num_params: int) -> list[int]:
    """The epochs at which a run keeps its weights: 0, the last, and evenly spread between."""
    count = max(2, min(MAX_SNAPSHOTS, SNAPSHOT_FLOATS // max(num_params, 1)))
    return sorted({int(round(value)) for value in np.linspace(0, epochs, min(count, epochs + 1))})


@dataclasses.dataclass
class TrainingResult:
    """What one run produced.

    Attributes:
        config: the run's settings.
        losses: one training loss per completed epoch.
        targets, predictions: the training targets and the final predictions, flat, in
            sequence order (for the echo: the tutorial's sequence and its echo).
        model: the trained `keras.Model`.
        seconds: wall time of `train`, compile included when the shape was new.
        stop_reason: None when all epochs ran; STOPPED when a callback set
            `model.stop_training`; NON_FINITE_LOSS when the loss became NaN or infinite
            (the model then holds the last weights that gave a finite loss).
        val_losses: one validation MSE per completed epoch on the held-out sequences (empty
            for tasks without them).
        val_targets, val_predictions: the held-out targets and final predictions, flat.
        data: the run's framed data (training and validation X, y and the raw sequences).
        compile_seconds: the part of `seconds` spent compiling the shape (or waiting for it).
        snapshots: the weights at up to MAX_SNAPSHOTS epochs spread over the run (epoch 0 and
            the last completed epoch included), for replaying how it learned.
    """

    config: ExperimentConfig
    losses: np.ndarray
    targets: np.ndarray
    predictions: np.ndarray
    model: object
    seconds: float
    stop_reason: str | None = None
    val_losses: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0, np.float32))
    val_targets: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0, np.float32))
    val_predictions: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0, np.float32))
    data: FramedData | None = None
    compile_seconds: float = 0.0
    snapshots: tuple = ()

    @property
    def epochs_completed(self) -> int:
        return len(self.losses)

    @property
    def train_seconds(self) -> float:
        """Wall time without the compile: building the model, training and predicting."""
        return max(self.seconds - self.compile_seconds, 0.0)

    @property
    def final_mse(self) -> float:
        """The training MSE of the final predictions."""
        return float(np.mean((self.predictions - self.targets) ** 2))

    @property
    def max_abs_error(self) -> float:
        return float(np.max(np.abs(self.predictions - self.targets)))

    @property
    def has_validation(self) -> bool:
        return len(self.val_targets) > 0

    @property
    def val_mse(self) -> float | None:
        """The validation MSE of the final predictions on the held-out sequences (None without them)."""
        if not self.has_validation:
            return None
        return float(np.mean((self.val_predictions - self.val_targets) ** 2))

    @property
    def score(self) -> float:
        """What decides whether the task is solved: the validation MSE, else the training MSE."""
        return self.val_mse if self.has_validation else self.final_mse

    @property
    def solved(self) -> bool:
        """Whether the score is below the task's `solved_below` (never for a NaN score)."""
        return bool(np.isfinite(self.score) and self.score < self.config.solved_below)

    def num_sequences(self, split: str = "train") -> int:
        return len(self._sequences(split)[0])

    def sequence(self, index: int, split: str = "train") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(inputs, targets, predictions) of one sequence, each of length n, in order."""
        inputs, targets = self._sequences(split)
        predictions = self.predictions if split == "train" else self.val_predictions
        n = targets.shape[1]
        return inputs[index], targets[index], predictions.reshape(-1, n)[index]

    def sequence_inputs(self, index: int, split: str = "train") -> np.ndarray:
        """The X samples of one sequence, framed for the topology (one-to-one: n samples of one step)."""
        inputs, targets = self._sequences(split)
        X, _ = TOPOLOGIES[self.config.topology].frame(inputs[index:index + 1], targets[index:index + 1])
        return X

    def predictions_at(self, snapshot: Snapshot, split: str = "train") -> np.ndarray:
        """The predictions (flat) the weights of a snapshot give, on the training or validation inputs."""
        compiled = _compiled_for(self.config)
        data = compiled.tensors(self.data)  # padded as in training, where time is padded
        state = _State(compiled.pad(snapshot.weights, self.config.units), [], [], None, snapshot.epoch)
        return compiled.predict(state, data.X if split == "train" else data.X_val, data.steps)

    def model_at(self, snapshot: Snapshot):
        """A new Keras model holding the weights of a snapshot (for looking inside at that epoch)."""
        model = build_model(self.config)
        for variable, value in zip(model.trainable_variables, snapshot.weights):
            variable.assign(value)
        return model

    def _sequences(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        if split not in ("train", "validation"):
            raise ValueError(f"split={split!r}: allowed 'train' or 'validation'")
        sequences = self.data.sequences
        if split == "train":
            return sequences.train_inputs, sequences.train_targets
        return sequences.val_inputs, sequences.val_targets


@dataclasses.dataclass
class _State:
    """Weights and Adam state after `epochs_done` epochs: everything needed to continue exactly."""

    params: list  # padded to the compiled width (see `_pad`)
    moments: list
    velocities: list
    iterations: object  # float32 scalar tensor: Adam steps taken
    epochs_done: int
    units: int = 0  # the run's own units and weight shapes, for taking its weights back out
    shapes: tuple = ()
    time_axes: tuple = ()  # per weight, its axes of output steps (padded to the length bucket)


def padded_units(units: int) -> int:
    """The width a config's recurrent layers are compiled at: its bucket of UNIT_BUCKETS."""
    return next((bucket for bucket in UNIT_BUCKETS if bucket >= units), units)


def padded_length(config: ExperimentConfig) -> int:
    """The time steps a config's sequences are compiled at: its bucket of LENGTH_BUCKETS where
    its topology allows padding at the end (`Topology.pads_time`), else its own length."""
    length = config.sequence_length
    if not TOPOLOGIES[config.topology].pads_time:
        return length
    return next((bucket for bucket in LENGTH_BUCKETS if bucket >= length), length)


def compiled_key(config: ExperimentConfig) -> tuple:
    """What decides the compiled function: the config's shape, with its units and (where the
    topology allows it) its length bucketed."""
    key = config.shape_key
    return (*key[:2], padded_length(config), padded_units(config.units), *key[4:])


def _pad_steps(array: np.ndarray, steps: int, length: int) -> np.ndarray:
    """`array` (samples, steps, ...) with zeros appended on the time axis up to `length` steps."""
    widths = [(0, 0)] * array.ndim
    widths[1] = (0, length - steps)
    return np.pad(array, widths)


def _pad(value: np.ndarray, padded_shape: tuple, units: int, width: int) -> np.ndarray:
    """A weight of a `units`-wide model placed in its `width`-wide model's weight, zeros elsewhere.

    Every axis that differs between the two shapes holds k blocks of `units` (an LSTM's four
    gates, a GRU's three, Bidirectional's two directions, or one): each block is padded on its
    own, so every gate of every real unit keeps its place. A padded unit has zero weights, so
    its gates see 0, its candidate is tanh(0) = 0, its state stays 0 and so does its output;
    and since everything it sends on is multiplied by zero weights, every gradient it gets is
    exactly 0 and Adam leaves it at 0. The real units compute what they would alone (sums with
    extra exact zeros: equal to float rounding, as the tests against model.fit check).
    """
    value = np.asarray(value)
    for axis, (size, padded) in enumerate(zip(value.shape, padded_shape)):
        if size != padded:
            blocks = np.split(value, size // units, axis=axis)
            widths = [(0, 0)] * value.ndim
            widths[axis] = (0, width - units)
            value = np.concatenate([np.pad(block, widths) for block in blocks], axis=axis)
    return value


def _unpad(value: np.ndarray, shape: tuple, units: int, width: int) -> np.ndarray:
    """The inverse of `_pad`: the real units' weights out of a padded weight."""
    value = np.asarray(value)
    for axis, (size, padded) in enumerate(zip(shape, value.shape)):
        if size != padded:
            blocks = np.split(value, padded // width, axis=axis)
            value = np.concatenate([np.take(block, np.arange(units), axis=axis) for block in blocks], axis=axis)
    return value


class _CompiledShape:
    """The compiled chunk and predict functions for one shape (see `compiled_key`)."""

    def __init__(self, config: ExperimentConfig):
        backend.load()
        import tensorflow as tf

        self.width = padded_units(config.units)
        self.length = padded_length(config)
        self.topology = TOPOLOGIES[config.topology]
        pads_time = self.topology.pads_time
        masked = self.topology.masks_padding
        # The function is traced on a model `width` units wide and `length` steps long (the
        # layers are all it takes from this config; epochs=1 keeps it inside the work cap).
        def architecture(length: int):
            return build_model(ExperimentConfig(topology=config.topology, cell=config.cell, sequence_length=length,
                                                units=self.width, epochs=1))

        self.template = architecture(self.length)
        self.padded_shapes = [tuple(v.shape) for v in self.template.trainable_variables]
        # The axes of output steps (many-to-one's Dense(n)): those that change with the length,
        # found on a template one step longer (built only when some weight could have one).
        self.time_axes = tuple(() for _ in self.padded_shapes)
        if pads_time and any(self.length in shape for shape in self.padded_shapes):
            other = self.length + 1 if self.length < FIELDS["sequence_length"].maximum else self.length - 1
            self.time_axes = tuple(
                tuple(axis for axis, (a, b) in enumerate(zip(shape, variable.shape)) if a != b)
                for shape, variable in zip(self.padded_shapes, architecture(other).trainable_variables))
        self.y_dims = len(frame_shapes(config.topology, self.length)[1])
        num_samples = config.num_samples
        batch_size = config.batch_size
        self.has_validation = config.num_val_samples > 0
        has_validation = self.has_validation
        steps = math.ceil(num_samples / batch_size)
        padding = steps * batch_size - num_samples
        y_elements = int(np.prod(frame_shapes(config.topology, self.length)[1][1:]))  # per sample, padded
        non_trainable = [tf.convert_to_tensor(v.numpy()) for v in self.template.non_trainable_variables]
        template = self.template

        def forward(params, x, time_weights, training):
            if not masked:
                predictions, _ = template.stateless_call(params, non_trainable, x, training=training)
                return predictions
            # Every sample has the same real steps: the mask is the time weights' row, per sample.
            mask = tf.broadcast_to(tf.reshape(time_weights, [1, self.length]) > 0, [tf.shape(x)[0], self.length])
            predictions, _ = template.stateless_call(params, non_trainable, x, training=training, mask=mask)
            return predictions

        def squared_errors(predictions, targets, time_weights):
            squared = tf.square(predictions - targets)
            # Padded steps (zeros) are left out; real ones are multiplied by exactly 1.
            return squared * time_weights if pads_time else squared

        def real_steps_mean(loss, time_scale):
            # The mean over the padded steps, made the mean over the real ones: times
            # length / real steps, exactly 1 (so exactly the unpadded mean) when nothing is padded.
            return loss * time_scale if pads_time else loss

        def loss_and_grads(params, x_batch, y_batch, weights, count, time_weights, time_scale):
            with tf.GradientTape() as tape:
                tape.watch(params)
                predictions = forward(params, x_batch, time_weights, training=True)
                squared = squared_errors(predictions, y_batch, time_weights)
                if weights is None:
                    loss = tf.reduce_mean(squared)
                else:
                    squared = tf.reshape(squared, [batch_size, -1])
                    per_sample = tf.reduce_sum(squared, axis=1) / y_elements
                    loss = tf.reduce_sum(per_sample * weights) / count
                loss = real_steps_mean(loss, time_scale)
            return loss, tape.gradient(loss, params)

        def adam(params, grads, moments, velocities, iterations, learning_rate):
            # Written out because Keras 3.15's optimizer.stateless_apply raises on the TensorFlow
            # backend; the test against model.fit guards that this stays Keras's Adam exactly.
            iterations = iterations + 1.0
            alpha = learning_rate * tf.sqrt(1.0 - tf.pow(BETA_2, iterations)) / (1.0 - tf.pow(BETA_1, iterations))
            new_params, new_moments, new_velocities = [], [], []
            for param, grad, moment, velocity in zip(params, grads, moments, velocities):
                moment = moment + (grad - moment) * (1.0 - BETA_1)
                velocity = velocity + (tf.square(grad) - velocity) * (1.0 - BETA_2)
                new_params.append(param - (moment * alpha) / (tf.sqrt(velocity) + EPSILON))
                new_moments.append(moment)
                new_velocities.append(velocity)
            return new_params, new_moments, new_velocities, iterations

        def validation_loss(params, X_val, y_val, time_weights, time_scale):
            if not has_validation:
                return tf.constant(0.0)
            predictions = forward(params, X_val, time_weights, training=False)
            return real_steps_mean(tf.reduce_mean(squared_errors(predictions, y_val, time_weights)), time_scale)

        def one_epoch(epoch, params, moments, velocities, iterations, learning_rate, seed, X, y, time_weights,
                      time_scale):
            """One epoch; returns the new state and the epoch's loss as `fit` logs it."""
            if steps == 1 and padding == 0:
                # Full batch: the order of samples cannot matter, so no shuffle is needed.
                loss, grads = loss_and_grads(params, X, y, None, None, time_weights, time_scale)
                return (*adam(params, grads, moments, velocities, iterations, learning_rate), loss)
            order = tf.argsort(tf.random.stateless_uniform([num_samples], seed=tf.stack([seed, epoch])))
            order = tf.reshape(tf.concat([order, tf.zeros([padding], tf.int32)], 0), [steps, batch_size])
            mask = tf.reshape(tf.concat([tf.ones([num_samples]), tf.zeros([padding])], 0), [steps, batch_size])

            def step(index, params, moments, velocities, iterations, total):
                batch_order = order[index]
                weights = mask[index]
                count = tf.reduce_sum(weights)
                loss, grads = loss_and_grads(
                    params, tf.gather(X, batch_order), tf.gather(y, batch_order), weights, count, time_weights,
                    time_scale
                )
                params, moments, velocities, iterations = adam(
                    params, grads, moments, velocities, iterations, learning_rate
                )
                # `fit` logs the mean of the batch losses weighted by the batch sizes.
                return index + 1, params, moments, velocities, iterations, total + loss * count

            _, params, moments, velocities, iterations, total = tf.while_loop(
                lambda index, *rest: index < steps,
                step,
                (tf.constant(0), params, moments, velocities, iterations, tf.constant(0.0)),
            )
            return params, moments, velocities, iterations, total / num_samples

        @tf.function(jit_compile=True)
        def run_chunk(params, moments, velocities, iterations, learning_rate, seed, first_epoch, num_epochs,
                      X, y, X_val, y_val, time_weights, time_scale, snapshot_mask):
            losses = tf.TensorArray(tf.float32, size=MAX_CHUNK)
            val_losses = tf.TensorArray(tf.float32, size=MAX_CHUNK)
            # Weight snapshots taken inside the graph, so that keeping them costs no extra call:
            # every epoch writes the weights into slot `taken`, which moves on only after an
            # epoch marked in `snapshot_mask` (the spare last slot takes the other writes).
            snapshots = [tf.zeros([SNAPSHOT_SLOTS, *param.shape]) for param in params]

            def body(index, params, moments, velocities, iterations, losses, val_losses, snapshots, taken):
                params, moments, velocities, iterations, loss = one_epoch(
                    first_epoch + index, params, moments, velocities, iterations, learning_rate, seed, X, y,
                    time_weights, time_scale
                )
                # As fit(validation_data=...): the held-out loss after this epoch's updates.
                val_loss = validation_loss(params, X_val, y_val, time_weights, time_scale)
                snapshots = [tf.tensor_scatter_nd_update(kept, [[taken]], [param])
                             for kept, param in zip(snapshots, params)]
                taken = tf.minimum(taken + tf.cast(snapshot_mask[index], tf.int32), SNAPSHOT_SLOTS - 1)
                return (index + 1, params, moments, velocities, iterations, losses.write(index, loss),
                        val_losses.write(index, val_loss), snapshots, taken)

            _, params, moments, velocities, iterations, losses, val_losses, snapshots, taken = tf.while_loop(
                lambda index, *rest: index < num_epochs,
                body,
                (tf.constant(0), params, moments, velocities, iterations, losses, val_losses, snapshots,
                 tf.constant(0)),
                maximum_iterations=MAX_CHUNK,
            )
            return params, moments, velocities, iterations, losses.stack(), val_losses.stack(), snapshots, taken

        # Compiled with XLA where masked: TensorFlow's graph runtime would hand the mask's boolean
        # ops to oneDNN and log an error for them on CPUs without AVX-512.
        @tf.function(jit_compile=masked)
        def predict(params, X, time_weights):
            return forward(params, X, time_weights, training=False)

        self._run_chunk = run_chunk
        self._predict = predict
        # Trace and compile now, under the caller's lock, rather than in the first run.
        data = self.tensors(frame_data(config))
        state = self.initial_state(build_model(config.replace(epochs=1)), config.units)
        self.run(state, config, 0, data)
        self.predict(state, data.X, data.steps)

    def time_weights(self, steps: int) -> np.ndarray:
        """Shaped as one sample of y, (1, length) or (1, length, 1): 1 for each of the `steps`
        real steps, 0 for a padded one."""
        weights = np.zeros((1, self.length) + (1,) * (self.y_dims - 2), np.float32)
        weights[:, :steps] = 1.0
        return weights

    def tensors(self, data: FramedData) -> "_Tensors":
        """A run's data as tensors for the compiled functions: where the topology pads time, its
        sequences are padded at the end to this shape's length, with the weights that leave the
        extra steps out of the loss."""
        import tensorflow as tf

        X, y, X_val, y_val = data.X, data.y, data.X_val, data.y_val
        steps = y.shape[1] if self.topology.pads_time else self.length
        weights = self.time_weights(steps)
        if steps != self.length:
            if not steps < self.length:
                raise ValueError(f"{steps} time steps do not fit this shape's {self.length}")
            y, y_val = _pad_steps(y, steps, self.length), _pad_steps(y_val, steps, self.length)
            if X.shape[1] == steps:  # one value per time step in (not one-to-many's single step)
                X, X_val = _pad_steps(X, steps, self.length), _pad_steps(X_val, steps, self.length)
        return _Tensors(tf.constant(X), tf.constant(y), tf.constant(X_val), tf.constant(y_val), steps,
                        tf.constant(weights), tf.constant(self.length / steps, tf.float32))

    def pad(self, weights, units: int) -> list:
        """A `units`-wide model's weights, placed in this shape's padded weights (tensors): its
        output steps (many-to-one's Dense(n)) padded with zeros to the length bucket, then its units."""
        import tensorflow as tf

        padded = []
        for w, shape, time_axes in zip(weights, self.padded_shapes, self.time_axes):
            w = np.asarray(w)
            for axis in time_axes:
                widths = [(0, 0)] * w.ndim
                widths[axis] = (0, shape[axis] - w.shape[axis])
                w = np.pad(w, widths)
            padded.append(tf.convert_to_tensor(_pad(w, shape, units, self.width).astype(np.float32)))
        return padded

    def initial_state(self, model, units: int) -> _State:
        """The state to start from: `model`'s weights (a `units`-wide model), padded, and no Adam history."""
        import tensorflow as tf

        weights = [v.numpy() for v in model.trainable_variables]
        params = self.pad(weights, units)
        return _State(
            params=params,
            moments=[tf.zeros_like(p) for p in params],
            velocities=[tf.zeros_like(p) for p in params],
            iterations=tf.constant(0.0),
            epochs_done=0,
            units=units,
            shapes=tuple(w.shape for w in weights),
            time_axes=self.time_axes,
        )

    def run(self, state: _State, config: ExperimentConfig, num_epochs: int, data: "_Tensors",
            snapshot_at=()) -> tuple[_State, np.ndarray, np.ndarray]:
        """Advance `state` by `num_epochs` (≤ MAX_CHUNK) epochs: the new state, their losses and
        their validation losses (zeros without held-out data). The weights after each epoch
        listed in `snapshot_at` are kept in `self.last_snapshots` (a thread-local list)."""
        import tensorflow as tf

        mask = np.zeros(MAX_CHUNK, dtype=bool)
        wanted = [epoch - state.epochs_done - 1 for epoch in snapshot_at
                  if state.epochs_done < epoch <= state.epochs_done + num_epochs]
        mask[wanted] = True
        with _execution_slots:
            params, moments, velocities, iterations, losses, val_losses, snapshots, taken = self._run_chunk(
                state.params,
                state.moments,
                state.velocities,
                state.iterations,
                tf.constant(config.learning_rate, tf.float32),
                tf.constant(config.seed, tf.int32),
                tf.constant(state.epochs_done, tf.int32),
                tf.constant(num_epochs, tf.int32),
                data.X,
                data.y,
                data.X_val,
                data.y_val,
                data.time_weights,
                data.time_scale,
                tf.constant(mask),
            )
            losses = losses.numpy()[:num_epochs]
            val_losses = val_losses.numpy()[:num_epochs]
            taken = int(taken)
            kept = [np.array(buffer[:taken]) for buffer in snapshots] if taken else []
        epochs = [state.epochs_done + index + 1 for index in wanted]
        _snapshots.taken = [Snapshot(epoch, _own_weights([weights[slot] for weights in kept], state))
                            for slot, epoch in enumerate(epochs)]
        new_state = _State(list(params), list(moments), list(velocities), iterations, state.epochs_done + num_epochs,
                           state.units, state.shapes, state.time_axes)
        return new_state, losses, val_losses

    def predict(self, state: _State, X, steps: int | None = None) -> np.ndarray:
        """The predictions for X, flat; of its first `steps` output steps where time is padded."""
        if int(X.shape[0]) == 0:
            return np.empty(0, np.float32)
        import tensorflow as tf

        weights = tf.constant(self.time_weights(self.length if steps is None else steps))
        with _execution_slots:
            predictions = self._predict(state.params, X, weights).numpy()
        if steps is not None and self.topology.pads_time:
            predictions = predictions[:, :steps]
        return predictions.reshape(-1)


@dataclasses.dataclass(frozen=True)
class _Tensors:
    """A run's training and validation data as tensors."""

    X: object
    y: object
    X_val: object
    y_val: object
    # Where the engine pads the time axis (population.py pads nothing and leaves these out):
    steps: int = 0  # the real output steps (fewer than X's and y's where the time axis is padded)
    time_weights: object = None  # (1, padded steps, 1): 1 for a real step, 0 for a padded one
    time_scale: object = None  # padded steps / real steps: the loss's mean over the real steps


class _RetracingWarningFilter:
    """One tf.function per shape is by design; TensorFlow's "frequent retracing" warning counts
    them together and would report retraces that do not happen."""

    def filter(self, record) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


_cache: "collections.OrderedDict[tuple, _CompiledShape]" = collections.OrderedDict()
_cache_lock = threading.Lock()
_compile_lock = threading.Lock()


def _compiled_for(config: ExperimentConfig) -> _CompiledShape:
    """The compiled functions for the config's shape, compiling them on first use (or waiting
    for another thread's compile)."""
    _install_log_filter()
    return get_or_compile(_cache, compiled_key(config), lambda: _CompiledShape(config), MAX_CACHED_SHAPES)


class ShapeLimitReached(RuntimeError):
    """This process may compile no more new shapes (see MAX_MAP_SHARE). `page_text` says so
    for a learner; the pages show it as it is."""

    page_text = ("This server has compiled so many different network shapes that it is close to its "
                 "operating system's limit, so it trains no new shape (settings it has trained before "
                 "still work: try the tutorial's). Whoever runs the server can restart it, or raise "
                 "vm.max_map_count.")


def _mappings() -> tuple[int, int] | None:
    """(memory mappings this process holds, the kernel's limit), or None where /proc cannot say."""
    try:
        with open("/proc/self/maps", "rb") as maps:
            used = sum(1 for _ in maps)
        with open("/proc/sys/vm/max_map_count") as limit:
            return used, int(limit.read())
    except (OSError, ValueError):
        return None


def room_to_compile() -> bool:
    """Whether a new shape may be compiled in this process (see MAX_MAP_SHARE)."""
    found = _mappings()
    return found is None or found[0] < MAX_MAP_SHARE * found[1]


def get_or_compile(cache: "collections.OrderedDict", key, compile_it, limit: int):
    """`cache[key]`, made by `compile_it()` on first use; beyond `limit` entries the least
    recently used is dropped. Shared by every compiled cache of the process (engine, population).

    Compiles take one lock of their own: tracing Keras layers from two threads at once is not
    something to rely on, and a compile (about a second) must not hold up the sessions whose
    shapes are already compiled.
    """
    with _cache_lock:
        compiled = cache.get(key)
        if compiled is not None:
            cache.move_to_end(key)
            return compiled
    with _compile_lock:
        with _cache_lock:
            compiled = cache.get(key)
        if compiled is None:
            if not room_to_compile():
                raise ShapeLimitReached(f"{_mappings()} memory mappings used: refusing to compile {key}")
            compiled = compile_it()
        with _cache_lock:
            cache[key] = compiled
            cache.move_to_end(key)
            while len(cache) > limit:
                cache.popitem(last=False)
        return compiled


@functools.lru_cache(maxsize=1)
def _install_log_filter() -> None:
    backend.load()  # TensorFlow's import with the environment and lock of lstm_core.backend
    import tensorflow as tf

    tf.get_logger().addFilter(_RetracingWarningFilter())


def compile_shape(config: ExperimentConfig) -> None:
    """Compile the functions for the config's shape now (a no-op when they are cached)."""
    _compiled_for(config)


def compiled_shapes() -> list[tuple]:
    """The shape keys compiled in this process, least recently used first."""
    with _cache_lock:
        return list(_cache)


def train(config: ExperimentConfig, callbacks: Sequence = ()) -> TrainingResult:
    """Train the config's model on its task's data from its seeded initial weights.

    Callbacks are `keras.callbacks.Callback` objects. They get `set_model` with the run's
    model, `on_train_begin`, `on_epoch_begin` and `on_epoch_end(epoch, logs)` once per epoch
    in order, with `logs["loss"]` (and `logs["val_loss"]` for tasks with held-out sequences),
    and `on_train_end`. Epochs run in compiled chunks and a chunk's callbacks are called when
    it returns; the model holds the weights of the end of that chunk meanwhile. Setting
    `model.stop_training = True` in a callback stops after that epoch: the weights are
    replayed to exactly that epoch, so what was learned is kept. A loss that turns NaN or
    infinite stops the run at once (that epoch is not reported) and rewinds the model to the
    last weights that gave a finite loss.
    """
    started = time.perf_counter()
    compiled = _compiled_for(config)
    compile_seconds = time.perf_counter() - started
    framed = frame_data(config)
    data = compiled.tensors(framed)
    model = build_model(config)
    state = compiled.initial_state(model, config.units)
    # Checkpoints to replay from: the start of the current chunk and of the one before.
    checkpoints = [state]
    snapshot_at = snapshot_epochs(config.epochs, sum(int(np.prod(p.shape)) for p in state.params))
    snapshots = [_snapshot(state)]
    losses = np.empty(config.epochs, dtype=np.float32)
    val_losses = np.empty(config.epochs if compiled.has_validation else 0, dtype=np.float32)
    reported = 0  # epochs whose loss the callbacks have seen
    stop_reason = None
    model.stop_training = False
    steps = math.ceil(config.num_samples / config.batch_size)
    for callback in callbacks:
        callback.set_model(model)
        callback.set_params({"epochs": config.epochs, "steps": steps, "verbose": 0})
    try:
        for callback in callbacks:
            callback.on_train_begin({})
        chunk = FIRST_CHUNK
        while state.epochs_done < config.epochs and stop_reason is None:
            count = min(chunk, config.epochs - state.epochs_done, MAX_CHUNK)
            chunk_started = time.perf_counter()
            chunk_start = state
            state, chunk_losses, chunk_val_losses = compiled.run(state, config, count, data, snapshot_at)
            chunk_snapshots = _snapshots.taken
            per_epoch = (time.perf_counter() - chunk_started) / count
            chunk = int(min(MAX_CHUNK, max(1, TARGET_CHUNK_SECONDS / max(per_epoch, 1e-9))))
            checkpoints = [checkpoints[-1], chunk_start]
            _assign(model, state)

            finite = np.isfinite(chunk_losses)
            if compiled.has_validation:
                finite &= np.isfinite(chunk_val_losses)
            valid = count if finite.all() else int(np.argmin(finite))
            for index in range(valid):
                losses[reported] = chunk_losses[index]
                logs = {"loss": float(chunk_losses[index])}
                if compiled.has_validation:
                    val_losses[reported] = chunk_val_losses[index]
                    logs["val_loss"] = float(chunk_val_losses[index])
                for callback in callbacks:
                    callback.on_epoch_begin(reported, None)
                for callback in callbacks:
                    callback.on_epoch_end(reported, logs)
                reported += 1
                if model.stop_training:
                    stop_reason = STOPPED
                    break
            snapshots.extend(chunk_snapshots)
            if stop_reason == STOPPED:
                # Keep exactly what was learned up to the epoch that asked to stop.
                state = _replay(compiled, config, data, [*checkpoints, state], reported)
            elif valid < count:
                stop_reason = NON_FINITE_LOSS
                # The last finite loss (epoch reported-1) came from the weights after
                # reported-1 updates: keep those, the last weights known to be sound.
                state = _replay(compiled, config, data, [*checkpoints, state], max(reported - 1, 0))
    finally:
        _assign(model, state)
    # A stop or a non-finite loss ends the run before the chunk did: drop what came after.
    snapshots = [snapshot for snapshot in snapshots if snapshot.epoch <= state.epochs_done]
    if snapshots[-1].epoch != state.epochs_done:
        snapshots.append(_snapshot(state))  # the run stopped early: its final weights
    predictions = compiled.predict(state, data.X, data.steps)
    val_predictions = compiled.predict(state, data.X_val, data.steps)
    logs = {"loss": float(losses[reported - 1])} if reported else {}
    if reported and compiled.has_validation:
        logs["val_loss"] = float(val_losses[reported - 1])
    for callback in callbacks:
        callback.on_train_end(logs)
    return TrainingResult(
        config=config,
        losses=losses[:reported].copy(),
        targets=framed.y.reshape(-1).copy(),
        predictions=predictions,
        model=model,
        seconds=time.perf_counter() - started,
        stop_reason=stop_reason,
        val_losses=val_losses[:reported].copy(),
        val_targets=framed.y_val.reshape(-1).copy(),
        val_predictions=val_predictions,
        data=framed,
        compile_seconds=compile_seconds,
        snapshots=tuple(snapshots),
    )


def _own_weights(params, state: _State) -> tuple:
    """The run's own weights (NumPy, its units wide and its steps long) out of padded ones."""
    width = padded_units(state.units)
    own = []
    for index, (value, shape) in enumerate(zip(params, state.shapes)):
        value = np.asarray(value)
        for axis in (state.time_axes[index] if state.time_axes else ()):
            value = np.take(value, np.arange(shape[axis]), axis=axis)
        own.append(_unpad(value, shape, state.units, width))
    return tuple(own)


def _snapshot(state: _State) -> Snapshot:
    return Snapshot(state.epochs_done, _own_weights(state.params, state))


def _replay(compiled: _CompiledShape, config: ExperimentConfig, data: _Tensors, checkpoints: list,
            updates: int) -> _State:
    """The exact state after `updates` epochs, recomputed from the latest checkpoint before it."""
    start = max((c for c in checkpoints if c.epochs_done <= updates), key=lambda c: c.epochs_done)
    state = start
    while state.epochs_done < updates:
        state, _, _ = compiled.run(state, config, min(MAX_CHUNK, updates - state.epochs_done), data)
    return state


def _assign(model, state: _State) -> None:
    for variable, value in zip(model.trainable_variables, _own_weights(state.params, state)):
        variable.assign(value)


def predict(model, config: ExperimentConfig, split: str = "train") -> np.ndarray:
    """A trained model's predictions for the config's training (or validation) inputs, flat."""
    compiled = _compiled_for(config)
    data = compiled.tensors(frame_data(config))
    return compiled.predict(compiled.initial_state(model, config.units), data.X if split == "train" else data.X_val,
                            data.steps)
