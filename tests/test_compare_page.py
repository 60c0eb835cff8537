"""The comparison page (pages/compare.py) driven through Streamlit's AppTest: no browser, the real script."""

from __future__ import annotations


import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import lstm_core
from lstm_core import TOPOLOGIES, compare, engine
from tests.pagetools import DASHBOARD, decode, figures, url_params

DEFAULT = compare.default_topologies()

EPOCHS = 30


@pytest.fixture(scope="module", autouse=True)
def tensorflow_loaded():
    # The page draws the model summaries only once TensorFlow is imported (it polls otherwise).
    lstm_core.backend.load()


def compare_page() -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    return at


def curves(at: AppTest, validation: bool = False) -> dict[str, np.ndarray]:
    """name → losses of every non-empty training line of the loss chart (validation lines with
    `validation=True`)."""
    (loss,) = [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("Training loss")]
    return {trace["name"]: decode(trace["y"]) for trace in loss["data"]
            if len(decode(trace["y"])) and trace["name"].endswith(" · validation") == validation}


def panels(at: AppTest) -> list[dict]:
    return [f for f in figures(at) if [t.get("name") for t in f["data"]] == ["target", "prediction"]]


def table(at: AppTest):
    (found,) = [d.value for d in at.dataframe if "status" in d.value.columns]
    return found


def train_all(at: AppTest, topologies=None, epochs=EPOCHS) -> AppTest:
    if topologies is not None:
        at.multiselect(key="compare_topologies").set_value(topologies)
    at.radio(key="compare_budget").set_value("equal").run()
    at.number_input(key="compare_epochs").set_value(epochs)
    at.button(key="compare_train").click().run()
    assert not at.exception and not at.error
    return at


def labels(keys) -> list[str]:
    return [TOPOLOGIES[key].label for key in keys]


def test_train_all_pressed_with_the_address_of_before_the_last_change_keeps_the_change():
    """The browser sends the address it shows; pressed right after a change (a busy server), that
    is the one before the page's last write. The press must train the changed settings, not
    take that address for Back (CI once trained 500 epochs here instead of 50)."""
    at = compare_page()
    at.multiselect(key="compare_topologies").set_value(["many_to_one"])
    at.radio(key="compare_budget").set_value("equal").run()
    before = dict(url_params(at))
    at.number_input(key="compare_epochs").set_value(7).run()
    assert url_params(at)["epochs"] == "7"
    at.query_params.clear()
    at.query_params.update(before)  # what the browser still shows
    at.button(key="compare_train").click().run()
    assert not at.exception and not at.error
    assert at.number_input(key="compare_epochs").value == 7
    assert {name: len(losses) for name, losses in curves(at).items()} == {TOPOLOGIES["many_to_one"].label: 7}
    assert url_params(at)["epochs"] == "7"


def test_page_loads_with_every_topology_chosen_and_explained():
    at = compare_page()
    assert not at.error
    assert at.title[0].value.endswith("Compare topologies")
    assert at.multiselect(key="compare_topologies").value == DEFAULT
    assert at.radio(key="compare_budget").value == "tutorial"
    assert at.select_slider(key="compare_threshold").value == pytest.approx(1e-3)
    assert [b.label for b in at.button][:3] == ["Train all", "Stop", "Add the Explorer's last run"]
    assert at.button(key="compare_add_main").disabled
    captions = " ".join(c.value for c in at.caption)
    for key in DEFAULT:
        assert TOPOLOGIES[key].explanation in captions
    # The comparison's settings are in the URL, so it can be shared.
    assert compare.resolve_settings(url_params(at))[0].topologies == tuple(DEFAULT)
    markdown = " ".join(m.value for m in at.markdown)
    assert "TimeDistributed(Dense(1))" in markdown and "the last axis" in markdown
    assert "largest difference" in markdown


def test_train_all_then_visit_the_main_page_and_add_its_run():
    at = train_all(compare_page())
    lines = curves(at)
    assert list(lines) == labels(DEFAULT)
    assert all(len(losses) == EPOCHS for losses in lines.values())
    # The curve on the page is the engine's run for that config.
    expected = lstm_core.train(lstm_core.ExperimentConfig(topology="many_to_one", epochs=EPOCHS))
    np.testing.assert_array_equal(lines["Many-to-one"], expected.losses.astype(np.float64))
    assert len(panels(at)) == 4
    # One y range for every panel.
    ranges = {tuple(f["layout"]["yaxis"]["range"]) for f in panels(at)}
    assert len(ranges) == 1
    rows = table(at)
    assert len(rows) == 4 and list(rows["status"]) == ["ok"] * 4
    assert list(rows["epochs"]) == [EPOCHS] * 4
    assert list(rows["parameters"]) == [146, 170, 146, 146]
    markdown = " ".join(m.value for m in at.markdown)
    assert "between their loss curves: **none: they are identical**" in markdown

    # Results survive a visit to the main page.
    at.query_params.clear()  # as the browser does on a switch of page
    at.switch_page("pages/explorer.py").run()
    assert not at.exception
    [train] = [b for b in at.button if b.label == "Train"]
    train.click().run()
    assert not at.exception and "result" in at.session_state
    at.query_params.clear()
    at.switch_page("pages/compare.py").run()
    assert not at.exception and not at.error
    assert list(curves(at)) == labels(DEFAULT)
    assert len(table(at)) == 4

    # The main page's last run joins the comparison as a fifth entry.
    assert not at.button(key="compare_add_main").disabled
    at.button(key="compare_add_main").click().run()
    assert not at.exception and not at.error
    assert list(curves(at))[-1] == "Main page: One-to-one"
    (loss,) = [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("Training loss")]
    (main,) = [t for t in loss["data"] if t["name"] == "Main page: One-to-one"]
    assert decode(main["x"])[-1] == 1000  # drawn to the last epoch (downsampled for the browser)
    assert list(table(at)["epochs"])[-1] == 1000
    assert len(panels(at)) == 5 and len(table(at)) == 5
    assert at.button(key="compare_add_main").disabled


def test_two_chosen_topologies_give_two_curves_panels_and_rows():
    chosen = ["one_to_one", "many_to_many_dense"]
    at = train_all(compare_page(), topologies=chosen)
    assert list(curves(at)) == labels(chosen)
    assert len(panels(at)) == 2
    # verdict, glyph, label
    assert [name.split(" ", 2)[1:] for name in table(at)["topology"]] == [
        [TOPOLOGIES[key].glyph, TOPOLOGIES[key].label] for key in chosen]


def test_tutorial_budget_trains_each_topology_for_its_own_epochs():
    at = compare_page()
    at.multiselect(key="compare_topologies").set_value(["one_to_one", "many_to_one"])
    at.button(key="compare_train").click().run()
    assert not at.exception and not at.error
    assert list(table(at)["epochs"]) == [1000, 500]
    (loss,) = [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("Training loss")]
    assert [decode(trace["x"])[-1] for trace in loss["data"]] == [1000, 500]


def test_one_failing_topology_shows_why_and_the_others_finish(monkeypatch):
    real_train = engine.train

    def flaky_train(config, callbacks=()):
        if config.topology == "many_to_one":
            raise ValueError("the engine broke")
        return real_train(config, callbacks=callbacks)

    monkeypatch.setattr(engine, "train", flaky_train)
    at = compare_page()
    at.multiselect(key="compare_topologies").set_value(["one_to_one", "many_to_one", "many_to_many"])
    at.radio(key="compare_budget").set_value("equal").run()
    at.number_input(key="compare_epochs").set_value(EPOCHS)
    at.button(key="compare_train").click().run()
    assert not at.exception
    assert any("ValueError" in e.value for e in at.error)
    assert not any("the engine broke" in e.value for e in at.error)  # the exception's text stays in the log
    assert list(curves(at)) == labels(["one_to_one", "many_to_many"])
    assert len(panels(at)) == 2
    assert list(table(at)["status"]) == ["ok", "failed: training raised ValueError (details in the server log)", "ok"]


def test_epochs_over_the_work_cap_are_lowered_with_a_message():
    config = lstm_core.ExperimentConfig(sequence_length=50, units=64, epochs=1)
    if lstm_core.max_epochs_for(config) >= 20000:
        pytest.skip("the work cap allows every epoch count here")
    at = compare_page()
    at.number_input(key="compare_sequence_length").set_value(50)
    at.number_input(key="compare_units").set_value(64)
    at.radio(key="compare_budget").set_value("equal").run()
    at.number_input(key="compare_epochs").set_value(20000).run()
    assert not at.exception
    assert any("work cap" in w.value for w in at.warning)


def test_settings_from_the_url_fill_the_controls_and_bad_ones_get_one_box():
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    at.switch_page("pages/compare.py")
    at.query_params.update({"topologies": "many_to_one,nope", "budget": "equal", "epochs": "40", "units": "7",
                            "threshold": "0.002"})
    at.run()
    assert not at.exception
    assert at.multiselect(key="compare_topologies").value == ["many_to_one"]
    assert at.radio(key="compare_budget").value == "equal"
    assert at.number_input(key="compare_epochs").value == 40
    assert at.number_input(key="compare_units").value == 7
    assert at.select_slider(key="compare_threshold").value == pytest.approx(3e-3)
    assert len(at.warning) == 1 and "nope" in at.warning[0].value and "threshold=0.002" in at.warning[0].value
    assert url_params(at)["topologies"] == "many_to_one" and url_params(at)["threshold"] == "0.003"


def test_linear_or_log_loss_axis():
    at = train_all(compare_page(), topologies=["one_to_one", "many_to_one"])
    loss = [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("Training loss")][0]
    assert loss["layout"]["yaxis"]["type"] == "log"
    at.toggle(key="compare_log_scale").set_value(False).run()
    loss = [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("Training loss")][0]
    assert loss["layout"]["yaxis"]["type"] == "linear"


# --------------------------------------------------------------------------- tasks: solved or not


def delay_page(topologies: str = "one_to_one,many_to_many") -> AppTest:
    """The Compare page on the delay task with its default settings, entered by URL."""
    at = AppTest.from_file(DASHBOARD, default_timeout=300).run()
    at.query_params.clear()  # the Explorer's own parameters
    at.switch_page("pages/compare.py")
    at.query_params.update({"task": "delay", "topologies": topologies})
    at.run()
    assert not at.exception and not at.warning
    return at


def test_delay_marks_one_to_one_not_solved_with_the_reason_and_many_to_many_solved():
    at = delay_page()
    config = compare.resolve_settings(url_params(at))[1][0]
    assert (config.task, config.sequence_length, config.units, config.epochs) == ("delay", 6, 16, 200)
    at.button(key="compare_train").click().run()
    assert not at.exception and not at.error
    rows = table(at)
    assert list(rows["solved"]) == ["❌ no", "✅ yes"]
    assert list(rows["topology"]) == ["❌ 🟦 One-to-one", "✅ 🟩 Many-to-many (TimeDistributed)"]
    one, many = rows["score"]
    assert one > lstm_core.TASKS["delay"].solved_below > many and one > 10 * many
    markdown = [m.value for m in at.markdown]
    assert "**❌ 🟦 One-to-one**" in markdown and "**✅ 🟩 Many-to-many (TimeDistributed)**" in markdown
    assert any(m.startswith(":red[**❌ not solved**]") for m in markdown)
    assert any(m.startswith(":green[**✅ solved**]") for m in markdown)
    why = [c.value for c in at.caption if c.value.startswith("Why: ")]
    assert why == [f"Why: {lstm_core.TASKS['delay'].note_for('one_to_one')}"]
    # Training and validation curves, the validation one the engine's held-out loss.
    training, validation = curves(at), curves(at, validation=True)
    assert list(training) == labels(["one_to_one", "many_to_many"])
    assert list(validation) == [f"{label} · validation" for label in training]
    alone = lstm_core.train(config)
    np.testing.assert_allclose(validation["One-to-one · validation"], alone.val_losses, rtol=1e-6)
    # The panels show a held-out sequence.
    assert all("held-out" in f["layout"]["xaxis"]["title"]["text"] for f in panels(at))
    # Both buttons of the exports are there once something is trained.
    assert {b.proto.label for b in at.get("download_button")} == {"⬇️ Table as CSV",
                                                                 "⬇️ Report (one HTML file, opens offline)"}


def test_seed_robustness_rates_spread_band_and_the_worst_seed_one_click_away():
    at = delay_page()
    at.number_input(key="compare_seed_count").set_value(3)
    at.button(key="compare_run_seeds").click().run()
    assert not at.exception and not at.error
    rates = [m.value for m in at.markdown if "seeds solved" in m.value]
    assert rates[0].startswith("❌ 🟦 **One-to-one**: 0 of 3 seeds solved (0 %)")
    assert rates[1].startswith("✅ 🟩 **Many-to-many (TimeDistributed)**: 3 of 3 seeds solved (100 %)")
    (spread,) = [f for f in figures(at) if f["layout"]["title"]["text"].startswith("Final validation MSE")]
    assert [len(decode(trace["y"])) for trace in spread["data"]] == [3, 3]
    (band,) = [f for f in figures(at) if f["layout"]["title"]["text"].startswith("Median validation loss")]
    medians = {t["name"]: decode(t["y"]) for t in band["data"] if t["name"].endswith("(median)")}
    assert [len(values) for values in medians.values()] == [200, 200]
    # The worst many-to-many seed: its held-out predictions and a link to it in the Explorer.
    options = at.selectbox(key="compare_seed_shown").options
    assert len(options) == 4
    assert options[3].startswith("🟩 Many-to-many (TimeDistributed): worst seed")
    at.selectbox(key="compare_seed_shown").select_index(3).run()
    worst_seed = at.selectbox(key="compare_seed_shown").value[2]
    (shown,) = [f for f in figures(at) 
              if f"seed {worst_seed} · held-out" in f["layout"]["title"]["text"]]
    alone = lstm_core.train(compare.resolve_settings(url_params(at))[1][1].replace(seed=worst_seed))
    _, targets, predictions = alone.sequence(0, "validation")
    np.testing.assert_allclose(decode(shown["data"][1]["y"]), predictions, atol=1e-4)
    (link,) = at.get("page_link")
    assert f"seed={worst_seed}" in link.proto.query_string and "task=delay" in link.proto.query_string


def test_a_seed_count_out_of_range_is_kept_in_range_with_a_message():
    at = compare_page()
    assert at.number_input(key="compare_seed_count").value == 20
    at.number_input(key="compare_seed_count").set_value(500).run()
    assert not at.exception
    assert at.number_input(key="compare_seed_count").value == 100
    assert [w.value for w in at.warning] == ["Seeds per topology: 500 is outside 2–100 or not whole; using 100."]
    assert at.button(key="compare_run_seeds").label == "Run 100 seeds"
