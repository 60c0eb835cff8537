"""train_many: a population of one shape equals each member's own `train` run.

Each case trains five configs (different seeds, learning rates and so task data; in one case
different epochs too) as one population and compares every member with `lstm_core.train`
alone: training losses, validation losses and predictions within 1e-5. Each case compiles one
population shape and one engine shape (a few seconds each), so the epochs and units are small.
"""

import threading

import numpy as np
import pytest

import lstm_core
from lstm_core import ExperimentConfig
from lstm_core.population import train_many

SEEDS = (3, 11, 12, 40, 77)
RATES = (0.02, 0.005, 0.03, 0.01, 0.05)

CASES = {
    # one-to-one with mini-batches: 5 samples in batches of 2 (a padded last batch), shuffled per seed.
    "one_to_one-lstm-minibatch": dict(task="echo", topology="one_to_one", cell="lstm", units=3, batch_size=2,
                                      epochs=12),
    "many_to_many-gru": dict(task="echo", topology="many_to_many", cell="gru", units=3, epochs=15),
    "bidirectional-simple_rnn-validation": dict(task="delay", topology="bidirectional", cell="simple_rnn",
                                                sequence_length=4, units=3, num_sequences=10, batch_size=4,
                                                epochs=6),
    "encoder_decoder-lstm-validation": dict(task="delay", topology="encoder_decoder", cell="lstm",
                                            sequence_length=4, units=3, num_sequences=8, batch_size=8, epochs=8),
}


def _population(case, epochs=None):
    base = ExperimentConfig(**CASES[case])
    return [base.replace(seed=seed, learning_rate=rate, epochs=epochs[index] if epochs else base.epochs)
            for index, (seed, rate) in enumerate(zip(SEEDS, RATES))]


def _assert_same(result, alone):
    assert len(result.losses) == len(alone.losses) == result.config.epochs
    np.testing.assert_allclose(result.losses, alone.losses, rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.val_losses, alone.val_losses, rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.predictions, alone.predictions, rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.val_predictions, alone.val_predictions, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(result.targets, alone.targets)
    assert result.stop_reason is None


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_member_equals_its_own_run(case):
    configs = _population(case)
    results = train_many(configs)

    assert [result.config for result in results] == configs
    alone = [lstm_core.train(config) for config in configs]
    for result, single in zip(results, alone):
        _assert_same(result, single)
    # The members really differ (seeds and rates), so equal results are not one run copied.
    finals = {round(float(result.losses[-1]), 6) for result in results}
    assert len(finals) == len(configs)
    assert all(result.losses[-1] < result.losses[0] for result in results)
    if configs[0].num_val_samples:
        assert all(len(result.val_losses) == config.epochs for result, config in zip(results, configs))
        # Task data differs by seed: the members' targets are not the same sequences.
        assert not np.array_equal(results[0].val_targets, results[1].val_targets)


def test_members_keep_their_own_epochs():
    configs = _population("one_to_one-lstm-minibatch", epochs=(12, 5, 9, 12, 1))
    results = train_many(configs)
    for result, config in zip(results, configs):
        _assert_same(result, lstm_core.train(config))
        assert result.snapshots[-1].epoch == config.epochs


@pytest.mark.parametrize("case", ["many_to_many-gru", "bidirectional-simple_rnn-validation",
                                  "encoder_decoder-lstm-validation"])
def test_members_of_different_units_share_one_population_and_equal_their_own_runs(case):
    """Units 1 to 6 train at the widest one's bucket (8), the narrower members' extra units held
    at zero: each still equals its own run, and its weights come back at its own units."""
    from lstm_core import population

    configs = [config.replace(units=units) for config, units in zip(_population(case), (1, 2, 3, 5, 6))]
    population._cache.clear()
    results = train_many(configs, build_models=True)
    assert len(population._cache) == 1  # one compile for every units value
    (compiled,) = population._cache.values()
    assert compiled.width == 8
    for result, config in zip(results, configs):
        alone = lstm_core.train(config)
        _assert_same(result, alone)
        own_shapes = [tuple(v.shape) for v in lstm_core.build_model(config).trainable_variables]
        for snapshot in result.snapshots:
            assert [w.shape for w in snapshot.weights] == own_shapes
        np.testing.assert_allclose(result.snapshots[0].weights[0], alone.snapshots[0].weights[0], rtol=0, atol=0)
        for mine, theirs in zip(result.snapshots[-1].weights, alone.snapshots[-1].weights):
            np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-4)
        predicted = result.model.predict(result.data.X, verbose=0).reshape(-1)
        np.testing.assert_allclose(predicted, result.predictions, rtol=0, atol=1e-5)


def test_configs_of_different_shapes_are_refused():
    configs = _population("many_to_many-gru")
    with pytest.raises(ValueError, match=r"one shape.*topology 'many_to_many' vs 'stacked'"):
        train_many([configs[0], configs[1].replace(topology="stacked")])
    with pytest.raises(ValueError, match=r"cell 'gru' vs 'lstm'"):
        train_many([configs[0], configs[1].replace(cell="lstm", units=4)])


def test_two_threads_at_once_give_the_same_results():
    configs = _population("many_to_many-gru")
    expected = train_many(configs)
    other = [config.replace(seed=config.seed + 100) for config in configs]
    expected_other = train_many(other)
    got = {}

    def work(name, population):
        got[name] = train_many(population)

    threads = [threading.Thread(target=work, args=("a", configs)), threading.Thread(target=work, args=("b", other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for results, reference in ((got["a"], expected), (got["b"], expected_other)):
        for result, alone in zip(results, reference):
            np.testing.assert_array_equal(result.losses, alone.losses)
            np.testing.assert_array_equal(result.predictions, alone.predictions)


def test_progress_and_callbacks_see_every_epoch_of_every_member():
    configs = _population("many_to_many-gru")
    seen = []
    progress = []
    results = train_many(configs, callbacks=lambda member, epoch, logs: seen.append((member, epoch, logs["loss"])),
                         progress=lambda done, total: progress.append((done, total)))
    assert progress[-1] == (configs[0].epochs, configs[0].epochs)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    for member, result in enumerate(results):
        mine = [(epoch, loss) for who, epoch, loss in seen if who == member]
        assert [epoch for epoch, _ in mine] == list(range(configs[member].epochs))
        np.testing.assert_array_equal([loss for _, loss in mine], result.losses)


def test_models_are_built_on_request_with_the_trained_weights():
    configs = _population("many_to_many-gru")[:2]
    results = train_many(configs, build_models=True)
    for result in results:
        predicted = result.model.predict(result.data.X, verbose=0).reshape(-1)
        np.testing.assert_allclose(predicted, result.predictions, rtol=0, atol=1e-5)


def test_the_batched_matmul_route_equals_the_broadcast_one(monkeypatch):
    # Small layers multiply by broadcasting, bigger ones by batched matmuls: force the latter here.
    from lstm_core import population

    monkeypatch.setattr(population, "BROADCAST_MATMUL_MAX", 0)
    monkeypatch.setattr(population, "_cache", population.collections.OrderedDict())
    configs = _population("bidirectional-simple_rnn-validation")[:3]
    for result, config in zip(train_many(configs), configs):
        _assert_same(result, lstm_core.train(config))


def test_training_a_population_first_keeps_retracing_warnings_out_of_the_log():
    """One tf.function per shape is by design; a server whose first run is the Landscape's
    must not log TensorFlow's "frequent retracing" warning for it (engine's filter)."""
    import tensorflow as tf

    from lstm_core import engine

    logger = tf.get_logger()
    for installed in [f for f in logger.filters if isinstance(f, engine._RetracingWarningFilter)]:
        logger.removeFilter(installed)
    engine._install_log_filter.cache_clear()
    train_many(_population("many_to_many-gru")[:1])
    assert any(isinstance(f, engine._RetracingWarningFilter) for f in logger.filters)
