"""One server, a whole classroom: sessions training at once stay correct and reproducible."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

import lstm_core
from lstm_core import ExperimentConfig
from tests.pagetools import app, click, figure_titled, traces

SESSIONS = 8


def _configs() -> list[ExperimentConfig]:
    topologies = list(lstm_core.TOPOLOGIES)
    return [
        # Two sessions share each topology with different seeds, and sessions 0 and 4 share a
        # shape, so the same compiled function serves two threads at the same moment.
        ExperimentConfig(topology=topologies[index % len(topologies)], epochs=300 + 10 * index,
                         seed=index, units=5 if index % 2 else 6)
        for index in range(SESSIONS)
    ]


def test_eight_sessions_training_at_once_match_lone_runs():
    configs = _configs()
    alone = [lstm_core.train(config) for config in configs]  # also compiles every shape first
    sessions = [app(config.to_query_params()) for config in configs]
    for session in sessions:
        session.run()
    barrier = threading.Barrier(SESSIONS)
    errors: list[BaseException] = []

    def press_train(session):
        try:
            barrier.wait()
            click(session, "Train")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=press_train, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    for config, session, lone in zip(configs, sessions, alone):
        assert not session.exception, session.exception
        label = lstm_core.TOPOLOGIES[config.topology].label
        curve = traces(figure_titled(session, "Training loss"))[label][1]
        # Bit for bit: every session's curve is the one its config gives alone.
        np.testing.assert_array_equal(curve, lone.losses.astype(np.float64))
        predictions = traces(figure_titled(session, "Target vs prediction"))["prediction"][1]
        np.testing.assert_array_equal(predictions, lone.predictions.astype(np.float64))


def test_threads_sharing_one_compiled_shape_are_bit_identical():
    config = ExperimentConfig(topology="one_to_one", batch_size=2, epochs=400, seed=11)
    lone = lstm_core.train(config)
    results: list = [None] * SESSIONS
    barrier = threading.Barrier(SESSIONS)

    def worker(index):
        barrier.wait()
        results[index] = lstm_core.train(config)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        np.testing.assert_array_equal(result.losses, lone.losses)
        np.testing.assert_array_equal(result.predictions, lone.predictions)


def test_no_session_state_in_shared_caches():
    """Nothing per user is cached for everyone: the pages use no st.cache_resource at all."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sources = [root / "dashboard.py", *sorted((root / "pages").glob("*.py")), *sorted((root / "lstm_core").glob("*.py"))]
    for source in sources:
        text = source.read_text()
        assert "cache_resource" not in text, source
        assert not re.search(r"(set_random_seed|clear_session)\(", text), source


@pytest.mark.parametrize("config", [ExperimentConfig(epochs=50), ExperimentConfig(topology="many_to_one", epochs=50)])
def test_interrupted_session_keeps_partial_run_and_next_run_starts_clean(config):
    """Stop mid-run (what a rerun signal does in the page), then train again from scratch."""
    import keras

    class StopAt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 20:
                self.model.stop_training = True

    partial = lstm_core.train(config, callbacks=[StopAt()])
    assert partial.stop_reason == "stopped" and partial.epochs_completed == 21
    fresh = lstm_core.train(config)
    assert fresh.stop_reason is None and fresh.epochs_completed == 50
    np.testing.assert_array_equal(fresh.losses[:21], partial.losses)
