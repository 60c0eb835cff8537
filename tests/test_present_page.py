"""The Presenter page (AppTest): preset buttons, a press trains and draws the loss beside each
run's prediction at projector font sizes, and `?present=1` on any URL lands here."""

from __future__ import annotations

import numpy as np

from lstm_core.presets import PRESETS
from tests.pagetools import app, click, figures, traces, url_params

PRESENTER = "pages/present.py"
MIN_TICK_PX = 16


def _presenter() -> object:
    at = app()
    at.switch_page(PRESENTER).run()
    assert not at.exception
    return at


def _on_presenter_page(at) -> bool:
    labels = [button.label for button in at.button]
    return all(preset.label in labels for preset in PRESETS.values()) and "Train" not in labels


def _font(layout: dict, *path: str) -> float:
    value = layout
    for key in path:
        value = value.get(key, {})
    return value if isinstance(value, (int, float)) else 0


def _assert_back_row_fonts(figure: dict) -> None:
    layout = figure["layout"]
    title = layout["title"]["text"]
    for axis in ("xaxis", "yaxis"):
        assert _font(layout, axis, "tickfont", "size") >= MIN_TICK_PX, f"{title}: {axis} ticks too small"
        assert _font(layout, axis, "title", "font", "size") > MIN_TICK_PX, f"{title}: {axis} title too small"
    assert _font(layout, "title", "font", "size") > _font(layout, "xaxis", "tickfont", "size"), title
    assert _font(layout, "font", "size") >= MIN_TICK_PX, f"{title}: legend/hover text too small"


def test_every_preset_is_a_button_and_nothing_trains_before_a_press():
    at = _presenter()
    assert [b.label for b in at.button] == [preset.label for preset in PRESETS.values()]
    assert figures(at) == []
    toggle = at.toggle(key="present_mode")
    assert toggle.label == "Presenter mode" and toggle.value is True


def test_a_one_run_preset_trains_and_shows_loss_and_prediction_in_large_type():
    at = _presenter()
    click(at, "Tutorial: many-to-one")
    assert not at.exception and not at.error
    loss, prediction = figures(at)
    assert loss["layout"]["title"]["text"] == "Training loss"
    _, losses = traces(loss)["🟧 Many-to-one"]
    assert len(losses) == PRESETS["many_to_one"].configs[0].epochs and losses[-1] < losses[0] / 100
    target, predicted = traces(prediction)["target"][1], traces(prediction)["prediction"][1]
    np.testing.assert_allclose(target, [0.0, 0.2, 0.4, 0.6, 0.8], atol=1e-6)
    assert np.max(np.abs(predicted - target)) < 0.05
    for figure in (loss, prediction):
        _assert_back_row_fonts(figure)
    text = " ".join(m.value for m in at.markdown)
    assert "Many-to-one" in text and "learned" in text
    # The pressed preset is the highlighted one.
    assert [b.label for b in at.button if b.proto.type == "primary"] == ["Tutorial: many-to-one"]


def test_a_two_run_preset_shows_both_runs_side_by_side():
    at = _presenter()
    click(at, "Why TimeDistributed?")
    assert not at.exception and not at.error
    loss, first, second = figures(at)
    lines = traces(loss)
    assert set(lines) == {"🟩 Many-to-many (TimeDistributed)", "🟪 Many-to-many (plain Dense)"}
    curves = [y for _, y in lines.values()]
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-5, atol=1e-7)  # same seed, same network
    assert first["layout"]["title"]["text"].startswith("Many-to-many (TimeDistributed)")
    assert second["layout"]["title"]["text"].startswith("Many-to-many (plain Dense)")
    assert first["layout"]["yaxis"]["range"] == second["layout"]["yaxis"]["range"]  # comparable panels
    for figure in (loss, first, second):
        _assert_back_row_fonts(figure)


def test_the_story_survives_a_rerun_and_another_preset_replaces_it():
    at = _presenter()
    click(at, "Tutorial: many-to-one")
    at.run()  # any rerun (a widget elsewhere, a refresh of the session) keeps the run on screen
    assert len(figures(at)) == 2
    click(at, "Why TimeDistributed?")
    assert len(figures(at)) == 3


def test_present_1_on_the_main_url_lands_on_the_presenter_page():
    at = app({"present": "1"})
    at.run()
    assert not at.exception
    assert _on_presenter_page(at)


def test_present_1_on_another_page_s_url_lands_there_too_and_without_it_nothing_moves():
    at = app({"present": "1"})
    at.switch_page("pages/compare.py").run()
    assert _on_presenter_page(at)
    plain = app()
    plain.run()
    assert not _on_presenter_page(plain) and "Train" in [b.label for b in plain.button]


def test_turning_presenter_mode_off_leaves_for_the_explorer():
    at = _presenter()
    at.toggle(key="present_mode").set_value(False).run()
    assert not at.exception
    assert not _on_presenter_page(at) and "Train" in [b.label for b in at.button]


def test_a_preset_link_puts_the_class_on_that_story_and_a_press_writes_it_to_the_url():
    key, preset = next(iter(PRESETS.items()))
    other_key, other = list(PRESETS.items())[-1]
    at = app({"present": "1", "preset": other_key})
    at.run()
    assert not at.exception and _on_presenter_page(at)
    assert any(other.story[:40] in m.value for m in at.markdown)  # its story, not yet trained
    assert figures(at) == [] and not at.warning
    assert url_params(at) == {"preset": other_key}
    click(at, preset.label)
    assert url_params(at) == {"preset": key} and len(figures(at)) >= 2


def test_an_unknown_preset_in_the_link_gets_one_message_and_nothing_is_chosen():
    at = app({"present": "1", "preset": "nope"})
    at.run()
    assert not at.exception and _on_presenter_page(at)
    assert len(at.warning) == 1 and "preset='nope'" in at.warning[0].value
    assert figures(at) == [] and "preset" not in url_params(at)
