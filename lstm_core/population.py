"""Many runs in one call: configs of one shape trained together as a vectorised population.

`train_many(configs)` trains configs that share `ExperimentConfig.shape_key` but for their units
(they may differ in units, seed, learning rate, task data and epochs) as ONE population: every
weight gets a leading population axis P, and one XLA-compiled chunk runs the epochs of all
members at once (batched matmuls instead of P small ones). The recurrent layers are compiled at
the engine's bucket of the widest member (`engine.padded_units`); a narrower member's weights are
placed in it with zeros for the units it lacks (`engine._pad`), which stay exactly zero, so a
landscape's units × learning-rate grid of one topology is one population, one compile. Each
member's result equals what `engine.train(config)` gives alone (losses, validation losses,
predictions) to float round-off, because each piece is the engine's, member by member:

* the forward pass of each layer kind is written over the population axis, exactly as Keras
  computes it (the cells' equations in Keras's gate order and addition order, GRU with
  reset_after=True, go_backwards, Bidirectional's concat, RepeatVector, TimeDistributed(Dense),
  Dense on 2-D or 3-D). The template model's `model.layers` are read through one table from
  layer class to population op (`LAYER_OPS`), so every topology of the registry works with no
  per-topology code;
* the loss, the masks of padded mini-batches, Keras's Adam and the seeded shuffling are the
  engine's: member p's mini-batch order in epoch e is
  argsort(stateless_uniform([samples], seed=[seed_p, e])), as in `engine.train`;
* member p's initial weights are its own seed's (the initializers `build_model` would draw,
  replayed without building P Keras models).

Members run for their own epochs (a member whose epochs are done keeps its weights while the
others go on). A member whose loss turns NaN or infinite stops as `train` stops it.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
import time
from typing import Callable, Sequence

import numpy as np

from lstm_core import backend, engine
from lstm_core.config import ExperimentConfig
from lstm_core.data import frame_data
from lstm_core.engine import (BETA_1, BETA_2, EPSILON, MAX_CHUNK, NON_FINITE_LOSS, Snapshot, TrainingResult, _pad,
                               _unpad, padded_units)
from lstm_core.topologies import TOPOLOGIES, SeededInitializers

# Populations are padded to these sizes (idle members that never train), so that a page asking
# for 20 seeds and then 25 pays one compile, not two.
POPULATION_BUCKETS = (1, 2, 4, 8, 12, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
                      448, 512, 640, 768, 896, 1024)
# Compiled (shape, population size) pairs kept, least recently used dropped first: all of them,
# as in the engine (dropping one frees nothing of XLA's program; see engine.MAX_CACHED_SHAPES).
MAX_CACHED = 512
# With a progress callable or callbacks, chunks are sized to take about this long (the first is
# FIRST_CHUNK epochs), so that a progress bar moves; without them one chunk runs everything.
FIRST_CHUNK = engine.FIRST_CHUNK
TARGET_CHUNK_SECONDS = 0.1


# --------------------------------------------------------------------------- initial weights


class _RecordingInitializers(SeededInitializers):
    """SeededInitializers that remember which draw made each initializer, so that the same
    draws can be replayed for any other seed without building its model."""

    def __init__(self, seed: int):
        super().__init__(seed)
        # (initializer class, seed) -> (method, draw number); by seed, not identity, because
        # Bidirectional rebuilds its layers from their configs (copies of the initializers).
        self.draws: dict[tuple, tuple[str, int]] = {}

    def glorot_uniform(self):
        initializer = super().glorot_uniform()
        self.draws[_key(initializer)] = ("glorot_uniform", self._count)
        return initializer

    def orthogonal(self):
        initializer = super().orthogonal()
        self.draws[_key(initializer)] = ("orthogonal", self._count)
        return initializer


def _key(initializer) -> tuple:
    return type(initializer).__name__, getattr(initializer, "seed", None)


class _SeedAt(SeededInitializers):
    """The initializer a given run seed draws at a given draw number."""

    def __init__(self, seed: int, count: int):
        super().__init__(seed)
        self._count = count - 1


def _weight_sources(model, draws: dict) -> list:
    """Per trainable variable: (method, draw number) of its seeded initializer, or its value
    when it does not depend on the seed (zero biases, the LSTM's unit forget bias)."""
    by_variable = {}
    for layer in model._flatten_layers(include_self=False, recursive=True):
        for weight, initializer in (("kernel", "kernel_initializer"), ("recurrent_kernel", "recurrent_initializer")):
            variable = getattr(layer, weight, None)
            made = draws.get(_key(getattr(layer, initializer, None)))
            if variable is not None and made is None and getattr(getattr(layer, initializer, None), "seed", None) is not None:
                raise ValueError(f"layer {layer.name!r}: its {weight} initializer was not drawn from the run seed")
            if variable is not None and made is not None:
                by_variable[id(variable)] = made
    return [by_variable.get(id(variable), np.array(variable.numpy())) for variable in model.trainable_variables]


@functools.lru_cache(maxsize=256)
def _own_layout(topology: str, cell: str, sequence_length: int, units: int) -> tuple[list, list]:
    """(sources, shapes) of the trainable weights of a model `units` wide: where each initial
    weight comes from (`_weight_sources`) and its shape, to draw any seed's own weights."""
    config = ExperimentConfig(topology=topology, cell=cell, sequence_length=sequence_length, units=units, epochs=1)
    recorder = _RecordingInitializers(config.seed)
    model = TOPOLOGIES[topology].build(config, recorder)
    return _weight_sources(model, recorder.draws), [tuple(v.shape) for v in model.trainable_variables]


def _own_initial_weights(config: ExperimentConfig) -> list[np.ndarray]:
    """The initial weights `build_model(config)` draws, at the config's own units."""
    sources, shapes = _own_layout(config.topology, config.cell, config.sequence_length, config.units)
    return _initial_weights(sources, shapes, config.seed)


def _initial_weights(sources: list, shapes: list, seed: int) -> list[np.ndarray]:
    weights = []
    for source, shape in zip(sources, shapes):
        if isinstance(source, np.ndarray):
            weights.append(source.copy())  # the cached layout's array stays the cache's
        else:
            method, count = source
            initializer = getattr(_SeedAt(seed, count), method)()
            weights.append(np.asarray(initializer(shape, dtype="float32")))
    return weights


# --------------------------------------------------------------------------- the layer table
#
# Each entry turns one layer of the template model into a population op: a function
# (params, x) -> y, where params maps id(variable) to its [P, ...] tensor and x is [P, B, ...].


# Products per member of one matmul up to which it is written as a broadcast multiply and a sum
# (XLA fuses it into the step: 2.3× faster on the tutorial's 5 units) rather than a batched
# matmul (P small matmul calls, faster for bigger batches and units: 2.6× on the delay task's).
BROADCAST_MATMUL_MAX = 4096


def _matmul(x, kernel):
    """x [P, B, F] @ kernel [P, F, K] -> [P, B, K]."""
    import tensorflow as tf

    batch, features = x.shape[1], x.shape[2]
    if batch is not None and batch * features * kernel.shape[2] <= BROADCAST_MATMUL_MAX:
        return tf.reduce_sum(x[..., :, None] * kernel[:, None, :, :], axis=-2)
    return tf.matmul(x, kernel)


def _bias(params, bias):
    return params[id(bias)][:, None, :]


def _check_plain(rnn) -> None:
    cell = rnn.cell
    if getattr(rnn, "stateful", False) or getattr(rnn, "return_state", False):
        raise ValueError(f"layer {rnn.name!r}: stateful layers and return_state are not supported in a population")
    if getattr(cell, "dropout", 0.0) or getattr(cell, "recurrent_dropout", 0.0):
        raise ValueError(f"layer {rnn.name!r}: dropout is not supported in a population")
    if getattr(cell, "implementation", 2) != 2:
        raise ValueError(f"layer {rnn.name!r}: only implementation=2 (Keras's default) is supported")


def _lstm_step(cell, params):
    def step(x, states):
        h, c = states
        # As keras.layers.LSTMCell.call (implementation 2): z = x W + h U + b, gates i f c o.
        z = _matmul(x, params[id(cell.kernel)]) + _matmul(h, params[id(cell.recurrent_kernel)])
        if cell.use_bias:
            z = z + _bias(params, cell.bias)
        units = cell.units
        z0, z1, z2, z3 = (z[..., k * units:(k + 1) * units] for k in range(4))
        i = cell.recurrent_activation(z0)
        f = cell.recurrent_activation(z1)
        c = f * c + i * cell.activation(z2)
        o = cell.recurrent_activation(z3)
        h = o * cell.activation(c)
        return h, (h, c)

    return step, 2


def _gru_step(cell, params):
    if not cell.reset_after:
        raise ValueError(f"cell {cell.name!r}: only reset_after=True (Keras's default) is supported")

    def step(x, states):
        (h,) = states
        # As keras.layers.GRUCell.call (implementation 2, reset_after=True), gates z r h.
        matrix_x = _matmul(x, params[id(cell.kernel)])
        matrix_inner = _matmul(h, params[id(cell.recurrent_kernel)])
        if cell.use_bias:
            bias = params[id(cell.bias)]
            matrix_x = matrix_x + bias[:, None, 0, :]
            matrix_inner = matrix_inner + bias[:, None, 1, :]
        units = cell.units
        x_z, x_r, x_h = (matrix_x[..., k * units:(k + 1) * units] for k in range(3))
        recurrent_z = matrix_inner[..., :units]
        recurrent_r = matrix_inner[..., units:2 * units]
        z = cell.recurrent_activation(x_z + recurrent_z)
        r = cell.recurrent_activation(x_r + recurrent_r)
        recurrent_h = r * matrix_inner[..., 2 * units:]
        hh = cell.activation(x_h + recurrent_h)
        h = z * h + (1 - z) * hh
        return h, (h,)

    return step, 1


def _simple_rnn_step(cell, params):
    def step(x, states):
        (previous,) = states
        # As keras.layers.SimpleRNNCell.call: (x W + b) + h U.
        h = _matmul(x, params[id(cell.kernel)])
        if cell.use_bias:
            h = h + _bias(params, cell.bias)
        output = h + _matmul(previous, params[id(cell.recurrent_kernel)])
        if cell.activation is not None:
            output = cell.activation(output)
        return output, (output,)

    return step, 1


# Keras cell class name -> (cell, params) -> (step(x_t, states) -> (output, states), number of states).
CELL_STEPS: dict[str, Callable] = {
    "LSTMCell": _lstm_step,
    "GRUCell": _gru_step,
    "SimpleRNNCell": _simple_rnn_step,
}


def _rnn(layer, params, x):
    """A recurrent layer over x [P, B, T, F], as Keras's RNN layer (go_backwards returns the
    outputs in the order they were computed, i.e. reversed, as Keras does)."""
    import tensorflow as tf

    _check_plain(layer)
    kind = type(layer.cell).__name__
    if kind not in CELL_STEPS:
        raise ValueError(f"layer {layer.name!r}: cell {kind} has no population op (known: {sorted(CELL_STEPS)})")
    step, num_states = CELL_STEPS[kind](layer.cell, params)
    population, batch = tf.shape(x)[0], tf.shape(x)[1]
    zeros = tf.zeros(tf.stack([population, batch, layer.cell.units]), x.dtype)
    states = (zeros,) * num_states
    timesteps = x.shape[2]
    order = range(timesteps - 1, -1, -1) if layer.go_backwards else range(timesteps)
    outputs = []
    output = None
    for t in order:
        output, states = step(x[:, :, t, :], states)
        outputs.append(output)
    if layer.return_sequences:
        return tf.stack(outputs, axis=2)
    return output


def _bidirectional(layer, params, x):
    import tensorflow as tf

    if layer.merge_mode != "concat":
        raise ValueError(f"layer {layer.name!r}: only merge_mode='concat' is supported")
    forward = _rnn(layer.forward_layer, params, x)
    backward = _rnn(layer.backward_layer, params, x)
    if layer.return_sequences:
        backward = tf.reverse(backward, axis=[2])  # as Bidirectional.call: ops.flip(y_rev, axis=1)
    return tf.concat([forward, backward], axis=-1)


def _dense(layer, params, x):
    """Dense on the last axis of x [P, B, F] or [P, B, T, F]."""
    import tensorflow as tf

    kernel = params[id(layer.kernel)]
    if x.shape.rank == 3:
        y = tf.matmul(x, kernel)
    else:
        y = tf.einsum("pbtf,pfk->pbtk", x, kernel)
    if layer.use_bias:
        bias = params[id(layer.bias)]
        y = y + tf.reshape(bias, [-1] + [1] * (x.shape.rank - 2) + [bias.shape[-1]])
    return layer.activation(y) if layer.activation is not None else y


def _time_distributed(layer, params, x):
    inner = type(layer.layer).__name__
    if inner not in ("Dense",):
        raise ValueError(f"layer {layer.name!r}: TimeDistributed({inner}) has no population op")
    return LAYER_OPS[inner](layer.layer, params, x)


def _repeat_vector(layer, params, x):
    import tensorflow as tf

    return tf.repeat(x[:, :, None, :], layer.n, axis=2)


def _identity(layer, params, x):
    return x


# Keras layer class name -> population op (layer, params, x [P, B, ...]) -> y [P, B, ...].
LAYER_OPS: dict[str, Callable] = {
    "InputLayer": _identity,
    "LSTM": _rnn,
    "GRU": _rnn,
    "SimpleRNN": _rnn,
    "Bidirectional": _bidirectional,
    "RepeatVector": _repeat_vector,
    "TimeDistributed": _time_distributed,
    "Dense": _dense,
}


def _chain(model) -> list:
    """The model's layers, checked to form one chain from its single input to its output."""
    layers = list(model.layers)
    for layer in layers:
        kind = type(layer).__name__
        if kind not in LAYER_OPS:
            raise ValueError(f"layer {layer.name!r} ({kind}) has no population op (known: {sorted(LAYER_OPS)})")
    for previous, layer in zip(layers, layers[1:]):
        if len(layer._inbound_nodes) != 1 or layer.input is not previous.output:
            raise ValueError(f"model {model.name!r} is not a chain of layers at {layer.name!r}")
    return layers


# --------------------------------------------------------------------------- compiled population


def _bucket(size: int) -> int:
    for bucket in POPULATION_BUCKETS:
        if size <= bucket:
            return bucket
    return size


@dataclasses.dataclass
class _PopState:
    params: list
    moments: list
    velocities: list
    previous_start: list  # the weights at the start of the epoch before the current one
    iterations: object
    dead: object  # [P] bool: a non-finite loss stopped this member
    epochs_done: int
    initial: tuple = ()  # per member, its own initial weights (its units wide)


class _CompiledPopulation:
    """The compiled chunk and predict functions for one shape and population size."""

    def __init__(self, config: ExperimentConfig, population: int):
        """For `config`'s shape at its units (already a width of engine.UNIT_BUCKETS), `population` members."""
        backend.load()
        import tensorflow as tf

        self.population = population
        self.width = config.units
        self.template = TOPOLOGIES[config.topology].build(config, _RecordingInitializers(config.seed))
        self.shapes = [tuple(variable.shape) for variable in self.template.trainable_variables]
        self.has_validation = config.num_val_samples > 0
        variable_ids = [id(variable) for variable in self.template.trainable_variables]
        layers = _chain(self.template)
        num_samples = config.num_samples
        batch_size = config.batch_size
        steps = math.ceil(num_samples / batch_size)
        padding = steps * batch_size - num_samples
        y_elements = int(np.prod(config.y_shape[1:]))
        has_validation = self.has_validation

        def forward(params, x):
            by_id = dict(zip(variable_ids, params))
            for layer in layers:
                x = LAYER_OPS[type(layer).__name__](layer, by_id, x)
            return x

        def per_member(tensor):
            return tf.reshape(tensor, [population, -1])

        def expand(vector, like):
            return tf.reshape(vector, [population] + [1] * (like.shape.rank - 1))

        def loss_and_grads(params, x_batch, y_batch, weights, count):
            with tf.GradientTape() as tape:
                tape.watch(params)
                predictions = forward(params, x_batch)
                if weights is None:
                    losses = tf.reduce_mean(per_member(tf.square(predictions - y_batch)), axis=1)
                else:
                    squared = tf.reshape(tf.square(predictions - y_batch), [population, batch_size, -1])
                    per_sample = tf.reduce_sum(squared, axis=2) / y_elements
                    losses = tf.reduce_sum(per_sample * weights, axis=1) / count
                # Members are independent: the gradient of the sum is each member's own.
                total = tf.reduce_sum(losses)
            return losses, tape.gradient(total, params)

        def adam(params, grads, moments, velocities, iterations, learning_rates, active):
            # engine's Adam (Keras's exactly), per member; members not active keep their state.
            iterations = iterations + 1.0
            alpha = learning_rates * tf.sqrt(1.0 - tf.pow(BETA_2, iterations)) / (1.0 - tf.pow(BETA_1, iterations))
            new_params, new_moments, new_velocities = [], [], []
            for param, grad, moment, velocity in zip(params, grads, moments, velocities):
                keep = expand(active, param)
                new_moment = moment + (grad - moment) * (1.0 - BETA_1)
                new_velocity = velocity + (tf.square(grad) - velocity) * (1.0 - BETA_2)
                new_param = param - (new_moment * expand(alpha, param)) / (tf.sqrt(new_velocity) + EPSILON)
                new_params.append(tf.where(keep, new_param, param))
                new_moments.append(tf.where(keep, new_moment, moment))
                new_velocities.append(tf.where(keep, new_velocity, velocity))
            return new_params, new_moments, new_velocities, iterations

        def validation_loss(params, X_val, y_val):
            if not has_validation:
                return tf.zeros([population])
            predictions = forward(params, X_val)
            return tf.reduce_mean(per_member(tf.square(predictions - y_val)), axis=1)

        def one_epoch(epoch, params, moments, velocities, iterations, learning_rates, seeds, active, X, y):
            if steps == 1 and padding == 0:
                loss, grads = loss_and_grads(params, X, y, None, None)
                return (*adam(params, grads, moments, velocities, iterations, learning_rates, active), loss)
            orders = tf.map_fn(
                lambda seed: tf.argsort(tf.random.stateless_uniform([num_samples], seed=tf.stack([seed, epoch]))),
                seeds, fn_output_signature=tf.int32,
            )
            orders = tf.concat([orders, tf.zeros([population, padding], tf.int32)], 1)
            orders = tf.transpose(tf.reshape(orders, [population, steps, batch_size]), [1, 0, 2])
            mask = tf.reshape(tf.concat([tf.ones([num_samples]), tf.zeros([padding])], 0), [steps, batch_size])

            def step(index, params, moments, velocities, iterations, total):
                batch_order = orders[index]
                weights = mask[index]
                count = tf.reduce_sum(weights)
                loss, grads = loss_and_grads(
                    params, tf.gather(X, batch_order, batch_dims=1), tf.gather(y, batch_order, batch_dims=1),
                    weights, count,
                )
                params, moments, velocities, iterations = adam(
                    params, grads, moments, velocities, iterations, learning_rates, active
                )
                return index + 1, params, moments, velocities, iterations, total + loss * count

            _, params, moments, velocities, iterations, total = tf.while_loop(
                lambda index, *rest: index < steps,
                step,
                (tf.constant(0), params, moments, velocities, iterations, tf.zeros([population])),
            )
            return params, moments, velocities, iterations, total / num_samples

        @tf.function(jit_compile=True)
        def run_chunk(params, moments, velocities, previous_start, iterations, dead, learning_rates, seeds,
                      member_epochs, first_epoch, num_epochs, X, y, X_val, y_val):
            losses = tf.TensorArray(tf.float32, size=MAX_CHUNK)
            val_losses = tf.TensorArray(tf.float32, size=MAX_CHUNK)

            def body(index, params, moments, velocities, previous_start, iterations, dead, losses, val_losses):
                epoch = first_epoch + index
                active = tf.logical_and(epoch < member_epochs, tf.logical_not(dead))
                start = params
                params, moments, velocities, iterations, loss = one_epoch(
                    epoch, params, moments, velocities, iterations, learning_rates, seeds, active, X, y
                )
                val_loss = validation_loss(params, X_val, y_val)
                # As engine.train: a non-finite loss ends the member and keeps the weights of the
                # start of the previous epoch (the last ones known to give a finite loss).
                finite = tf.logical_and(tf.math.is_finite(loss), tf.math.is_finite(val_loss))
                dies = tf.logical_and(active, tf.logical_not(finite))
                params = [tf.where(expand(dies, p), kept, p) for p, kept in zip(params, previous_start)]
                previous_start = [tf.where(expand(active, kept), s, kept) for s, kept in zip(start, previous_start)]
                dead = tf.logical_or(dead, dies)
                return (index + 1, params, moments, velocities, previous_start, iterations, dead,
                        losses.write(index, loss), val_losses.write(index, val_loss))

            _, params, moments, velocities, previous_start, iterations, dead, losses, val_losses = tf.while_loop(
                lambda index, *rest: index < num_epochs,
                body,
                (tf.constant(0), params, moments, velocities, previous_start, iterations, dead, losses, val_losses),
                maximum_iterations=MAX_CHUNK,
            )
            return params, moments, velocities, previous_start, iterations, dead, losses.stack(), val_losses.stack()

        @tf.function(jit_compile=True)
        def predict(params, X, X_val):
            return forward(params, X), forward(params, X_val) if has_validation else tf.zeros([population, 0])

        self._run_chunk = run_chunk
        self._predict = predict
        # Trace and compile now, under the compile lock, rather than in the first run.
        members = [_Member(config, frame_data(config))] * population
        tensors = self.tensors(members)
        state = self.initial_state(members)
        self.run(state, members, 0, tensors)
        self.predict(state, tensors)

    def tensors(self, members: list["_Member"]) -> engine._Tensors:
        import tensorflow as tf

        def stack(name):
            return tf.constant(np.stack([getattr(member.framed, name) for member in members]))

        return engine._Tensors(stack("X"), stack("y"), stack("X_val"), stack("y_val"))

    def padded(self, weights: list[np.ndarray], units: int) -> list[np.ndarray]:
        """A member's own weights (`units` wide) placed in this population's width."""
        return [_pad(value, shape, units, self.width) for value, shape in zip(weights, self.shapes)]

    def own(self, weights: list, config: ExperimentConfig) -> tuple:
        """A member's own weights (its units wide) out of this population's width."""
        shapes = _own_layout(config.topology, config.cell, config.sequence_length, config.units)[1]
        return tuple(_unpad(np.asarray(value), shape, config.units, self.width) for value, shape in zip(weights, shapes))

    def initial_state(self, members: list["_Member"]) -> _PopState:
        import tensorflow as tf

        # Idle padding members repeat a member: its weights are drawn once.
        own = {}
        for member in members:
            key = (member.config.seed, member.config.units)
            if key not in own:
                own[key] = _own_initial_weights(member.config)
        initial = tuple(own[(member.config.seed, member.config.units)] for member in members)
        params = [tf.constant(np.stack(weights))
                  for weights in zip(*(self.padded(weights, member.config.units)
                                       for weights, member in zip(initial, members)))]
        return _PopState(
            params=params,
            moments=[tf.zeros_like(p) for p in params],
            velocities=[tf.zeros_like(p) for p in params],
            previous_start=params,
            iterations=tf.constant(0.0),
            dead=tf.zeros([self.population], tf.bool),
            epochs_done=0,
            initial=initial,
        )

    def run(self, state: _PopState, members: list["_Member"], num_epochs: int, data: engine._Tensors):
        """Advance every member by up to `num_epochs` epochs: the new state and the [epochs, P]
        losses and validation losses."""
        import tensorflow as tf

        with engine._execution_slots:
            params, moments, velocities, previous_start, iterations, dead, losses, val_losses = self._run_chunk(
                state.params, state.moments, state.velocities, state.previous_start, state.iterations, state.dead,
                tf.constant([m.config.learning_rate for m in members], tf.float32),
                tf.constant([m.config.seed for m in members], tf.int32),
                tf.constant([m.epochs for m in members], tf.int32),
                tf.constant(state.epochs_done, tf.int32),
                tf.constant(num_epochs, tf.int32),
                data.X, data.y, data.X_val, data.y_val,
            )
            losses = losses.numpy()[:num_epochs]
            val_losses = val_losses.numpy()[:num_epochs]
        new_state = _PopState(list(params), list(moments), list(velocities), list(previous_start), iterations,
                              dead, state.epochs_done + num_epochs, state.initial)
        return new_state, losses, val_losses

    def predict(self, state: _PopState, data: engine._Tensors) -> tuple[np.ndarray, np.ndarray]:
        """[P, samples] training and [P, val samples] validation predictions, flat per member."""
        with engine._execution_slots:
            predictions, val_predictions = self._predict(state.params, data.X, data.X_val)
            predictions = predictions.numpy().reshape(self.population, -1)
            val_predictions = val_predictions.numpy().reshape(self.population, -1)
        return predictions, val_predictions


@dataclasses.dataclass(frozen=True)
class _Member:
    config: ExperimentConfig
    framed: object
    epochs: int = 0


_cache: "collections.OrderedDict[tuple, _CompiledPopulation]" = collections.OrderedDict()


def _compiled_for(configs: Sequence[ExperimentConfig], population: int) -> _CompiledPopulation:
    """The compiled population for configs of one shape but their units, at the width that holds
    the widest (its bucket of engine.UNIT_BUCKETS), for `population` members."""
    engine._install_log_filter()  # one tf.function per shape: no "retracing" warnings in the log
    width = padded_units(max(config.units for config in configs))
    shaped = configs[0].replace(units=width, epochs=1)
    return engine.get_or_compile(_cache, (shaped.shape_key, population),
                                 lambda: _CompiledPopulation(shaped, population), MAX_CACHED)


def compile_population(config: ExperimentConfig, size: int) -> None:
    """Compile the population functions for the config's shape and `size` members now."""
    _compiled_for([config], _bucket(size))


# --------------------------------------------------------------------------- train_many


_SHAPE_NAMES = ("topology", "cell", "sequence_length", "units", "batch_size", "num_samples", "num_val_samples")
_UNITS = _SHAPE_NAMES.index("units")


def population_key(config: ExperimentConfig) -> tuple:
    """What configs trained together must share: `shape_key` but the units."""
    key = config.shape_key
    return key[:_UNITS] + key[_UNITS + 1:]


def check_same_shape(configs: Sequence[ExperimentConfig]) -> None:
    """Raise ValueError unless every config has the first one's `population_key`."""
    if not configs:
        return
    first = configs[0].shape_key
    for index, config in enumerate(configs):
        if population_key(config) != population_key(configs[0]):
            differ = [f"{name} {a!r} vs {b!r}" for name, a, b in zip(_SHAPE_NAMES, first, config.shape_key)
                      if a != b and name != "units"]
            raise ValueError(
                f"train_many trains configs of one shape together; config {index} differs from config 0 in "
                f"{', '.join(differ)}. Group the configs by population.population_key and call train_many per group."
            )


def _member_callbacks(callbacks, count: int) -> list:
    """One list of Keras-style callbacks per member (a function becomes a tiny callback)."""
    if callbacks is None:
        return [[] for _ in range(count)]
    if callable(callbacks):
        return [[_FunctionCallback(callbacks, index)] for index in range(count)]
    callbacks = list(callbacks)
    if len(callbacks) != count:
        raise ValueError(f"callbacks: {len(callbacks)} entries for {count} configs (give one list per config)")
    return [list(entry) if isinstance(entry, (list, tuple)) else [entry] for entry in callbacks]


class _FunctionCallback:
    """`function(member, epoch, logs)` called at each member's epoch end."""

    def __init__(self, function, member: int):
        self.function = function
        self.member = member
        self.model = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        self.function(self.member, epoch, logs)

    def on_train_end(self, logs=None):
        pass


def train_many(configs: Sequence[ExperimentConfig], callbacks=None,
               progress: Callable[[int, int], None] | None = None,
               build_models: bool = False) -> list[TrainingResult]:
    """Train configs of one shape as one population; one `TrainingResult` per config, in order.

    The configs must share `population_key` (`ExperimentConfig.shape_key` but the units;
    ValueError otherwise); they may differ in units, seed, learning rate, task data and epochs. Each result's losses, validation losses and
    predictions equal `engine.train(config)`'s to float round-off (the tests hold 1e-5).

    callbacks: None; or one entry per config, each a Keras-style callback or a list of them
        (`on_train_begin`, `on_epoch_begin`, `on_epoch_end(epoch, logs)` with `logs["loss"]` and,
        with held-out data, `logs["val_loss"]`, `on_train_end`, as `train` calls them); or a
        function `f(member_index, epoch, logs)` called at every member's epoch end. Callbacks
        see the epochs of a chunk when the chunk returns. `model.stop_training` is not
        honoured (the population runs every member to its epochs).
    progress: `progress(done_epochs, total_epochs)` after each chunk (total: the largest epochs).
    build_models: also build each member's trained Keras model into `result.model` (about 8 ms
        a member); by default `model` is None and `result.model_at(result.snapshots[-1])`
        builds it when wanted.

    Results: `seconds` is the wall time of the whole call (shared by every member) and
    `compile_seconds` its compile part; `snapshots` hold the initial and the final weights.
    """
    started = time.perf_counter()
    configs = list(configs)
    if not configs:
        return []
    check_same_shape(configs)
    member_callbacks = _member_callbacks(callbacks, len(configs))
    size = _bucket(len(configs))
    compiled = _compiled_for(configs, size)
    compile_seconds = time.perf_counter() - started

    members = [_Member(config, frame_data(config), config.epochs) for config in configs]
    # Idle members fill the population up to its compiled size; they never train.
    padded = members + [dataclasses.replace(members[-1], epochs=0)] * (size - len(members))
    data = compiled.tensors(padded)
    state = compiled.initial_state(padded)
    total = max(config.epochs for config in configs)
    count = len(configs)
    losses = np.empty((total, count), np.float32)
    val_losses = np.empty((total, count), np.float32)
    reported = np.zeros(count, dtype=int)
    stopped = np.zeros(count, dtype=bool)
    steps = math.ceil(configs[0].num_samples / configs[0].batch_size)
    for config, entries in zip(configs, member_callbacks):
        for callback in entries:
            callback.set_params({"epochs": config.epochs, "steps": steps, "verbose": 0})
            callback.on_train_begin({})
    watched = progress is not None or callbacks is not None
    chunk = FIRST_CHUNK if watched else MAX_CHUNK
    while state.epochs_done < total and not stopped.all():
        epochs = min(chunk, total - state.epochs_done, MAX_CHUNK)
        chunk_started = time.perf_counter()
        first = state.epochs_done
        state, chunk_losses, chunk_val_losses = compiled.run(state, padded, epochs, data)
        if watched:
            per_epoch = (time.perf_counter() - chunk_started) / epochs
            chunk = int(min(MAX_CHUNK, max(1, TARGET_CHUNK_SECONDS / max(per_epoch, 1e-9))))
        losses[first:first + epochs] = chunk_losses[:, :count]
        val_losses[first:first + epochs] = chunk_val_losses[:, :count]
        finite = np.isfinite(losses[first:first + epochs])
        if compiled.has_validation:
            finite &= np.isfinite(val_losses[first:first + epochs])
        for member, config in enumerate(configs):
            if stopped[member]:
                continue
            end = min(first + epochs, config.epochs)
            bad = np.flatnonzero(~finite[:end - first, member]) if end > first else ()
            last = first + int(bad[0]) if len(bad) else end
            stopped[member] = len(bad) > 0
            for epoch in range(first, last) if member_callbacks[member] else ():
                logs = {"loss": float(losses[epoch, member])}
                if compiled.has_validation:
                    logs["val_loss"] = float(val_losses[epoch, member])
                for callback in member_callbacks[member]:
                    callback.on_epoch_begin(epoch, None)
                for callback in member_callbacks[member]:
                    callback.on_epoch_end(epoch, logs)
            reported[member] = max(reported[member], last)
        if progress is not None:
            progress(state.epochs_done, total)

    predictions, val_predictions = compiled.predict(state, data)
    final = [np.array(p) for p in state.params]
    seconds = time.perf_counter() - started
    results = []
    for member, config in enumerate(members):
        done = int(reported[member])
        weights = compiled.own([p[member] for p in final], config.config)
        # A member stopped by a non-finite loss keeps the weights after done-1 epochs (as train).
        last_epoch = max(done - 1, 0) if stopped[member] else done
        snapshots = (Snapshot(0, tuple(state.initial[member])),)
        if last_epoch > 0:
            snapshots += (Snapshot(last_epoch, weights),)
        model = None
        if build_models:
            from lstm_core.model import build_model

            model = build_model(config.config)
            for variable, value in zip(model.trainable_variables, weights):
                variable.assign(value)
        logs = {"loss": float(losses[done - 1, member])} if done else {}
        if done and compiled.has_validation:
            logs["val_loss"] = float(val_losses[done - 1, member])
        for callback in member_callbacks[member]:
            callback.on_train_end(logs)
        results.append(TrainingResult(
            config=config.config,
            losses=losses[:done, member].copy(),
            targets=config.framed.y.reshape(-1).copy(),
            predictions=predictions[member].copy(),
            model=model,
            seconds=seconds,
            stop_reason=NON_FINITE_LOSS if stopped[member] else None,
            val_losses=val_losses[:done, member].copy() if compiled.has_validation else np.empty(0, np.float32),
            val_targets=config.framed.y_val.reshape(-1).copy(),
            val_predictions=val_predictions[member].copy() if compiled.has_validation else np.empty(0, np.float32),
            data=config.framed,
            compile_seconds=compile_seconds,
            snapshots=snapshots,
        ))
    return results
