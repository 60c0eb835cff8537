"""The Landscape page (pages/landscape.py) driven through Streamlit's AppTest: no browser, the real script."""

from __future__ import annotations

import types

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from lstm_core import engine, landscape
from tests.pagetools import DASHBOARD, click, decode, figures, url_params

PAGE = "pages/landscape.py"
TINY = {"topologies": "one_to_one,many_to_one", "units": "2,4", "learning_rates": "0.01,0.1", "epochs": "5"}


def landscape_page(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=240).run()
    at.switch_page(PAGE)
    at.query_params.clear()  # the Explorer's own parameters: a switch of page drops them in the browser
    at.query_params.update(query)
    return at.run()


def heatmaps(at: AppTest) -> list[dict]:
    (figure,) = figures(at)
    return [trace for trace in figure["data"] if trace["type"] == "heatmap"]


def z_of(trace: dict) -> np.ndarray:
    return decode(trace["z"]).reshape(len(trace["y"]), len(trace["x"]))


@pytest.fixture(scope="module")
def trained() -> AppTest:
    at = landscape_page(TINY)
    assert not at.exception
    return click(at, "Train grid")


@pytest.fixture(scope="module")
def alone() -> dict:
    """Each cell trained alone by the engine: the reference for the numbers drawn."""
    settings, _ = landscape.resolve_settings(TINY)
    return {(t, u, r): engine.train(settings.config(t, u, r)).losses
            for t in settings.topologies for u in settings.units for r in settings.learning_rates}


def test_grid_parameters_restore_the_controls_and_stay_in_the_url():
    at = landscape_page({**TINY, "task": "delay", "cell": "gru", "seed": "11"})
    assert not at.exception and not at.warning
    assert at.multiselect(key="landscape_topologies").value == ["one_to_one", "many_to_one"]
    assert at.text_input(key="landscape_units").value == "2, 4"
    assert at.text_input(key="landscape_learning_rates").value == "0.01, 0.1"
    assert at.number_input(key="landscape_epochs").value == 5
    assert at.number_input(key="landscape_seed").value == 11
    assert at.selectbox(key="landscape_task").value == "delay"
    assert at.selectbox(key="landscape_cell").value == "gru"
    assert url_params(at) == {**TINY, "task": "delay", "cell": "gru", "seed": "11"}
    assert [b.label for b in at.button][:2] == ["Train grid", "Stop"]


def test_bad_grid_values_get_one_box_and_no_traceback():
    at = landscape_page({"units": "2,banana,500", "learning_rates": "0.01,-1", "topologies": "one_to_one,nope",
                         "epochs": "3", "seed": "x"})
    assert not at.exception
    assert len(at.warning) == 1
    text = at.warning[0].value
    for shown in ("banana", "500", "-1", "nope", "seed=x"):
        assert shown in text, shown
    assert url_params(at)["units"] == "2" and url_params(at)["learning_rates"] == "0.01"
    assert url_params(at)["topologies"] == "one_to_one"


def test_heatmaps_show_each_cells_final_loss(trained, alone):
    assert not trained.exception
    maps = heatmaps(trained)
    assert [trace["name"] for trace in maps] == ["one_to_one", "many_to_one"]
    assert len({trace["coloraxis"] for trace in maps}) == 1
    for trace in maps:
        drawn = z_of(trace)
        for row, units in enumerate((2, 4)):
            for column, rate in enumerate((0.01, 0.1)):
                assert drawn[row, column] == pytest.approx(np.log10(alone[(trace["name"], units, rate)][-1]),
                                                           abs=1e-4)
    assert any("8 of 8 runs" in caption.value for caption in trained.caption)


def test_the_epoch_slider_shows_the_grid_at_an_earlier_epoch(trained, alone):
    slider = trained.slider(key="landscape_epoch")
    assert (slider.min, slider.max, slider.value) == (1, 5, 5)
    slider.set_value(2).run()
    assert not trained.exception
    for trace in heatmaps(trained):
        drawn = z_of(trace)
        expected = [[np.log10(alone[(trace["name"], units, rate)][1]) for rate in (0.01, 0.1)] for units in (2, 4)]
        np.testing.assert_allclose(drawn, expected, atol=1e-4)
    (figure,) = figures(trained)
    assert "after epoch 2 of 5" in figure["layout"]["title"]["text"]
    trained.slider(key="landscape_epoch").set_value(5).run()


def test_changed_settings_dim_the_grid_under_a_banner(trained):
    trained.text_input(key="landscape_units").set_value("2, 8").run()
    assert not trained.exception
    assert any("Settings changed" in w.value for w in trained.warning)
    assert [b.label for b in trained.button][0] == "Train grid"
    assert all(trace.get("opacity") == 0.3 for trace in figures(trained)[0]["data"])
    trained.text_input(key="landscape_units").set_value("2, 4").run()
    assert not any("Settings changed" in w.value for w in trained.warning)


def test_the_explorer_picks_up_a_cells_settings():
    """What a click on a cell does: st.switch_page to the Explorer with that run's URL parameters."""
    at = landscape_page(TINY)
    settings, _ = landscape.resolve_settings(TINY)
    config = settings.config("many_to_one", 4, 0.1)
    at.switch_page("pages/explorer.py")
    at.query_params.clear()
    at.query_params.update(config.to_query_params())
    at.run()
    assert not at.exception
    assert at.selectbox(key="topology").value == "many_to_one"
    assert at.number_input(key="units").value == 4
    assert at.number_input(key="epochs").value == 5
    assert at.select_slider(key="learning_rate").value == pytest.approx(0.1)


def test_a_stopped_grid_keeps_its_cells_and_continue_trains_only_the_rest():
    """What a Stop leaves in the session (the finished columns) is drawn, and Continue keeps it."""
    at = landscape_page(TINY)
    settings, _ = landscape.resolve_settings(TINY)
    partial = landscape.Landscape(settings)
    kept = [types.SimpleNamespace(losses=np.linspace(0.5, 0.25, 5), val_losses=np.empty(0)) for _ in range(2)]
    partial.add("one_to_one", 2, kept)
    at.session_state["landscape_grid"] = partial
    at.run()
    assert [b.label for b in at.button][0] == "Continue the grid"
    drawn = z_of(heatmaps(at)[0])
    np.testing.assert_allclose(drawn[0], np.log10([0.25, 0.25]))
    assert np.isnan(drawn[1]).all() and np.isnan(z_of(heatmaps(at)[1])).all()
    click(at, "Continue the grid")
    assert not at.exception
    maps = heatmaps(at)
    np.testing.assert_allclose(z_of(maps[0])[0], np.log10([0.25, 0.25]))  # kept, not trained again
    assert np.isfinite(z_of(maps[0])[1]).all() and np.isfinite(z_of(maps[1])).all()
    assert [b.label for b in at.button][0] == "Train grid"
