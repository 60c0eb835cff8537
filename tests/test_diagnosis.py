"""lstm_core.diagnosis: why a run stopped, how far its loss fell, and the hint per case."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from lstm_core import ExperimentConfig, diagnosis

TARGETS = np.arange(5) / 5  # 0.0 0.2 0.4 0.6 0.8: mean 0.4


def result(losses, predictions=TARGETS, stop_reason=None, learning_rate=0.001, epochs=None):
    losses = np.asarray(losses, dtype=np.float64)
    config = ExperimentConfig(learning_rate=learning_rate, epochs=epochs or max(len(losses), 1))
    return SimpleNamespace(config=config, losses=losses, targets=TARGETS, predictions=np.asarray(predictions),
                           stop_reason=stop_reason, epochs_completed=len(losses))


FALLING = np.geomspace(0.3, 1e-4, 100)


# --------------------------------------------------------------------------- stop messages


def test_a_complete_run_has_no_stop_message():
    assert diagnosis.describe_stop(result(FALLING)) is None


@pytest.mark.parametrize("cause, words", [
    (diagnosis.STOP_BUTTON, "you pressed Stop"),
    (diagnosis.SETTING_CHANGED, "a setting changed"),
    (diagnosis.PAGE_SWITCHED, "switched to another page"),
    (diagnosis.HEADER_STOP, "page header"),
])
def test_a_stopped_run_names_its_cause_and_its_epoch(cause, words):
    level, text = diagnosis.describe_stop(result(FALLING[:37], stop_reason="stopped", epochs=1000), cause)
    assert level == "info"
    assert "after epoch 37 of 1,000" in text and words in text


def test_a_non_finite_loss_is_an_error_that_suggests_a_smaller_rate():
    level, text = diagnosis.describe_stop(result(FALLING[:25], stop_reason="non_finite_loss", learning_rate=0.5))
    assert level == "error" and "NaN or infinite after epoch 25" in text and "0.05" in text


# --------------------------------------------------------------------------- loss fall


def test_loss_fall_of_a_small_drop_says_how_small():
    fall = diagnosis.loss_fall([0.215, 0.21, 0.198])
    assert fall.factor == pytest.approx(0.215 / 0.198)
    assert fall.percent == pytest.approx(100 * 0.017 / 0.215)
    assert fall.text() == "loss 0.215 → 0.198: 1.09× lower (−7.91 %)"


def test_loss_fall_of_a_large_drop_a_rise_and_zero():
    assert diagnosis.loss_fall([0.3, 3e-5]).text() == "loss 0.3 → 3e-05: 10,000× lower (−99.99 %)"
    assert "rose by 50 %" in diagnosis.loss_fall([0.2, 0.3]).text()
    assert diagnosis.loss_fall([0.2, 0.0]).factor == math.inf
    assert diagnosis.loss_fall([0.2]) is None and diagnosis.loss_fall([np.nan, 0.1]) is None


# --------------------------------------------------------------------------- hints, per case


def test_plateau_at_the_mean_is_detected_and_explained():
    flat = np.full(5, 0.41)
    run = result(np.linspace(0.3, 0.08, 50), predictions=flat, learning_rate=10.0)
    assert diagnosis.plateau_at_the_mean(run) == pytest.approx(0.41)
    hint = diagnosis.learning_hint(run)
    assert "about 0.41 at every position" in hint and "Try 0.01 or smaller" in hint


def test_a_topology_that_cannot_solve_the_task_gets_no_training_advice():
    """One-to-one on the delay task plateaus at the mean whatever the settings: suggesting more
    epochs or another seed would mislead; the verdict gives the registry's reason instead."""
    flat = np.full(5, 0.41)
    for topology, expected in (("one_to_one", None), ("many_to_many", "about 0.41")):
        run = result(np.linspace(0.3, 0.08, 50), predictions=flat)
        run.config = ExperimentConfig(task="delay", topology=topology, sequence_length=5, epochs=50)
        hint = diagnosis.learning_hint(run)
        assert hint is None if expected is None else expected in hint


def test_flat_predictions_away_from_the_mean_are_not_a_plateau_at_the_mean():
    assert diagnosis.plateau_at_the_mean(result(FALLING, predictions=np.full(5, 0.05))) is None


def test_barely_moved_with_a_tiny_rate_suggests_a_larger_one():
    run = result(np.linspace(0.215, 0.198, 200), predictions=TARGETS * 0.3 + 0.1, learning_rate=1e-5)
    assert diagnosis.barely_moved(run)
    hint = diagnosis.learning_hint(run)
    assert "barely moved (loss 0.215 → 0.198" in hint and "try a larger one" in hint.lower()


def test_barely_moved_with_a_large_rate_suggests_a_smaller_one():
    run = result(np.linspace(0.3, 0.28, 200), predictions=TARGETS * 0.3 + 0.1, learning_rate=1.0)
    assert "try 0.01 or smaller" in diagnosis.learning_hint(run).lower()


def test_a_run_that_learned_gets_no_hint_and_neither_does_a_stopped_one():
    assert diagnosis.learning_hint(result(FALLING)) is None
    stopped = result(np.linspace(0.3, 0.29, 20), predictions=np.full(5, 0.4), stop_reason="stopped", epochs=1000)
    assert diagnosis.learning_hint(stopped) is None


@pytest.mark.parametrize("learning_rate", [1.0, 10.0])
def test_real_runs_at_a_huge_learning_rate_get_the_plateau_hint(learning_rate):
    """The issue's case: one-to-one at learning rate 1 or 10 predicts a flat ~0.4 and said nothing."""
    import lstm_core

    run = lstm_core.train(ExperimentConfig(learning_rate=learning_rate, epochs=1000))
    hint = diagnosis.learning_hint(run)
    assert hint is not None and "0.01 or smaller" in hint, (run.predictions, run.losses[[0, -1]])


def test_a_real_run_at_the_smallest_learning_rate_gets_the_barely_moved_hint():
    import lstm_core

    run = lstm_core.train(ExperimentConfig(learning_rate=1e-5, epochs=300))
    assert diagnosis.barely_moved(run)
    assert "larger one" in diagnosis.learning_hint(run)
