"""The compiled training engine against the tutorial's `model.fit`, and its contracts.

Determinism, mini-batch shuffling, the Keras callback contract, stopping with exact replay,
non-finite losses, the compiled-shape cache, data validation and the streaming callbacks.
Tests are ordered so that each compiled shape is compiled once (a compile takes seconds).
"""

import collections
import threading
import types

import numpy as np
import pytest

import lstm_core
from tests import faults
from lstm_core import ExperimentConfig, backend, build_model, engine, frame, frame_data
from lstm_core.streaming import LossRecorder, ThrottledCallback

keras = backend.load()

TUTORIAL_TOPOLOGIES = ["one_to_one", "many_to_one", "many_to_many"]
# Enough epochs for the loss to move well away from its start, few enough that `fit`'s
# ~50-80 ms of overhead per epoch keeps the test short.
FIT_EPOCHS = 100
# One-to-one with mini-batches of 2 over 5 samples: 3 steps per epoch, the last one padded.
MINI_BATCH = ExperimentConfig(topology="one_to_one", sequence_length=5, batch_size=2, epochs=100, seed=3)


def run_chunk(compiled, state, config, num_epochs, data_config=None):
    """One compiled call on the data of `data_config` (default: `config`'s): (new state, the epochs' losses)."""
    data = compiled.tensors(frame_data(data_config or config))
    new_state, losses, _ = compiled.run(state, config, num_epochs, data)
    return new_state, losses


def model_weights(model):
    return [np.array(w) for w in model.get_weights()]


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


def assert_identical_runs(a, b):
    """Bit-identical: every loss, every prediction and every weight."""
    assert np.array_equal(a.losses, b.losses)
    assert np.array_equal(a.predictions, b.predictions)
    assert_same_weights(model_weights(a.model), model_weights(b.model))


class EventLog(keras.callbacks.Callback):
    """Records every callback call, in order, with a copy of its logs."""

    def __init__(self):
        super().__init__()
        self.events = []
        self.models = []

    def set_model(self, model):
        super().set_model(model)
        self.models.append(model)
        self.events.append(("set_model", None, None))

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin", None, dict(logs or {})))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch, None))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, dict(logs or {})))

    def on_train_end(self, logs=None):
        self.events.append(("train_end", None, dict(logs or {})))

    def of(self, kind):
        return [event for event in self.events if event[0] == kind]


class StopAt(keras.callbacks.Callback):
    """Asks the run to stop at the end of epoch `stop_epoch`, the way EarlyStopping does."""

    def __init__(self, stop_epoch):
        super().__init__()
        self.stop_epoch = stop_epoch
        self.epochs_seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_seen.append(epoch)
        if epoch == self.stop_epoch:
            self.model.stop_training = True


# --------------------------------------------------------------------------- (1) against model.fit


@pytest.mark.parametrize("topology", TUTORIAL_TOPOLOGIES)
def test_engine_matches_the_tutorials_model_fit(topology):
    config = ExperimentConfig(topology=topology).replace(epochs=FIT_EPOCHS)
    assert config.batch_size == config.num_samples  # the tutorial's settings are full batch
    X, y = frame(config)
    model = build_model(config)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate), loss="mse")
    history = model.fit(X, y, epochs=config.epochs, batch_size=config.batch_size, shuffle=False, verbose=0)
    fit_losses = np.array(history.history["loss"])

    result = lstm_core.train(config)

    assert result.stop_reason is None
    assert result.epochs_completed == FIT_EPOCHS == len(fit_losses)
    assert fit_losses[-1] < 0.9 * fit_losses[0]  # it learned something: the comparison means something
    np.testing.assert_allclose(result.losses, fit_losses, rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.predictions, model.predict(X, verbose=0).reshape(-1), rtol=0, atol=1e-4)
    for trained, fitted in zip(model_weights(result.model), model_weights(model)):
        np.testing.assert_allclose(trained, fitted, rtol=0, atol=1e-4)
    assert np.array_equal(result.targets, y.reshape(-1))
    assert result.final_mse == pytest.approx(float(np.mean((result.predictions - y.reshape(-1)) ** 2)))
    assert result.max_abs_error == pytest.approx(float(np.max(np.abs(result.predictions - y.reshape(-1)))))


def test_result_model_predicts_the_result_predictions():
    config = ExperimentConfig(topology="many_to_one", epochs=50)
    result = lstm_core.train(config)
    X, _ = frame(config)
    assert isinstance(result.model, keras.Model)
    np.testing.assert_allclose(np.asarray(result.model(X)).reshape(-1), result.predictions, rtol=0, atol=1e-6)
    assert np.array_equal(lstm_core.predict(result.model, config), result.predictions)


# --------------------------------------------------------------------------- (7) the compiled-shape cache
# (before the mini-batch tests: the shape shared here is the mini-batch one, compiled once.)


def test_configs_differing_only_in_epochs_learning_rate_and_seed_share_one_compiled_shape(monkeypatch):
    first = MINI_BATCH.replace(epochs=20, learning_rate=0.001, seed=1)
    second = MINI_BATCH.replace(epochs=30, learning_rate=0.01, seed=2)
    key = engine.compiled_key(first)
    assert engine.compiled_key(second) == key
    monkeypatch.delitem(engine._cache, key, raising=False)  # restored afterwards if it was there
    monkeypatch.setattr(engine, "MAX_CACHED_SHAPES", len(engine.compiled_shapes()) + 10)
    before = engine.compiled_shapes()
    assert key not in before

    first_result = lstm_core.train(first)
    after_first = engine.compiled_shapes()
    second_result = lstm_core.train(second)
    after_second = engine.compiled_shapes()

    assert len(after_first) == len(before) + 1
    assert set(after_first) - set(before) == {key}
    assert sorted(after_second) == sorted(after_first)
    assert after_second[-1] == key  # most recently used last
    assert engine._compiled_for(first) is engine._compiled_for(second)
    # One compiled function, two different runs.
    assert (first_result.epochs_completed, second_result.epochs_completed) == (20, 30)
    assert not np.array_equal(first_result.losses[:20], second_result.losses[:20])


def test_the_cache_is_bounded_and_drops_the_least_recently_used_shape(monkeypatch):
    one, many, sequence = (ExperimentConfig(topology=t, epochs=5) for t in TUTORIAL_TOPOLOGIES)
    one_compiled, many_compiled = engine._compiled_for(one), engine._compiled_for(many)
    cache = collections.OrderedDict([(engine.compiled_key(one), one_compiled), (engine.compiled_key(many), many_compiled)])
    monkeypatch.setattr(engine, "_cache", cache)
    monkeypatch.setattr(engine, "MAX_CACHED_SHAPES", 2)

    lstm_core.train(many)
    lstm_core.train(one)  # now `many` is the least recently used
    assert engine.compiled_shapes() == [engine.compiled_key(many), engine.compiled_key(one)]
    result = lstm_core.train(sequence)  # a third shape: compiled, and `many` dropped

    assert engine.compiled_shapes() == [engine.compiled_key(one), engine.compiled_key(sequence)]
    assert len(cache) == 2
    assert cache[engine.compiled_key(one)] is one_compiled  # kept, not recompiled
    assert result.epochs_completed == 5 and np.all(np.isfinite(result.losses))


def test_units_in_one_bucket_share_one_compiled_function_and_train_as_alone():
    """Units 6, 7 and 8 are compiled 8 wide: no compile when a learner clicks units +1, and the
    padded units change nothing (checked against model.fit for every topology × cell in
    test_engine_tasks.py; here, the weights of the real units come back exactly where they were).
    The tutorial's 5 units are compiled as they are."""
    six, seven = (ExperimentConfig(topology="many_to_many", units=units, epochs=30) for units in (6, 7))
    assert engine.compiled_key(six) == engine.compiled_key(seven) != engine.compiled_key(six.replace(units=9))
    assert engine.compiled_key(six.replace(units=5)) == six.replace(units=5).shape_key  # not padded
    assert engine._compiled_for(six) is engine._compiled_for(seven)
    result = lstm_core.train(seven)
    assert [w.shape for w in model_weights(result.model)] == [w.shape for w in model_weights(build_model(seven))]
    initial = result.snapshots[0].weights
    assert_same_weights(list(initial), model_weights(build_model(seven)))


def test_lengths_in_one_bucket_share_one_compiled_function_where_the_topology_allows_it():
    """Lengths 7 and 8 are compiled 8 steps long, except for one-to-one (its length is its number
    of samples); the topologies that read the whole sequence first mask the padded steps; the
    buckets are the only lengths that run unpadded."""
    seven, eight = (ExperimentConfig(topology="many_to_many", sequence_length=n, epochs=10) for n in (7, 8))
    assert engine.compiled_key(seven) == engine.compiled_key(eight) != engine.compiled_key(seven.replace(sequence_length=9))
    assert engine._compiled_for(seven) is engine._compiled_for(eight)
    padded = {key for key, topology in lstm_core.TOPOLOGIES.items() if topology.pads_time}
    assert padded == set(lstm_core.TOPOLOGIES) - {"one_to_one"}
    masked = {key for key, topology in lstm_core.TOPOLOGIES.items() if topology.masks_padding}
    assert masked == {"many_to_one", "encoder_decoder", "bidirectional"} and masked <= padded
    for key in lstm_core.TOPOLOGIES:
        config = seven.replace(topology=key)
        assert engine.padded_length(config) == (8 if key in padded else 7), key
    for length in engine.LENGTH_BUCKETS:
        assert engine.padded_length(seven.replace(sequence_length=length)) == length
    assert engine.LENGTH_BUCKETS[-1] == lstm_core.config.FIELDS["sequence_length"].maximum


@pytest.mark.parametrize("topology, task", [("many_to_many", "echo"), ("many_to_many", "delay"),
                                            ("stacked", "running_sum"), ("one_to_many", "memory"),
                                            ("encoder_decoder", "reverse"), ("bidirectional", "reverse"),
                                            ("many_to_one", "reverse")])
def test_a_run_padded_to_its_length_bucket_trains_as_the_unpadded_run(monkeypatch, topology, task):
    """Length 7 runs 8 steps long with the 8th step out of the loss: every loss, validation loss,
    prediction and weight equals the same run compiled 7 steps long (float rounding apart)."""
    config = ExperimentConfig(topology=topology, task=task, sequence_length=7, epochs=40, seed=8)
    padded = lstm_core.train(config)
    assert engine.padded_length(config) == 8
    monkeypatch.setattr(engine, "LENGTH_BUCKETS", tuple(sorted({*engine.LENGTH_BUCKETS, 7})))
    assert engine.padded_length(config) == 7
    alone = lstm_core.train(config)
    assert padded.predictions.shape == alone.predictions.shape == padded.targets.shape
    assert padded.val_predictions.shape == alone.val_predictions.shape == padded.val_targets.shape
    assert padded.losses[-1] < padded.losses[0]  # it learned: the comparison means something
    np.testing.assert_allclose(padded.losses, alone.losses, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(padded.val_losses, alone.val_losses, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(padded.predictions, alone.predictions, rtol=0, atol=1e-5)
    for a, b in zip(model_weights(padded.model), model_weights(alone.model)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    # Replaying a snapshot (the Explorer's replay, the Inside page's epoch slider) gives the real
    # steps too, as the lone run does.
    for split in ("train", "validation"):
        replayed = padded.predictions_at(padded.snapshots[1], split)
        np.testing.assert_allclose(replayed, alone.predictions_at(alone.snapshots[1], split), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(padded.predictions_at(padded.snapshots[-1]), padded.predictions)


def test_a_padded_runs_loss_is_the_mean_over_its_real_steps_only():
    """With the weights frozen, the loss of a length-7 run compiled 8 long is the Keras model's
    mean squared error over the 7 real steps (to float rounding); counting the padded 8th (target 0, output
    not 0) would change it."""
    config = ExperimentConfig(topology="many_to_many", task="delay", sequence_length=7, epochs=3, seed=2)
    model = build_model(config)
    data = frame_data(config)
    errors = (np.asarray(model(data.X)) - data.y) ** 2
    val_errors = (np.asarray(model(data.X_val)) - data.y_val) ** 2
    compiled = engine._compiled_for(config)
    assert compiled.length == 8
    frozen = types.SimpleNamespace(learning_rate=0.0, seed=config.seed)
    tensors = compiled.tensors(data)
    _, losses, val_losses = compiled.run(compiled.initial_state(model, config.units), frozen, 3, tensors)
    np.testing.assert_allclose(losses, errors.mean(), rtol=1e-5)
    np.testing.assert_allclose(val_losses, val_errors.mean(), rtol=1e-5)
    eight_long = build_model(config.replace(sequence_length=8))
    eight_long.set_weights(model.get_weights())  # no weight depends on the length
    padded_output = np.asarray(eight_long(np.asarray(tensors.X)))
    np.testing.assert_allclose(padded_output[:, :7], np.asarray(model(data.X)), rtol=0, atol=1e-6)  # causal
    counted = np.concatenate([errors, padded_output[:, 7:] ** 2], axis=1).mean()
    assert abs(counted - errors.mean()) > 1e-4 * errors.mean()  # the test could tell them apart


@pytest.mark.parametrize("units, features", [(5, 1), (3, 3), (7, 14)])
def test_padding_places_each_gate_block_and_unpadding_takes_it_back(units, features):
    rng = np.random.default_rng(units)
    width = engine.padded_units(units)
    kernel = rng.normal(size=(features, 4 * units))  # an LSTM kernel: four gate blocks
    padded = engine._pad(kernel, (features, 4 * width), units, width)
    assert padded.shape == (features, 4 * width)
    for gate in range(4):
        block = padded[:, gate * width:(gate + 1) * width]
        assert np.array_equal(block[:, :units], kernel[:, gate * units:(gate + 1) * units])
        assert not np.any(block[:, units:])
    assert np.array_equal(engine._unpad(padded, kernel.shape, units, width), kernel)


# --------------------------------------------------------------------------- (2) determinism


def test_same_config_twice_is_bit_identical():
    config = ExperimentConfig(epochs=200, seed=21)
    assert_identical_runs(lstm_core.train(config), lstm_core.train(config))


def test_runs_are_not_disturbed_by_other_runs_of_the_same_shape_in_between():
    config = ExperimentConfig(topology="many_to_many", epochs=60, seed=4)
    before = lstm_core.train(config)
    lstm_core.train(config.replace(seed=5, learning_rate=0.05, epochs=30))
    assert_identical_runs(before, lstm_core.train(config))


def test_same_config_in_two_threads_at_once_is_bit_identical_to_a_lone_run():
    config = ExperimentConfig(epochs=200, seed=22)
    other = ExperimentConfig(topology="many_to_one", epochs=200, seed=22)
    alone, other_alone = lstm_core.train(config), lstm_core.train(other)
    barrier = threading.Barrier(3)
    results, errors = collections.defaultdict(list), []

    def run(name, run_config):
        try:
            barrier.wait(timeout=60)
            for _ in range(2):
                results[name].append(lstm_core.train(run_config))
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=("a", config)),
        threading.Thread(target=run, args=("b", config)),
        threading.Thread(target=run, args=("other", other)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors
    assert len(results["a"]) == len(results["b"]) == len(results["other"]) == 2
    for result in results["a"] + results["b"]:
        assert_identical_runs(result, alone)
    for result in results["other"]:
        assert_identical_runs(result, other_alone)


@pytest.mark.parametrize("topology", TUTORIAL_TOPOLOGIES)
def test_different_seed_gives_different_losses(topology):
    config = ExperimentConfig(topology=topology, epochs=50, seed=1)
    a, b = lstm_core.train(config), lstm_core.train(config.replace(seed=2))
    assert not np.allclose(a.losses, b.losses)
    assert not np.allclose(a.predictions, b.predictions)


def test_learning_rate_changes_the_run():
    config = ExperimentConfig(epochs=50)
    a, b = lstm_core.train(config), lstm_core.train(config.replace(learning_rate=0.01))
    assert a.losses[0] == b.losses[0]  # same initial weights: the first loss is computed before any update
    assert not np.allclose(a.losses[1:], b.losses[1:])


# --------------------------------------------------------------------------- (3) mini-batches


def test_mini_batch_runs_are_deterministic():
    first, second = lstm_core.train(MINI_BATCH), lstm_core.train(MINI_BATCH)
    assert_identical_runs(first, second)
    assert first.epochs_completed == MINI_BATCH.epochs
    assert np.all(np.isfinite(first.losses))


def test_mini_batch_loss_differs_from_full_batch():
    mini = lstm_core.train(MINI_BATCH)
    full = lstm_core.train(MINI_BATCH.replace(batch_size=5))
    # Same seed, so same initial weights; three updates per epoch instead of one.
    assert_same_weights(model_weights(build_model(MINI_BATCH)), model_weights(build_model(full.config)))
    assert not np.allclose(mini.losses, full.losses)
    assert mini.losses[-1] < full.losses[-1]  # three times the updates: further along


def test_mini_batch_different_seed_gives_different_losses():
    a, b = lstm_core.train(MINI_BATCH), lstm_core.train(MINI_BATCH.replace(seed=4))
    assert not np.allclose(a.losses, b.losses)


def test_the_seed_changes_the_shuffle_alone_from_the_same_weights():
    """From the same weights, only the batch order can make two seeds differ; full batch it cannot."""
    model = build_model(MINI_BATCH)
    compiled = engine._compiled_for(MINI_BATCH)
    state = compiled.initial_state(model, MINI_BATCH.units)
    _, seed_one = run_chunk(compiled, state, MINI_BATCH.replace(seed=1), 20)
    _, seed_one_again = run_chunk(compiled, state, MINI_BATCH.replace(seed=1), 20)
    _, seed_two = run_chunk(compiled, state, MINI_BATCH.replace(seed=2), 20)
    assert np.array_equal(seed_one, seed_one_again)
    assert not np.allclose(seed_one, seed_two)

    full = MINI_BATCH.replace(batch_size=5)
    full_compiled = engine._compiled_for(full)
    full_state = full_compiled.initial_state(model, full.units)
    _, full_one = run_chunk(full_compiled, full_state, full.replace(seed=1), 20)
    _, full_two = run_chunk(full_compiled, full_state, full.replace(seed=2), 20)
    assert np.array_equal(full_one, full_two)


def test_mini_batch_epoch_loss_is_the_sample_weighted_mean_of_the_batch_losses():
    """The epoch loss as `fit` logs it: batches of 2, 2 and 1 samples, weighted by their sizes.

    With a learning rate of 0 the weights never move, so whatever the shuffle, every epoch's
    loss must be the plain mean of the per-sample losses at the initial weights. Averaging the
    three batch means instead would give (S + loss of the lone sample) / 6, and letting the
    padding row (a copy of a sample) count would shift it too.
    """
    model = build_model(MINI_BATCH)
    X, y = frame(MINI_BATCH)
    per_sample = (np.asarray(model(X)).reshape(-1) - y.reshape(-1)) ** 2
    expected = float(np.mean(per_sample))
    # The wrong averages would be measurably off for every choice of the lone sample.
    assert np.min(np.abs(per_sample - expected)) / 6 > 1e-4

    compiled = engine._compiled_for(MINI_BATCH)
    frozen = types.SimpleNamespace(learning_rate=0.0, seed=MINI_BATCH.seed)  # below the config's range
    state, losses = run_chunk(compiled, compiled.initial_state(model, MINI_BATCH.units), frozen, 20, data_config=MINI_BATCH)
    np.testing.assert_allclose(losses, expected, rtol=0, atol=1e-6)
    assert_same_weights(list(engine._own_weights(state.params, state)), model_weights(model))


# --------------------------------------------------------------------------- (4) callback contract


def test_callback_contract():
    config = ExperimentConfig(epochs=40)  # more than one compiled chunk
    log = EventLog()
    result = lstm_core.train(config, callbacks=[log])

    assert log.events[0][0] == "set_model"
    assert len(log.models) == 1 and isinstance(log.models[0], keras.Model)
    assert log.models[0] is result.model
    assert log.params["epochs"] == 40

    kinds = [event[0] for event in log.events]
    assert kinds.count("train_begin") == 1 and kinds.count("train_end") == 1
    assert kinds[1] == "train_begin" and kinds[-1] == "train_end"
    assert kinds[2:-1] == ["epoch_begin", "epoch_end"] * 40
    assert [event[1] for event in log.of("epoch_begin")] == list(range(40))
    assert [event[1] for event in log.of("epoch_end")] == list(range(40))

    logged = np.array([event[2]["loss"] for event in log.of("epoch_end")], dtype=np.float32)
    assert all(isinstance(event[2]["loss"], float) for event in log.of("epoch_end"))
    assert np.array_equal(logged, result.losses)
    assert log.of("train_end")[0][2]["loss"] == pytest.approx(float(result.losses[-1]))
    assert result.stop_reason is None


def test_several_callbacks_are_called_in_order_for_each_epoch():
    order = []

    class Named(keras.callbacks.Callback):
        def __init__(self, name):
            super().__init__()
            self.name = name

        def on_epoch_end(self, epoch, logs=None):
            order.append((epoch, self.name))

    lstm_core.train(ExperimentConfig(epochs=20), callbacks=[Named("a"), Named("b")])
    assert order == [(epoch, name) for epoch in range(20) for name in ("a", "b")]


def test_loss_recorder_records_all_losses():
    recorder = LossRecorder()
    config = ExperimentConfig(topology="many_to_many", epochs=150)
    result = lstm_core.train(config, callbacks=[recorder])
    assert recorder.count == 150
    assert np.array_equal(recorder.losses, result.losses.astype(np.float64))
    # Reused for a second run, it starts again.
    again = lstm_core.train(config.replace(epochs=30, seed=8), callbacks=[recorder])
    assert np.array_equal(recorder.losses, again.losses.astype(np.float64))


def test_loss_recorder_grows_past_the_planned_epochs():
    recorder = LossRecorder()  # no params: nothing planned, so it must grow
    recorder.on_train_begin()
    for epoch in range(40):
        recorder.on_epoch_end(epoch, {"loss": epoch / 10})
    assert np.array_equal(recorder.losses, np.arange(40) / 10)


# --------------------------------------------------------------------------- (5) stopping


@pytest.mark.parametrize("stop_epoch", [0, 15, 123])  # 15: the last epoch of the first chunk
@pytest.mark.parametrize("config", [ExperimentConfig(epochs=200, seed=5), MINI_BATCH.replace(epochs=200)],
                         ids=["full_batch", "mini_batch"])
def test_stop_training_keeps_exactly_what_was_learned(config, stop_epoch):
    assert engine.FIRST_CHUNK == 16  # the chunk boundary the parameters above aim at
    stopper = StopAt(stop_epoch)
    stopped = lstm_core.train(config, callbacks=[stopper])
    clean = lstm_core.train(config.replace(epochs=stop_epoch + 1))

    assert stopped.stop_reason == "stopped"
    assert stopped.epochs_completed == stop_epoch + 1
    assert stopper.epochs_seen == list(range(stop_epoch + 1))  # no epoch reported after the stop
    assert clean.stop_reason is None
    assert_identical_runs(stopped, clean)


def test_stop_at_the_last_epoch_keeps_every_epoch():
    config = ExperimentConfig(epochs=30, seed=5)
    stopped = lstm_core.train(config, callbacks=[StopAt(29)])
    assert stopped.epochs_completed == 30
    assert_identical_runs(stopped, lstm_core.train(config))


# --------------------------------------------------------------------------- (6) non-finite losses


def test_a_loss_that_is_not_finite_at_once_stops_with_the_initial_weights(monkeypatch):
    config = ExperimentConfig(epochs=50)
    faults.nan_loss_at(monkeypatch, 0)
    log = EventLog()
    draws = []
    throttled = ThrottledCallback(lambda done, total, losses: draws.append((done, total, losses.copy())),
                                  clock=lambda: 0.0)
    result = lstm_core.train(config, callbacks=[log, throttled])

    assert result.stop_reason == "non_finite_loss"
    assert result.epochs_completed == 0 and len(result.losses) == 0
    assert np.all(np.isfinite(result.predictions))
    initial = build_model(config)
    assert np.array_equal(result.predictions, lstm_core.predict(initial, config))
    assert_same_weights(model_weights(result.model), model_weights(initial))
    assert log.of("epoch_end") == [] and len(log.of("train_end")) == 1
    assert len(draws) == 1 and draws[0][0] == 0 and len(draws[0][2]) == 0


def test_tasks_of_one_shape_share_the_compiled_function_and_train_on_their_own_data():
    delay = ExperimentConfig(task="delay", topology="many_to_many", sequence_length=4, num_sequences=8, epochs=20)
    reverse = delay.replace(task="reverse")
    assert delay.shape_key == reverse.shape_key
    first = lstm_core.train(delay)
    compiled = engine.compiled_shapes().count(engine.compiled_key(delay))
    second = lstm_core.train(reverse)
    assert engine.compiled_shapes().count(engine.compiled_key(delay)) == compiled == 1
    assert not np.allclose(first.losses, second.losses)
    expected_reverse = second.data.sequences.train_inputs[:, ::-1]
    assert np.array_equal(second.targets, expected_reverse.reshape(-1))


@pytest.mark.parametrize("bad_epoch", [5, 16, 40])  # 16: the first epoch of the second chunk
@pytest.mark.parametrize("config", [ExperimentConfig(epochs=100, seed=6), MINI_BATCH],
                         ids=["full_batch", "mini_batch"])
def test_a_loss_that_turns_nan_mid_run_rewinds_to_the_last_sound_weights(monkeypatch, config, bad_epoch):
    clean = lstm_core.train(config)
    sound = lstm_core.train(config.replace(epochs=bad_epoch - 1))
    faults.nan_loss_at(monkeypatch, bad_epoch)
    stopper = StopAt(stop_epoch=-1)  # never stops: records the epochs reported
    result = lstm_core.train(config, callbacks=[stopper])

    assert result.stop_reason == "non_finite_loss"
    assert result.epochs_completed == bad_epoch
    assert stopper.epochs_seen == list(range(bad_epoch))  # the NaN epoch is not reported
    assert np.array_equal(result.losses, clean.losses[:bad_epoch])
    # The NaN loss came from the weights after `bad_epoch` updates; the last sound ones are one earlier.
    assert np.array_equal(result.predictions, sound.predictions)
    assert_same_weights(model_weights(result.model), model_weights(sound.model))


# --------------------------------------------------------------------------- (9) throttled drawing


class FakeClock:
    """A clock that moves `step` seconds each time it is read."""

    def __init__(self, step):
        self.step = step
        self.now = 0.0

    def __call__(self):
        self.now += self.step
        return self.now


class Drawings:
    def __init__(self, clock):
        self.clock = clock
        self.calls = []  # (epochs done, total, copy of the losses, clock time)

    def __call__(self, done, total, losses):
        self.calls.append((done, total, np.array(losses, copy=True), self.clock.now))


def drive(callback, losses):
    """Plays a run of `losses` through a callback, as the engine would."""
    callback.set_params({"epochs": len(losses), "steps": 1, "verbose": 0})
    callback.on_train_begin({})
    for epoch, loss in enumerate(losses):
        callback.on_epoch_begin(epoch, None)
        callback.on_epoch_end(epoch, {"loss": float(loss)})
    callback.on_train_end({"loss": float(losses[-1])} if len(losses) else {})


@pytest.mark.parametrize("step", [0.0, 0.013, 0.03, 0.1, 0.25])
def test_throttled_callback_draws_at_most_once_per_interval_and_always_the_end(step):
    clock = FakeClock(step)
    drawings = Drawings(clock)
    callback = ThrottledCallback(drawings, min_interval=0.1, clock=clock)
    losses = np.linspace(1.0, 0.01, 97)
    drive(callback, losses)

    calls = drawings.calls
    assert callback.draws == len(calls)
    assert [call[0] for call in calls] == sorted({call[0] for call in calls})  # increasing, no repeats
    assert calls[-1][0] == 97 and [call[0] for call in calls].count(97) == 1  # the end, exactly once
    assert all(call[1] == 97 for call in calls)
    for done, _, drawn, _ in calls:
        assert np.array_equal(drawn, losses[:done])  # what was recorded, in order
    # Draws during the run are at least min_interval apart (the last one may be the end-of-run draw).
    times = [call[3] for call in calls[:-1]]
    assert all(later - earlier >= 0.1 - 1e-9 for earlier, later in zip(times, times[1:]))
    # The first draw waits min_interval from the start (the clock was read once at the start).
    assert calls[0][3] >= step + 0.1 - 1e-9 or calls[0][0] == 97
    assert len(calls) <= int(97 * step / 0.1) + 1


def test_throttled_callback_with_a_stopped_clock_draws_only_the_last_epoch():
    clock = FakeClock(0.0)
    drawings = Drawings(clock)
    drive(ThrottledCallback(drawings, min_interval=0.1, clock=clock), np.arange(50.0))
    assert [call[0] for call in drawings.calls] == [50]


def test_throttled_callback_with_a_slow_clock_draws_every_epoch_once():
    clock = FakeClock(0.5)
    drawings = Drawings(clock)
    drive(ThrottledCallback(drawings, min_interval=0.1, clock=clock), np.arange(30.0))
    assert [call[0] for call in drawings.calls] == list(range(1, 31))


def test_throttled_callback_is_reusable_across_runs():
    clock = FakeClock(0.0)
    drawings = Drawings(clock)
    callback = ThrottledCallback(drawings, min_interval=0.1, clock=clock)
    drive(callback, np.arange(10.0))
    drive(callback, np.arange(5.0) + 100)
    assert [call[0] for call in drawings.calls] == [10, 5]
    assert np.array_equal(drawings.calls[-1][2], np.arange(5.0) + 100)
    assert callback.draws == 1


def test_throttled_callback_in_a_real_run():
    clock = FakeClock(0.01)
    drawings = Drawings(clock)
    callback = ThrottledCallback(drawings, min_interval=0.1, clock=clock)
    result = lstm_core.train(ExperimentConfig(topology="many_to_one", epochs=150), callbacks=[callback])
    calls = drawings.calls
    assert 2 <= len(calls) <= 150 * 0.01 / 0.1 + 1
    assert calls[-1][0] == 150 and calls[-1][1] == 150
    assert np.array_equal(calls[-1][2], result.losses.astype(np.float64))
    assert np.array_equal(callback.losses, result.losses.astype(np.float64))


def test_throttled_callback_draws_the_end_of_a_stopped_run():
    clock = FakeClock(0.0)
    drawings = Drawings(clock)
    throttled = ThrottledCallback(drawings, min_interval=0.1, clock=clock)
    result = lstm_core.train(ExperimentConfig(epochs=200, seed=5), callbacks=[StopAt(123), throttled])
    assert result.epochs_completed == 124
    assert [call[0] for call in drawings.calls] == [124]
    assert np.array_equal(drawings.calls[-1][2], result.losses.astype(np.float64))


def test_near_the_memory_mapping_limit_new_shapes_are_refused_and_compiled_ones_still_train(monkeypatch):
    """XLA never frees a program and each holds ~100-250 memory mappings: past vm.max_map_count
    the process would crash. Near it, a new shape gets ShapeLimitReached (with a text for the
    page), a compiled one trains, and nothing is compiled ahead."""
    from lstm_core import prefetch

    compiled = ExperimentConfig(topology="many_to_many", epochs=3)
    engine.compile_shape(compiled)
    used, limit = engine._mappings()
    assert 0 < used < engine.MAX_MAP_SHARE * limit and engine.room_to_compile()
    monkeypatch.setattr(engine, "_mappings", lambda: (int(limit * 0.9), limit))
    assert not engine.room_to_compile()
    new = compiled.replace(topology="stacked", cell="simple_rnn", units=41, sequence_length=13)
    assert engine.compiled_key(new) not in engine.compiled_shapes()
    with pytest.raises(engine.ShapeLimitReached) as refused:
        lstm_core.train(new)
    assert "restart" in refused.value.page_text
    assert len(lstm_core.train(compiled).losses) == 3
    assert not prefetch._room()
    from app import shell

    assert shell.failure_message(refused.value, "training") == engine.ShapeLimitReached.page_text
    from lstm_core import compare

    assert compare.failure_text(refused.value) == engine.ShapeLimitReached.page_text.rstrip(".")
    assert "ValueError" in compare.failure_text(ValueError("/srv/secret/path.py"))
