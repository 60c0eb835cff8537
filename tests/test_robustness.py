"""lstm_core.robustness: seed configs, quantile curves over ragged runs, summaries, population training."""

from __future__ import annotations

import types

import numpy as np
import pytest

import lstm_core
from lstm_core import ExperimentConfig, robustness


def fake_result(seed, score, losses, val_losses=(), topology="many_to_many", task="delay"):
    """A stand-in with the attributes summarise reads (a real TrainingResult is tested below)."""
    config = ExperimentConfig(topology=topology, task=task, seed=seed, epochs=1)
    return types.SimpleNamespace(config=config, score=score, losses=np.asarray(losses, float),
                                 val_losses=np.asarray(val_losses, float), has_validation=len(val_losses) > 0)


def test_seed_configs_change_only_the_seed():
    config = ExperimentConfig(task="delay", topology="one_to_one", epochs=7)
    configs = robustness.seed_configs(config, 4, first_seed=10)
    assert [c.seed for c in configs] == [10, 11, 12, 13]
    assert all(c.replace(seed=config.seed) == config for c in configs)
    with pytest.raises(ValueError):
        robustness.seed_configs(config, 0)


def test_quantile_curves_of_equal_curves():
    curves = [[1.0, 2.0, 3.0], [3.0, 4.0, 5.0], [2.0, 3.0, 4.0], [4.0, 5.0, 6.0], [0.0, 1.0, 2.0]]
    low, median, high = robustness.quantile_curves(curves)
    np.testing.assert_allclose(median, [2.0, 3.0, 4.0])
    np.testing.assert_allclose(low, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(high, [3.0, 4.0, 5.0])


def test_quantile_curves_of_ragged_and_nan_curves_use_only_the_runs_that_reached_the_epoch():
    curves = [[1.0, 1.0, 1.0, 1.0], [3.0, 3.0], [5.0, np.nan]]
    (median,) = robustness.quantile_curves(curves, (0.5,))
    np.testing.assert_allclose(median, [3.0, 2.0, 1.0, 1.0])
    assert np.isnan(robustness.quantile_curves([[np.nan]], (0.5,))[0, 0])
    assert robustness.quantile_curves([], (0.5,)).shape == (1, 0)


def test_summary_rate_best_worst_and_a_diverged_seed_as_the_worst():
    results = [fake_result(0, 0.002, [1, 0.5], [1, 0.4]), fake_result(1, 0.5, [1, 0.9], [1, 0.8]),
               fake_result(2, float("nan"), [1, np.nan], [1, np.nan]), fake_result(3, 1e-5, [1, 0.1], [1, 0.01])]
    summary = robustness.summarise(results)
    assert summary.threshold == lstm_core.TASKS["delay"].solved_below == 1e-2
    assert summary.solved.tolist() == [True, False, False, True]
    assert summary.success_rate == 0.5 and summary.rate_text() == "2 of 4 seeds solved (50 %)"
    assert summary.best_seed == 3 and summary.worst_seed == 2
    assert summary.scores[2] == np.inf
    assert summary.curve_kind == "validation"
    np.testing.assert_allclose(summary.median, [1.0, 0.4])


def test_summary_of_a_task_without_held_out_data_uses_the_training_curves():
    results = [fake_result(seed, 1e-4 * (seed + 1), [1.0, 0.1 * (seed + 1)], task="echo") for seed in range(3)]
    summary = robustness.summarise(results)
    assert summary.curve_kind == "training"
    np.testing.assert_allclose(summary.median, [1.0, 0.2])
    assert summary.solved.all()


def test_summary_refuses_mixed_topologies_and_nothing():
    with pytest.raises(ValueError):
        robustness.summarise([])
    with pytest.raises(ValueError):
        robustness.summarise([fake_result(0, 1, [1]), fake_result(1, 1, [1], topology="one_to_one")])


def test_train_seeds_equals_train_per_seed_and_reports_progress():
    base = ExperimentConfig(task="delay", topology="many_to_many", epochs=20)
    configs = robustness.seed_configs(base, 3) + robustness.seed_configs(base.replace(topology="one_to_one"), 2)
    seen = []
    groups = list(robustness.train_seeds(configs, progress=lambda done, total: seen.append((done, total))))
    assert [[r.config for r in group] for group in groups] == [configs[:3], configs[3:]]
    assert seen[-1] == (sum(c.epochs for c in configs),) * 2
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    for config, result in zip(configs, [r for group in groups for r in group]):
        alone = lstm_core.train(config)
        np.testing.assert_allclose(result.val_losses, alone.val_losses, rtol=1e-5, atol=1e-7)
    summary = robustness.summarise(groups[0])
    assert summary.count == 3 and summary.seeds == (0, 1, 2)
    assert len(summary.median) == 20


def test_a_stop_signal_from_progress_ends_training_after_the_finished_groups():
    class Stop(BaseException):
        pass

    base = ExperimentConfig(task="delay", topology="many_to_many", epochs=10)
    configs = robustness.seed_configs(base, 2) + robustness.seed_configs(base.replace(topology="one_to_one"), 2)
    calls = []

    def progress(done, total):
        calls.append(done)
        if done > 20:  # the second group has started
            raise Stop

    finished = []
    with pytest.raises(Stop):
        for group in robustness.train_seeds(configs, progress=progress):
            finished.append(group)
    assert [[r.config.topology for r in group] for group in finished] == [["many_to_many"] * 2]


@pytest.mark.parametrize("value, expected, changed", [(20, 20, False), ("7", 7, False), (500, 100, True),
                                                      (1, 2, True), (3.6, 4, True), ("x", 20, True)])
def test_seed_count_is_kept_in_range_with_a_message(value, expected, changed):
    count, message = robustness.seed_count(value)
    assert count == expected and (message is not None) == changed
