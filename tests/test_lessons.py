"""Guided lessons: every step's config is valid and its claims hold when trained; the page restores a step from the URL."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import lstm_core
from lstm_core import CELLS, TASKS, TOPOLOGIES, ExperimentConfig, build_model, lessons
from tests.pagetools import DASHBOARD, figure_titled, traces

STEPS = [(lesson.key, index, step) for lesson in lessons.LESSONS.values() for index, step in enumerate(lesson.steps)]
IDS = [f"{key}-{index + 1}" for key, index, _ in STEPS]


def test_the_six_lessons_of_issue_13_are_there():
    assert {"input_3d", "return_sequences", "time_distributed", "memory", "generalising", "cells"} <= set(lessons.LESSONS)
    for lesson in lessons.LESSONS.values():
        assert lesson.steps, lesson.key


@pytest.mark.parametrize("key, index, step", STEPS, ids=IDS)
def test_step_config_is_a_valid_experiment_config(key, index, step):
    config = step.config
    assert isinstance(config, ExperimentConfig)
    assert config.task in TASKS and config.topology in TOPOLOGIES and config.cell in CELLS
    assert 2 <= len(step.choices) <= 4 and step.is_right(step.choices[step.answer])
    assert not step.is_right(step.choices[(step.answer + 1) % len(step.choices)])
    if step.x_shape is not None:
        assert config.x_shape == step.x_shape


@pytest.mark.parametrize("key, index, step", [s for s in STEPS if s[2].recurrent_params], ids=lambda v: str(v)[:20])
def test_claimed_parameter_counts(key, index, step):
    recurrent = [layer for layer in build_model(step.config).layers if layer.__class__.__name__ in
                 {cell.keras_class for cell in CELLS.values()}]
    assert recurrent[0].count_params() == step.recurrent_params


def test_a_step_with_a_bad_outcome_or_answer_is_refused():
    with pytest.raises(ValueError, match="outcome"):
        lessons.Step("t", {}, "q?", ("a", "b"), 0, "wins", "e")
    with pytest.raises(ValueError, match="choices"):
        lessons.Step("t", {}, "q?", ("a",), 0, "learns", "e")


@pytest.mark.parametrize("key, index, step", STEPS, ids=IDS)
def test_step_outcome_holds_when_trained(key, index, step):
    result = lstm_core.train(step.config)
    outcome = lessons.OUTCOMES[step.outcome]
    assert outcome.holds(result), (key, index, step.outcome, result.final_mse, result.val_mse)
    # and the opposite claim would have been caught
    opposite = {"learns": "fails", "fails": "learns", "memorises": "learns"}[step.outcome]
    assert not lessons.OUTCOMES[opposite].holds(result)


def test_dense_and_time_distributed_steps_give_the_same_curve():
    first, second = (lstm_core.train(step.config) for step in lessons.LESSONS["time_distributed"].steps)
    np.testing.assert_allclose(first.losses, second.losses, rtol=1e-5)  # float round-off only
    np.testing.assert_allclose(first.predictions, second.predictions, atol=1e-5)


def test_locate_turns_bad_url_values_into_messages():
    assert lessons.locate("memory", "3") == ("memory", 2, [])
    assert lessons.locate(None, None) == (next(iter(lessons.LESSONS)), 0, [])
    key, step, messages = lessons.locate("nope", "1")
    assert key == next(iter(lessons.LESSONS)) and step == 0 and "no lesson 'nope'" in messages[0]
    assert lessons.locate("memory", "99")[1:] == (3, [lessons.locate("memory", "99")[2][0]])
    assert "out of range" in lessons.locate("memory", "0")[2][0]
    assert "not a whole number" in lessons.locate("memory", "two")[2][0]


# --------------------------------------------------------------------------- the page


def lessons_page(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=180).run()
    at.switch_page("pages/lessons.py")
    at.query_params.update(query)
    return at.run()


def test_page_restores_the_step_from_the_url():
    at = lessons_page({"lesson": "memory", "step": "3"})
    assert not at.exception and not at.warning
    assert at.selectbox[0].value == "memory"
    assert "Step 3 of 4" in at.subheader[0].value
    assert at.radio[0].label == lessons.LESSONS["memory"].steps[2].question


@pytest.mark.parametrize("query, expected", [({"lesson": "nope"}, "no lesson"), ({"lesson": "memory", "step": "x"}, "whole number"),
                                             ({"lesson": "cells", "step": "9"}, "out of range")])
def test_page_bad_url_gives_a_message_not_a_traceback(query, expected):
    at = lessons_page(query)
    assert not at.exception and not at.error
    assert any(expected in w.value for w in at.warning)
    assert at.subheader  # the page still shows a step


def test_reveal_trains_and_shows_the_charts_and_the_verdict():
    at = lessons_page({"lesson": "input_3d", "step": "2"})
    step = lessons.LESSONS["input_3d"].steps[1]
    at.radio[0].set_value(step.choices[step.answer])
    next(b for b in at.button if b.label == "Train and reveal").click()
    at.run()
    assert not at.exception
    assert any("Right" in s.value for s in at.success)
    loss = traces(figure_titled(at, "Loss"))["training"][1]
    assert len(loss) == step.config.epochs
    target = traces(figure_titled(at, "Target vs prediction"))["target"][1]
    np.testing.assert_allclose(target, [0.0, 0.2, 0.4, 0.6, 0.8], atol=1e-6)
    # a wrong answer is told so
    at.radio[0].set_value(step.choices[1])
    at.run()
    assert any("Not quite" in w.value for w in at.warning)


def test_next_step_moves_the_url():
    at = lessons_page({"lesson": "memory", "step": "1"})
    next(b for b in at.button if b.label.startswith("Next")).click()
    at.run()
    assert at.query_params["step"] in ("2", ["2"]) and "Step 2 of 4" in at.subheader[0].value



def test_a_press_with_the_address_of_the_previous_step_stays_on_its_step(monkeypatch):
    """Train and reveal pressed before the browser shows the new step's address (a busy server)
    sends the previous step's: the page must stay on its step, and Back still goes back."""
    from app import controls

    at = lessons_page({"lesson": "memory", "step": "1"})
    next(b for b in at.button if b.label.startswith("Next")).click()
    at.run()
    assert "Step 2 of 4" in at.subheader[0].value
    at.query_params["step"] = "1"  # what the browser still shows
    next(b for b in at.button if b.label == "Train and reveal").click()
    at.run()
    assert not at.exception
    assert "Step 2 of 4" in at.subheader[0].value
    assert at.session_state["lessons_result"][0] == ("memory", 1)  # step 2's run was trained
    assert at.query_params["step"] in ("2", ["2"])
    monkeypatch.setattr(controls, "history_navigation", lambda: True)  # Back
    at.query_params["step"] = "1"
    at.run()
    assert "Step 1 of 4" in at.subheader[0].value
