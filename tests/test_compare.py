"""lstm_core.compare: configs per budget, the failure-tolerant runner, first_epoch_below, the Dense check."""

from __future__ import annotations

import numpy as np
import pytest

import lstm_core
from lstm_core import TOPOLOGIES, ExperimentConfig, compare, engine
from lstm_core.config import max_epochs_for

ALL = compare.default_topologies()  # the tutorial three and the plain-Dense twin
# The tutorial's (epochs, batch size) per topology at sequence length 5.
TUTORIAL = {"one_to_one": (1000, 5), "many_to_one": (500, 1), "many_to_many": (1000, 1), "many_to_many_dense": (1000, 1)}
EPOCHS = 20  # short runs; sequence length 5 and 5 units share compiled shapes with the page tests


class Recorder(lstm_core.LossRecorder):
    """Also keeps the params each run announced (epochs, steps per epoch)."""

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.announced = dict(self.params)


class RaiseAt(lstm_core.LossRecorder):
    """Raises `error` at the end of epoch `epoch` (0-based)."""

    def __init__(self, error: BaseException, epoch: int = 3):
        super().__init__()
        self.error = error
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if epoch == self.epoch:
            raise self.error


class Interrupt(BaseException):
    """Stands for Streamlit's rerun/stop signals: a BaseException that is not an Exception."""


def equal_configs(keys=ALL, epochs=EPOCHS):
    configs, messages = compare.comparison_configs(keys, budget="equal", epochs=epochs)
    assert messages == []
    return configs


# --------------------------------------------------------------------------- configs


def test_tutorial_budget_gives_each_topology_its_own_epochs_and_batch():
    configs, messages = compare.comparison_configs(ALL, sequence_length=5, units=5, seed=3, learning_rate=0.01)
    assert messages == []
    assert [c.topology for c in configs] == ALL
    assert {c.topology: (c.epochs, c.batch_size) for c in configs} == TUTORIAL
    assert all((c.sequence_length, c.units, c.seed, c.learning_rate) == (5, 5, 3, 0.01) for c in configs)
    assert compare.tutorial_epochs_text(ALL) == "1000 / 500 / 1000 / 1000"


def test_equal_budget_gives_every_topology_the_same_epochs_and_its_own_batch():
    configs, _ = compare.comparison_configs(ALL, sequence_length=6, budget="equal", epochs=300)
    assert [c.epochs for c in configs] == [300] * 4
    assert [c.batch_size for c in configs] == [6, 1, 1, 1]


def test_equal_epochs_are_clamped_to_each_topologys_work_cap_with_a_message():
    configs, messages = compare.comparison_configs(["one_to_one", "many_to_one"], sequence_length=50, units=64,
                                                   budget="equal", epochs=20000)
    caps = [max_epochs_for(c) for c in configs]
    assert [c.epochs for c in configs] == caps and max(caps) < 20000
    text = "\n".join(messages)
    # Each topology's message names it (their caps differ), and says what it keeps.
    for config in configs:
        assert f"{TOPOLOGIES[config.topology].label}: " in text and f"using {config.epochs:,}" in text


def test_out_of_range_shared_settings_are_clamped_with_messages():
    configs, messages = compare.comparison_configs(["many_to_one"], sequence_length=500, units=0,
                                                   learning_rate="abc", budget="equal", epochs=0)
    (config,) = configs
    assert (config.sequence_length, config.units, config.learning_rate, config.epochs) == (50, 1, 0.001, 1)
    assert len(messages) == 4


def test_unknown_topology_or_budget_is_a_value_error():
    with pytest.raises(ValueError, match="unknown topology"):
        compare.comparison_configs(["one_to_two"])
    with pytest.raises(ValueError, match="budget"):
        compare.comparison_configs(ALL, budget="generous")


def test_repeated_keys_give_one_config_each():
    configs, _ = compare.comparison_configs(["many_to_one", "one_to_one", "many_to_one"])
    assert [c.topology for c in configs] == ["many_to_one", "one_to_one"]


# --------------------------------------------------------------------------- runner


def test_runner_passes_each_entry_its_own_config_in_tutorial_mode(monkeypatch):
    seen = []

    def fake_train(config, callbacks=()):
        seen.append(config)
        return engine.TrainingResult(config=config, losses=np.array([0.5, 0.1]), targets=np.zeros(5),
                                     predictions=np.zeros(5), model=None, seconds=0.0)

    monkeypatch.setattr(engine, "train", fake_train)
    configs, _ = compare.comparison_configs(ALL)
    entries = compare.run_comparison(configs)
    assert seen == configs
    assert {entry.name: (entry.config.epochs, entry.config.batch_size) for entry in entries} == TUTORIAL
    assert [entry.status for entry in entries] == ["ok"] * 4


def test_each_entry_is_trained_with_its_own_config():
    configs = equal_configs()
    recorders = {}

    def callbacks_for(config):
        recorders[config.topology] = Recorder()
        return [recorders[config.topology]]

    entries = compare.run_comparison(configs, callbacks_for=callbacks_for)
    assert [entry.name for entry in entries] == ALL
    for entry, config in zip(entries, configs):
        assert entry.status == "ok" and entry.error is None
        assert entry.result.config == config
        assert entry.result.epochs_completed == EPOCHS
        assert recorders[config.topology].announced["epochs"] == EPOCHS
        # one_to_one: 5 samples in one batch of 5; the others: 1 sample, batch 1.
        assert recorders[config.topology].announced["steps"] == 1
        np.testing.assert_array_equal(recorders[config.topology].losses, entry.result.losses)
        assert entry.label == TOPOLOGIES[config.topology].label and entry.color == TOPOLOGIES[config.topology].color
    # The same config trained on its own gives the same run (seeded, deterministic).
    alone = lstm_core.train(configs[1])
    np.testing.assert_array_equal(alone.losses, entries[1].result.losses)


def test_a_non_finite_loss_fails_that_entry_only_and_says_why(monkeypatch):
    configs = equal_configs(["one_to_one", "many_to_many", "many_to_one"])
    real_run = engine._CompiledShape.run

    def nan_for_many_to_many(self, state, config, num_epochs, data, *snapshot_at):
        new_state, losses, val_losses = real_run(self, state, config, num_epochs, data, *snapshot_at)
        if config.topology == "many_to_many" and state.epochs_done <= 1 < state.epochs_done + num_epochs:
            losses = losses.copy()
            losses[1 - state.epochs_done] = np.nan  # the loss of epoch 2
        return new_state, losses, val_losses

    monkeypatch.setattr(engine._CompiledShape, "run", nan_for_many_to_many)
    entries = compare.run_comparison(configs)
    assert [entry.failed for entry in entries] == [False, True, False]
    assert "NaN or infinite at epoch 2" in entries[1].error
    assert entries[1].status.startswith("failed: ")
    assert entries[1].result is not None and entries[1].result.stop_reason == "non_finite_loss"
    assert entries[0].result.epochs_completed == entries[2].result.epochs_completed == EPOCHS
    rows = compare.table_rows(entries, 1e-3)
    assert [row["status"] for row in rows][::2] == ["ok", "ok"]
    assert rows[1]["status"].startswith("failed: the loss became NaN")


def test_an_exception_fails_that_entry_only_and_records_it():
    configs = equal_configs(["one_to_one", "many_to_many", "many_to_one"])

    def callbacks_for(config):
        return [RaiseAt(ValueError("boom"))] if config.topology == "many_to_many" else []

    entries = compare.run_comparison(configs, callbacks_for=callbacks_for)
    assert [entry.failed for entry in entries] == [False, True, False]
    # The page gets the kind of error only; its text (which may hold server paths) stays in the log.
    assert "ValueError" in entries[1].error and "boom" not in entries[1].error
    assert entries[1].result is None and entries[1].status.startswith("failed: training raised ValueError")
    assert all(entries[i].result.epochs_completed == EPOCHS for i in (0, 2))
    row = compare.table_rows(entries, 1e-3)[1]
    assert row["epochs"] is None and row["final MSE"] is None and row["parameters"] == 146
    assert row["first epoch below threshold"] == "not reached"


def test_an_exception_while_preparing_callbacks_fails_that_entry_only():
    def callbacks_for(config):
        if config.topology == "one_to_one":
            raise RuntimeError("no chart")
        return []

    entries = compare.run_comparison(equal_configs(["one_to_one", "many_to_one"]), callbacks_for=callbacks_for)
    assert "RuntimeError" in entries[0].error and entries[1].status == "ok"


def test_a_base_exception_that_is_not_an_exception_propagates_and_stops_the_rest():
    configs = equal_configs(["one_to_one", "many_to_one"])
    started = []

    def callbacks_for(config):
        started.append(config.topology)
        return [RaiseAt(Interrupt())] if config.topology == "one_to_one" else []

    with pytest.raises(Interrupt):
        compare.run_comparison(configs, callbacks_for=callbacks_for)
    assert started == ["one_to_one"]
    with pytest.raises(KeyboardInterrupt):
        compare.train_entry(configs[1], callbacks=[RaiseAt(KeyboardInterrupt())])


def test_a_consumer_that_stops_iterating_trains_nothing_more():
    trained = []
    for entry in compare.iter_comparison(equal_configs(), callbacks_for=lambda config: trained.append(config) or []):
        break
    assert [config.topology for config in trained] == ["one_to_one"]


def test_entry_from_result_labels_the_main_pages_run():
    result = lstm_core.train(ExperimentConfig(topology="many_to_one", epochs=EPOCHS))
    entry = compare.entry_from_result(result)
    assert entry.label == "Main page: Many-to-one" and entry.name == "main_page" and entry.status == "ok"
    (row,) = compare.table_rows([entry], threshold=10.0)
    assert row["parameters"] == 170 and row["X shape"] == "(1, 5, 1)" and row["y shape"] == "(1, 5)"
    assert row["epochs"] == EPOCHS and row["first epoch below threshold"] == "1"


# --------------------------------------------------------------------------- measures


CURVE = [0.5, 0.2, 0.09, 0.05, 0.009, 0.02, 0.001]


@pytest.mark.parametrize(
    "threshold, epoch",
    [(0.1, 3), (0.01, 5), (0.05, 5), (0.009, 7), (0.2, 3), (0.0005, None), (1.0, 1), (0.50001, 1)],
)
def test_first_epoch_below_on_a_known_curve(threshold, epoch):
    # Strictly below: a loss equal to the threshold has not fallen below it.
    assert compare.first_epoch_below(CURVE, threshold) == epoch


def test_first_epoch_below_ignores_nan_and_handles_an_empty_curve():
    assert compare.first_epoch_below([np.nan, 0.5, 0.01], 0.1) == 3
    assert compare.first_epoch_below([], 0.1) is None


def test_table_rows_have_the_columns_in_order():
    result = lstm_core.train(ExperimentConfig(topology="one_to_one", epochs=EPOCHS))
    entry = compare.entry_for(result.config)
    entry.result = result
    (row,) = compare.table_rows([entry], threshold=1e-9)
    assert tuple(row) == compare.TABLE_COLUMNS
    assert row["first epoch below threshold"] == "not reached"
    assert row["final MSE"] == pytest.approx(result.final_mse)
    assert row["largest abs error"] == pytest.approx(result.max_abs_error)
    assert row["parameters"] == 146 and row["X shape"] == "(5, 1, 1)" and row["status"] == "ok"


def test_max_curve_difference():
    assert compare.max_curve_difference([1.0, 0.5, 0.2], [1.0, 0.4]) == pytest.approx(0.1)
    assert compare.max_curve_difference([], [1.0]) is None


# --------------------------------------------------------------------------- TimeDistributed vs Dense


@pytest.mark.parametrize("sequence_length, units, seed", [(5, 5, 7), (7, 3, 1), (12, 9, 123)])
def test_time_distributed_and_plain_dense_agree_on_shared_weights(sequence_length, units, seed):
    check = compare.dense_check(sequence_length, units, seed)
    assert check.max_abs_difference <= 1e-6
    # The tutorial's count, 146 for 5 units: 4·5·(5+1+1) LSTM weights plus Dense(1)'s 5 + 1.
    if units == 5:
        assert check.time_distributed_parameters == check.dense_parameters == 146
    assert check.time_distributed_parameters == check.dense_parameters
    assert len(check.time_distributed_outputs) == len(check.dense_outputs) == sequence_length
    np.testing.assert_allclose(check.time_distributed_outputs, check.dense_outputs, atol=1e-6)
    # Not a trivial agreement: the outputs vary along the sequence.
    assert np.ptp(check.dense_outputs) > 1e-3


def test_dense_check_with_trained_weights_and_a_different_seed_differs():
    trained = lstm_core.train(ExperimentConfig(topology="many_to_many", epochs=EPOCHS))
    check = compare.dense_check(5, 5, 7, weights=trained.model.get_weights())
    assert check.max_abs_difference <= 1e-6
    np.testing.assert_allclose(check.time_distributed_outputs, trained.predictions, atol=1e-5)
    assert compare.dense_check(5, 5, 8).dense_outputs != compare.dense_check(5, 5, 7).dense_outputs


def test_dense_check_rejects_weights_of_the_wrong_shapes():
    with pytest.raises(ValueError, match="do not fit"):
        compare.dense_check(5, 5, 7, weights=[np.zeros((2, 2))])


def test_dense_check_builds_its_own_models_so_sessions_share_none(monkeypatch):
    """Two checks never get the same Keras model: a model shared between sessions would have its
    weights set by one while another reads its outputs (the bug an lru_cache of models had)."""
    from lstm_core import model as model_module

    built = []
    real_build = model_module.build_model

    def recording_build(config):
        built.append(real_build(config))
        return built[-1]

    monkeypatch.setattr(model_module, "build_model", recording_build)
    compare.dense_check(5, 5, 7)
    compare.dense_check(5, 5, 8)
    assert len(built) == 4 and len({id(model) for model in built}) == 4


def test_dense_checks_in_threads_at_once_match_checks_alone():
    import threading

    seeds = list(range(20, 28))
    alone = {seed: compare.dense_check(6, 4, seed) for seed in seeds}
    together: dict = {}
    barrier = threading.Barrier(len(seeds))

    def check(seed):
        barrier.wait()
        together[seed] = compare.dense_check(6, 4, seed)

    threads = [threading.Thread(target=check, args=(seed,)) for seed in seeds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seed in seeds:
        assert together[seed].dense_outputs == alone[seed].dense_outputs, seed


# --------------------------------------------------------------------------- settings from a URL


def test_resolve_settings_round_trips_through_the_url():
    settings, configs, messages = compare.resolve_settings(
        {"topologies": "many_to_one,one_to_one", "budget": "equal", "epochs": "40", "units": "7", "threshold": "0.0001"})
    assert messages == []
    again, configs_again, _ = compare.resolve_settings(settings.to_query_params())
    assert again == settings and configs_again == configs
    assert [c.topology for c in configs] == ["many_to_one", "one_to_one"] and {c.epochs for c in configs} == {40}


def test_resolve_settings_replaces_nonsense_with_messages():
    settings, configs, messages = compare.resolve_settings(
        {"topologies": "nope,many_to_one", "budget": "lavish", "threshold": "abc", "units": "0", "x": "1", "y": "2"})
    assert settings.topologies == ("many_to_one",) and settings.budget == "tutorial"
    assert settings.threshold == compare.DEFAULT_THRESHOLD and configs[0].units == 1
    text = "\n".join(messages)
    for fragment in ("nope", "budget=lavish", "threshold=abc", "units=0", "2 unknown"):
        assert fragment in text, fragment


# --------------------------------------------------------------------------- verdicts and exports


def delay_entries():
    _, configs, messages = compare.resolve_settings({"task": "delay", "topologies": "one_to_one,many_to_many",
                                                     "budget": "equal", "epochs": "200"})
    assert messages == []
    return compare.run_comparison(configs)


def test_verdict_reason_and_table_on_a_task_where_the_topology_decides():
    one, many = entries = delay_entries()
    assert (one.solved, many.solved) == (False, True)
    assert (one.verdict, many.verdict) == (compare.NOT_SOLVED_GLYPH, compare.SOLVED_GLYPH)
    assert one.reason == lstm_core.TASKS["delay"].note_for("one_to_one") != ""
    assert many.reason == ""
    # Both saw the same held-out sequences (same seed, same data).
    np.testing.assert_array_equal(one.result.val_targets.reshape(-1), many.result.val_targets.reshape(-1))
    rows = compare.table_rows(entries, 1e-3)
    assert [row["solved"] for row in rows] == ["❌ no", "✅ yes"]
    assert [row["score"] for row in rows] == pytest.approx([one.result.val_mse, many.result.val_mse])
    assert list(rows[0]) == list(compare.TABLE_COLUMNS)

    # The CSV reads back as the table; the report names both runs and their verdicts, offline.
    import io

    import pandas as pd

    table = pd.read_csv(io.StringIO(compare.table_csv(entries, 1e-3)))
    assert list(table.columns) == list(compare.TABLE_COLUMNS)
    assert list(table["solved"]) == ["❌ no", "✅ yes"]
    np.testing.assert_allclose(table["score"], [row["score"] for row in rows], rtol=1e-9)
    report = compare.report_html(entries, 1e-3)
    assert "One-to-one" in report and "Many-to-many (TimeDistributed)" in report and "✅ yes" in report
    assert '<script src="http' not in report and report.count("<table>") >= 3


def test_a_failed_or_untrained_entry_has_no_verdict_of_solved():
    config = ExperimentConfig(task="delay", topology="one_to_one", epochs=1)
    untrained = compare.entry_for(config)
    assert (untrained.solved, untrained.verdict, untrained.reason) == (None, "", "")
    failed = compare.entry_for(config)
    failed.error = "training raised ValueError"
    assert (failed.solved, failed.verdict) == (None, compare.NOT_SOLVED_GLYPH)
    assert compare.table_rows([untrained, failed], 1e-3)[0]["solved"] == ""


def test_validation_lines_follow_the_training_lines_in_each_colour():
    entries = delay_entries()
    figure = lstm_core.plots.loss_figure([(e.label, e.color) for e in entries])
    compare.add_validation_lines(figure, entries)
    validation = figure.data[2:]
    assert [t.name for t in validation] == [f"{e.label} · validation" for e in entries]
    assert [t.line.color for t in validation] == [e.color for e in entries]
    np.testing.assert_allclose(validation[0].y, entries[0].result.val_losses)
    echo = compare.run_comparison(compare.comparison_configs(["one_to_one"], budget="equal", epochs=5)[0])
    figure = lstm_core.plots.loss_figure([("echo", "#000000")])
    compare.add_validation_lines(figure, echo)
    assert len(figure.data) == 1  # the echo has no held-out data


def test_validation_line_streams_held_out_losses_into_its_trace_throttled():
    config = compare.resolve_settings({"task": "delay", "topologies": "many_to_many", "budget": "equal",
                                       "epochs": "30"})[1][0]
    entry = compare.entry_for(config)
    figure = lstm_core.plots.loss_figure([(entry.label, entry.color)])
    index = compare.add_validation_trace(figure, entry)
    ticks = iter(range(10_000))
    line = compare.ValidationLine(figure, index, interval=10, clock=lambda: next(ticks))  # one write per 10 epochs
    result = lstm_core.train(config, callbacks=[line])
    np.testing.assert_allclose(line.values, result.val_losses, rtol=1e-6)
    np.testing.assert_allclose(figure.data[index].y, result.val_losses, rtol=1e-6)  # the last write at the end
    assert 3 <= line.writes <= 4 and figure.data[index].name == f"{entry.label} · validation"
    # The echo has no held-out data: the line is never written.
    echo = compare.ValidationLine(figure, 0)
    lstm_core.train(ExperimentConfig(epochs=5), callbacks=[echo])
    assert echo.writes == 0 and len(echo.values) == 0
