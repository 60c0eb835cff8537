"""One server, a whole classroom: sessions training at once stay correct and reproducible."""

from __future__ import annotations

import threading

import numpy as np

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


def test_two_sessions_share_no_result_and_no_model():
    """Per-user results live in each session: another session's run never shows up, and no
    Keras model object is shared (a cache shared by all users would hand out the same one)."""
    first = app(ExperimentConfig(epochs=30, seed=1).to_query_params()).run()
    second = app(ExperimentConfig(epochs=30, seed=2).to_query_params()).run()
    click(first, "Train")
    assert "result" not in second.session_state
    click(second, "Train")
    one, two = first.session_state["result"], second.session_state["result"]
    assert one is not two and one.model is not two.model
    assert (one.config.seed, two.config.seed) == (1, 2)
    assert not np.array_equal(one.losses, two.losses)


def test_an_interrupted_session_keeps_its_partial_run_and_trains_again_from_scratch(monkeypatch):
    """A page session whose run is told to stop mid-way (what the live chart does when Streamlit
    interrupts it) keeps the partial run, shows its epoch, and the next Train starts afresh."""
    import keras

    class StopAt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 20:
                self.model.stop_training = True

    real_train = lstm_core.train
    at = app({"epochs": "300"}).run()
    with monkeypatch.context() as patch:
        patch.setattr(lstm_core, "train", lambda config, callbacks=(): real_train(config, [*callbacks, StopAt()]))
        click(at, "Train")
    assert not at.exception
    partial = at.session_state["result"]
    assert partial.stop_reason == "stopped" and partial.epochs_completed == 21
    assert any("epoch 21 / 300" in p.proto.text for p in at.get("progress"))
    assert len(traces(figure_titled(at, "Training loss"))["One-to-one"][1]) == 21
    click(at, "Train")
    fresh = at.session_state["result"]
    assert fresh.stop_reason is None and fresh.epochs_completed == 300
    np.testing.assert_array_equal(fresh.losses[:21], partial.losses)
