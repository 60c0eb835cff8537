"""The landscape's grid (lstm_core.landscape): settings and their URL, the columns, the histories, the figure."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest

from lstm_core import ExperimentConfig, engine, landscape, max_epochs_for, resolve
from lstm_core.landscape import Landscape, LandscapeSettings, resolve_settings

TINY = LandscapeSettings(topologies=("one_to_one", "many_to_one"), units=(2, 4), learning_rates=(0.01, 0.1),
                         epochs=6)


@pytest.fixture(scope="module")
def trained() -> Landscape:
    grid = Landscape(TINY)
    for topology, units, results in landscape.train_columns(TINY):
        grid.add(topology, units, results)
    return grid


# --------------------------------------------------------------------------- settings and URL


def test_no_values_give_the_default_grid_without_messages():
    settings, messages = resolve_settings({})
    assert messages == []
    assert settings == LandscapeSettings()
    assert settings.topologies == ("one_to_one", "many_to_one", "many_to_many")


@pytest.mark.parametrize("settings", [
    TINY,
    LandscapeSettings(task="delay", cell="gru", topologies=("bidirectional",), units=(1, 3, 64),
                      learning_rates=(1e-05, 0.00012345678901, 0.0003, 2.5), epochs=40, seed=123),
])
def test_url_round_trip(settings):
    params = settings.to_query_params()
    assert all(isinstance(value, str) for value in params.values())
    again, messages = resolve_settings(params)
    assert messages == []
    assert again == settings


def test_lists_are_sorted_and_deduplicated_and_accept_spaces():
    settings, messages = resolve_settings({"units": "8 2, 4;2", "learning_rates": "0.1, 1e-3 0.1"})
    assert messages == []
    assert settings.units == (2, 4, 8)
    assert settings.learning_rates == (1e-3, 0.1)


def test_bad_grid_values_are_dropped_with_a_message_naming_each():
    settings, messages = resolve_settings({"units": "2,x,100,2.5,0,-3", "learning_rates": "1e-3,abc,1e9,nan,inf",
                                           "topologies": "one_to_one,bogus", "colour": "red"})
    assert settings.units == (2,)
    assert settings.learning_rates == (1e-3,)
    assert settings.topologies == ("one_to_one",)
    text = " ".join(messages)
    for shown in ("`x`", "`2.5`", "`100`", "`0`", "`-3`", "`abc`", "`1e9`", "`nan`", "`inf`", "`bogus`", "`colour`"):
        assert shown in text, shown
    assert "outside 1–64" in text and "outside 1e-05–10" in text


@pytest.mark.parametrize("values", [
    {"units": ""}, {"units": "a,b"}, {"learning_rates": "0"}, {"units": "1" * 5000}, {"units": [2, "x", None]},
    {"learning_rates": [0.01, "x"]}, {"epochs": "many"}, {"seed": "-1"}, {"task": "nope", "cell": 3},
])
def test_never_raises_and_always_gives_a_usable_grid(values):
    settings, messages = resolve_settings(values)
    assert messages
    assert settings.units and settings.learning_rates
    assert len(settings.configs()) == settings.size


def test_a_grid_with_no_usable_values_falls_back_to_the_defaults():
    settings, messages = resolve_settings({"units": "x", "learning_rates": "-1"})
    assert settings.units == landscape.DEFAULT_UNITS
    assert settings.learning_rates == landscape.DEFAULT_LEARNING_RATES
    assert any("no usable value" in message for message in messages)


def test_too_many_values_are_cut_to_the_axis_limit():
    settings, messages = resolve_settings({"units": ",".join(str(n) for n in range(1, 30))})
    assert settings.units == tuple(range(1, landscape.MAX_AXIS_VALUES + 1))
    assert any("keeps the first" in message for message in messages)


def test_epochs_are_lowered_for_the_whole_grid_to_what_the_work_cap_allows_its_largest_cell():
    settings, messages = resolve_settings({"units": "2,64", "epochs": "20000", "task": "delay"})
    largest = ExperimentConfig(task="delay", topology="many_to_many", units=64, epochs=1)
    assert settings.epochs < 20000
    assert settings.epochs <= max_epochs_for(largest)
    assert sum("work cap" in message for message in messages) == 1
    # every cell is a valid run with the grid's epochs
    assert {config.epochs for config in settings.configs()} == {settings.epochs}


# --------------------------------------------------------------------------- columns and training


def test_columns_group_one_shape_each_in_learning_rate_order():
    groups = landscape.columns(TINY)
    assert [(topology, units) for topology, units, _ in groups] == [
        ("one_to_one", 2), ("one_to_one", 4), ("many_to_one", 2), ("many_to_one", 4)]
    for topology, units, configs in groups:
        assert [config.learning_rate for config in configs] == list(TINY.learning_rates)
        assert len({config.shape_key for config in configs}) == 1
        assert all(config.topology == topology and config.units == units and config.epochs == 6 for config in configs)


def test_values_at_every_epoch_equal_each_runs_own_loss_history(trained):
    assert trained.complete and trained.done == 8 and trained.metric == "training loss"
    for topology in TINY.topologies:
        assert trained.values_at(topology).shape == (2, 2)
    # the reference: each cell trained alone by the engine
    for topology, units, rate in [("one_to_one", 4, 0.1), ("many_to_one", 2, 0.01)]:
        alone = engine.train(TINY.config(topology, units, rate)).losses
        row, column = TINY.units.index(units), TINY.learning_rates.index(rate)
        for epoch in (1, 3, 6):
            assert trained.values_at(topology, epoch)[row, column] == pytest.approx(alone[epoch - 1], rel=1e-4)
    assert trained.values_at("one_to_one", 6)[1, 1] < trained.values_at("one_to_one", 1)[1, 1]


def test_a_task_with_held_out_sequences_shows_the_validation_loss():
    settings = LandscapeSettings(task="delay", topologies=("many_to_many",), units=(3,), learning_rates=(0.01, 0.05),
                                 epochs=4)
    grid = Landscape(settings)
    for topology, units, results in landscape.train_columns(settings):
        grid.add(topology, units, results)
    assert grid.metric == "validation MSE"
    alone = engine.train(settings.config("many_to_many", 3, 0.05))
    assert len(alone.val_losses) == 4
    np.testing.assert_allclose(grid.values_at("many_to_many", 2)[0, 1], alone.val_losses[1], rtol=1e-4)
    np.testing.assert_allclose(grid.values_at("many_to_many")[0, 1], alone.val_losses[-1], rtol=1e-4)


def fake(losses) -> types.SimpleNamespace:
    return types.SimpleNamespace(losses=np.asarray(losses, np.float32), val_losses=np.empty(0, np.float32))


def test_unfinished_cells_are_nan_and_a_diverged_run_reads_inf_after_its_last_epoch():
    settings = LandscapeSettings(topologies=("one_to_one", "many_to_one"), units=(2, 4), learning_rates=(0.01, 5.0),
                                 epochs=3)
    grid = Landscape(settings)
    grid.add("one_to_one", 2, [fake([0.3, 0.2, 0.1]), fake([0.3])])  # the second diverged after epoch 1
    assert grid.has_column("one_to_one", 2) and not grid.has_column("one_to_one", 4)
    assert grid.done == 2 and not grid.complete
    first = grid.values_at("one_to_one", 1)
    np.testing.assert_allclose(first[0], [0.3, 0.3])
    assert np.isnan(first[1]).all()
    last = grid.values_at("one_to_one")
    assert last[0, 0] == pytest.approx(0.1) and np.isinf(last[0, 1])
    assert np.isnan(grid.values_at("many_to_one")).all()
    with pytest.raises(ValueError):
        grid.values_at("one_to_one", 4)
    with pytest.raises(ValueError):
        grid.values_at("one_to_one", 0)


def test_resumed_training_skips_finished_columns():
    settings = LandscapeSettings(topologies=("one_to_one",), units=(2, 3), learning_rates=(0.01,), epochs=2)
    grid = Landscape(settings)
    grid.add("one_to_one", 2, [fake([0.5, 0.4])])
    trained = [(topology, units) for topology, units, _ in landscape.train_columns(settings, skip=grid.has_column)]
    assert trained == [("one_to_one", 3)]


# --------------------------------------------------------------------------- figure and clicks


def test_figure_draws_log10_of_the_values_on_one_colour_scale_fixed_over_epochs(trained):
    figure = landscape.landscape_figure(trained, epoch=3)
    heatmaps = [trace for trace in figure.data if trace.type == "heatmap"]
    assert len(heatmaps) == 2
    for heatmap, topology in zip(heatmaps, TINY.topologies):
        np.testing.assert_allclose(np.asarray(heatmap.z, float), np.log10(trained.values_at(topology, 3)))
        assert heatmap.coloraxis == "coloraxis"
        assert list(heatmap.x) == ["0.01", "0.1"] and list(heatmap.y) == ["2", "4"]
    histories = np.concatenate(list(trained.histories.values()))
    assert figure.layout.coloraxis.cmin == pytest.approx(math.log10(histories.min()))
    assert figure.layout.coloraxis.cmax == pytest.approx(math.log10(histories.max()))
    later = landscape.landscape_figure(trained, epoch=6)
    assert later.layout.coloraxis.cmin == figure.layout.coloraxis.cmin
    assert "epoch 3 of 6" in figure.layout.title.text


def test_figure_of_a_partial_grid_marks_cells_not_trained_and_diverged():
    settings = LandscapeSettings(topologies=("one_to_one",), units=(2, 4), learning_rates=(0.01, 5.0), epochs=2)
    grid = Landscape(settings)
    grid.add("one_to_one", 2, [fake([0.3, 0.02]), fake([0.3])])
    (heatmap,) = [trace for trace in landscape.landscape_figure(grid).data if trace.type == "heatmap"]
    assert [list(row) for row in heatmap.text] == [["0.02", "diverged"], ["…", "…"]]
    z = np.asarray(heatmap.z, float)
    assert z[0, 0] == pytest.approx(math.log10(0.02)) and np.isnan(z[0, 1]) and np.isnan(z[1]).all()


def test_a_clicked_cell_gives_its_run():
    point = {"curve_number": 3, "point_index": 1, "x": "0.1", "y": "2", "customdata": [1, 2, 0.1]}
    config = landscape.config_for_point(TINY, point)
    assert config == TINY.config("many_to_one", 2, 0.1)
    # without customdata, from the trace and the axis labels
    assert landscape.config_for_point(TINY, {"curve_number": 1, "x": "0.01", "y": "4"}) == \
        TINY.config("one_to_one", 4, 0.01)
    again, messages = resolve(config.to_query_params())
    assert again == config and messages == []


@pytest.mark.parametrize("point", [{}, {"customdata": [5, 2, 0.1]}, {"customdata": [0, 3, 0.1]},
                                   {"customdata": [0, 2, 0.3]}, {"x": "a", "y": "b", "curve_number": 1},
                                   {"customdata": "xyz"}])
def test_a_point_outside_the_grid_gives_nothing(point):
    assert landscape.config_for_point(TINY, point) is None
