"""The task registry: its generators, the data of a config, custom input, and the lessons.

The lessons are the point of the tasks: with each task's default settings, the topology that
cannot see what it needs fails on held-out sequences, for every one of five seeds.
"""

import numpy as np
import pytest

import lstm_core
from lstm_core import TASKS, TOPOLOGIES, ExperimentConfig, frame_data, resolve
from lstm_core import tasks
from lstm_core.config import EXAMPLE_CUSTOM_VALUES

RANDOM_TASKS = [key for key, task in TASKS.items() if task.generator is not None and task.held_out]


# --------------------------------------------------------------------------- the registry


def test_every_task_entry_is_complete_and_names_only_real_topologies():
    assert set(TASKS) == {"echo", "delay", "reverse", "running_sum", "sine", "memory", "custom"}
    for task in TASKS.values():
        assert task.label and task.summary and len(task.explanation) > 80
        assert 0 < task.solved_below < 0.1
        assert set(task.topology_notes) <= set(TOPOLOGIES), task.key
        assert task.suggestion is None or task.suggestion in TASKS
        # A topology said to fail has a note saying why.
        assert task.cannot_solve <= set(TOPOLOGIES) and all(task.note_for(key) for key in task.cannot_solve)


@pytest.mark.parametrize("key", sorted(TASKS))
def test_task_defaults_make_a_valid_config_for_every_topology(key):
    for topology in TOPOLOGIES:
        config = ExperimentConfig(task=key, topology=topology)
        defaults = TASKS[key].defaults
        assert config.units == defaults.units and config.learning_rate == defaults.learning_rate
        assert config.batch_size <= config.num_samples
        assert config.epochs <= lstm_core.max_epochs_for(config)


def test_the_echo_is_the_tutorial_sequence_with_no_held_out_data():
    data = frame_data(ExperimentConfig())
    assert np.array_equal(data.X.reshape(-1), np.array([0.0, 0.2, 0.4, 0.6, 0.8], np.float32))
    assert np.array_equal(data.y, data.X.reshape(5, 1))
    assert not data.has_validation


# --------------------------------------------------------------------------- generators


def sequences(task, **settings):
    config = ExperimentConfig(task=task, topology="many_to_many", epochs=1, **settings)
    return tasks.make_data(config)


def test_delay_shifts_by_k_with_zeros_first():
    data = sequences("delay", sequence_length=7, delay=3, num_sequences=20)
    x, y = data.train_inputs, data.train_targets
    assert np.array_equal(y[:, 3:], x[:, :4]) and not np.any(y[:, :3])
    assert x.min() >= 0 and x.max() < 1


def test_reverse_running_sum_and_memory_follow_their_rules():
    reverse = sequences("reverse", sequence_length=6)
    assert np.array_equal(reverse.val_targets, reverse.val_inputs[:, ::-1])
    total = sequences("running_sum", sequence_length=6)
    np.testing.assert_allclose(total.train_targets, np.cumsum(total.train_inputs, axis=1) / 6, atol=1e-6)
    memory = sequences("memory", sequence_length=9)
    assert not np.any(memory.train_inputs[:, 1:]) and not np.any(memory.train_targets[:, :-1])
    assert np.array_equal(memory.train_targets[:, -1], memory.train_inputs[:, 0])


def test_sine_targets_are_the_next_value_of_each_wave():
    data = sequences("sine", sequence_length=10)
    assert np.array_equal(data.train_targets[:, :-1], data.train_inputs[:, 1:])
    assert 0.05 <= data.train_inputs.min() and data.train_inputs.max() <= 0.95
    # Each sequence has its own phase: the first values differ.
    assert len(np.unique(np.round(data.train_inputs[:, 0], 4))) > 150


@pytest.mark.parametrize("task", RANDOM_TASKS)
def test_random_data_is_decided_by_the_seed_and_validation_is_held_out(task):
    config = ExperimentConfig(task=task, topology="many_to_many", epochs=1, seed=3)
    first, again = tasks.make_data(config), tasks.make_data(config)
    assert np.array_equal(first.train_inputs, again.train_inputs)
    assert np.array_equal(first.val_targets, again.val_targets)
    other = tasks.make_data(config.replace(seed=4))
    assert not np.allclose(first.train_inputs, other.train_inputs)
    assert first.val_inputs.shape == (tasks.VALIDATION_SEQUENCES, config.sequence_length)
    # No held-out sequence is a training sequence.
    train_rows = {row.tobytes() for row in first.train_inputs}
    assert not any(row.tobytes() in train_rows for row in first.val_inputs)
    # More training sequences leave the held-out ones as they were.
    more = tasks.make_data(config.replace(num_sequences=config.num_sequences + 50))
    assert np.array_equal(more.val_inputs, first.val_inputs)


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_framing_keeps_sequences_in_order_for_every_topology(topology):
    config = ExperimentConfig(task="reverse", topology=topology, sequence_length=5, num_sequences=7, epochs=1)
    data = frame_data(config)
    assert data.y.reshape(7, 5).tolist() == data.sequences.train_targets.tolist()
    assert data.y_val.reshape(100, 5).tolist() == data.sequences.val_targets.tolist()
    assert data.X.shape == config.x_shape and data.y.shape == config.y_shape


# --------------------------------------------------------------------------- custom sequences


def test_custom_text_is_read_and_windowed_with_a_held_out_tail():
    values = tasks.parse_custom_text("1, 2; 3 4\n" + " ".join(str(v) for v in range(5, 31)))
    assert values == tuple(float(v) for v in range(1, 31))
    config = ExperimentConfig(task="custom", topology="many_to_many", custom_values=values, sequence_length=4,
                              custom_mode="next", epochs=1)
    data = tasks.make_data(config)
    # 24 values to train on (20 windows of 4 with the next value), the last 6 held out (2 windows).
    assert data.train_inputs.shape == (20, 4) and data.val_inputs.shape == (2, 4)
    np.testing.assert_allclose(data.train_targets[:, :-1], data.train_inputs[:, 1:])
    # One scale for the whole series, held-out part included.
    np.testing.assert_allclose(data.train_inputs[0], np.array([0, 1, 2, 3]) / 29, atol=1e-6)
    np.testing.assert_allclose(data.val_targets[-1, -1], 1.0, atol=1e-6)
    assert config.sequence_counts == (20, 2)
    # A series too short to hold out a window trains on all of it.
    short = config.replace(custom_values=values[:20], batch_size=None)
    assert short.sequence_counts == (16, 0) and not tasks.make_data(short).has_validation


@pytest.mark.parametrize(
    "text, words",
    [("", "No numbers"), ("   ", "No numbers"), ("1 2 x 4", "'x'"), ("1 2 nan", "finite"),
     ("1 inf 3", "finite"), ("1 2", "at least 3"), ("4 4 4 4", "equal"),
     (" ".join(["1"] * 1001), "too many"), ("１ ２ ３", "not a number")],
)
def test_bad_custom_text_gets_a_clear_message(text, words):
    with pytest.raises(tasks.CustomInputError, match=words):
        tasks.parse_custom_text(text)


def test_a_csv_column_is_read_and_bad_files_are_refused():
    values, column, numeric = tasks.read_csv_column(b"month,passengers,note\n1,112,a\n2,118,b\n3,132,c\n4,,d\n5,121,e\n",
                                                    column="passengers")
    assert values == (112.0, 118.0, 132.0, 121.0) and column == "passengers" and numeric == ["month", "passengers"]
    with pytest.raises(tasks.CustomInputError, match="no column of numbers"):
        tasks.read_csv_column(b"name,colour\nann,red\nbob,blue\n")
    with pytest.raises(tasks.CustomInputError, match="at most"):
        tasks.read_csv_column(b"x\n" + b"1\n" * 600_000)


def test_resolve_keeps_other_settings_when_the_custom_values_are_bad():
    config, messages = resolve({"task": "custom", "custom_values": "1,2,nan", "units": "9"})
    assert config.custom_values == EXAMPLE_CUSTOM_VALUES and config.units == 9
    assert len(messages) == 1 and "finite" in messages[0]


def test_custom_sequence_length_is_limited_by_the_series():
    config, messages = resolve({"task": "custom", "custom_values": "1 2 3 4 5", "sequence_length": "50"})
    assert config.sequence_length == 4  # 'next' needs one value after the window
    assert any("sequence_length" in message for message in messages)
    assert ExperimentConfig.from_query_params(config.to_query_params()) == config


def test_delay_is_limited_by_the_sequence_length():
    config, messages = resolve({"task": "delay", "sequence_length": "4", "delay": "9"})
    assert config.delay == 3 and any("delay" in message for message in messages)
    with pytest.raises(ValueError, match="delay"):
        ExperimentConfig(task="delay", sequence_length=4, delay=4)


# --------------------------------------------------------------------------- training on tasks


def test_validation_loss_is_logged_every_epoch_and_matches_the_result():
    config = ExperimentConfig(task="delay", topology="many_to_many", sequence_length=4, num_sequences=16, epochs=30)
    seen = []

    class Watch(lstm_core.LossRecorder):
        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            seen.append(logs["val_loss"])

    result = lstm_core.train(config, callbacks=[Watch()])
    assert len(result.val_losses) == len(seen) == 30
    np.testing.assert_allclose(result.val_losses, seen)
    np.testing.assert_allclose(result.val_mse, result.val_losses[-1], rtol=1e-5)
    inputs, targets, predictions = result.sequence(3, "validation")
    assert np.array_equal(targets[2:], inputs[:2])
    assert result.sequence_inputs(3, "validation").shape == (1, 4, 1)


def test_a_run_on_the_echo_has_no_validation_and_is_judged_on_training():
    result = lstm_core.train(ExperimentConfig(epochs=20))
    assert result.val_mse is None and len(result.val_losses) == 0
    assert result.score == result.final_mse
    assert result.solved == (result.final_mse < TASKS["echo"].solved_below)


# --------------------------------------------------------------------------- the lessons, verified

SEEDS = range(5)


def val_mse(task, topology, seed):
    return lstm_core.train(ExperimentConfig(task=task, topology=topology, seed=seed)).val_mse


@pytest.mark.parametrize("seed", SEEDS)
def test_delay_one_to_one_fails_where_many_to_many_succeeds(seed):
    one, many = val_mse("delay", "one_to_one", seed), val_mse("delay", "many_to_many", seed)
    assert one >= 10 * many, (one, many)
    assert one > TASKS["delay"].solved_below > many


@pytest.mark.parametrize("seed", SEEDS)
def test_reverse_causal_many_to_many_fails_where_whole_sequence_readers_succeed(seed):
    causal = val_mse("reverse", "many_to_many", seed)
    assert causal > TASKS["reverse"].solved_below
    for topology in ("encoder_decoder", "bidirectional", "many_to_one"):
        other = val_mse("reverse", topology, seed)
        assert causal >= 10 * other, (topology, causal, other)


# --------------------------------------------------------------------------- weight snapshots


def test_snapshots_spread_over_the_run_replay_its_predictions():
    config = ExperimentConfig(task="delay", topology="many_to_many", sequence_length=4, num_sequences=8, epochs=120)
    result = lstm_core.train(config)
    epochs = [snapshot.epoch for snapshot in result.snapshots]
    assert epochs[0] == 0 and epochs[-1] == 120 and len(epochs) == 50 == len(set(epochs))
    assert max(np.diff(epochs)) <= 3  # evenly spread
    initial = lstm_core.build_model(config)
    for kept, built in zip(result.snapshots[0].weights, initial.get_weights()):
        assert np.array_equal(kept, built)
    np.testing.assert_allclose(result.predictions_at(result.snapshots[-1], "validation"), result.val_predictions,
                               atol=1e-6)
    # A snapshot in the middle is what a run of that many epochs ends with.
    middle = result.snapshots[25]
    shorter = lstm_core.train(config.replace(epochs=middle.epoch))
    np.testing.assert_allclose(result.predictions_at(middle), shorter.predictions, atol=1e-6)
    model = result.model_at(middle)
    np.testing.assert_allclose(np.asarray(model(result.data.X)).reshape(-1), shorter.predictions, atol=1e-5)


def test_a_stopped_run_keeps_its_last_weights_as_the_last_snapshot():
    config = ExperimentConfig(epochs=300)

    class StopAt(lstm_core.LossRecorder):
        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if epoch == 100:
                self.model.stop_training = True

    result = lstm_core.train(config, callbacks=[StopAt()])
    assert result.snapshots[-1].epoch == 101 == result.epochs_completed
    assert all(snapshot.epoch <= 101 for snapshot in result.snapshots)
    np.testing.assert_allclose(result.predictions_at(result.snapshots[-1]), result.predictions, atol=1e-6)


def test_snapshots_of_a_big_model_stay_within_the_memory_bound(monkeypatch):
    from lstm_core import engine

    config = ExperimentConfig(task="delay", topology="bidirectional", units=64, sequence_length=8, num_sequences=4,
                              epochs=100)
    params = lstm_core.build_model(config).count_params()
    monkeypatch.setattr(engine, "SNAPSHOT_FLOATS", 10 * params)  # room for ten snapshots
    result = lstm_core.train(config)
    floats = sum(sum(w.size for w in snapshot.weights) for snapshot in result.snapshots)
    assert floats <= engine.SNAPSHOT_FLOATS
    assert len(result.snapshots) == 10
