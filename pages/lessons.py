"""The Lessons page: a guided lesson, one step at a time: a question, a run, the explanation.

Thin: the lessons are data (`lstm_core.lessons.LESSONS`); this page reads the lesson and step
from the URL (`?lesson=…&step=…`, so a teacher can put a class on the same step), asks the
step's question, trains the step's config with `lstm_core.train` and draws the result with
`lstm_core.plots`. The result lives in the session, keyed by the step.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import lstm_core
from app import controls, shell
from lstm_core import TOPOLOGIES, lessons, plots

PAGE = "lessons"
RESULT_KEY = "lessons_result"
POSITION_KEY = "lessons_position"


def _go_to(lesson_key: str, step: int) -> None:
    """Make (lesson, step from 0) the session's position, and show it in the URL."""
    st.session_state[POSITION_KEY] = (lesson_key, step)
    controls.write_url(PAGE, {"lesson": lesson_key, "step": str(step + 1)})


def current_position() -> tuple[str, int, list[str]]:
    """(lesson key, step from 0, messages): the URL's on a first visit, on arriving from another
    page and on Back/Forward (a teacher's link puts a class on one step); else the session's, so
    that a press sent with an address older than the page's last write keeps its step."""
    incoming = controls.new_url_params(PAGE)
    stored = st.session_state.get(POSITION_KEY)
    if incoming is None and stored is not None:
        return (*stored, [])
    query = incoming if incoming is not None else st.query_params.to_dict()
    return lessons.locate(query.get("lesson"), query.get("step"))


def draw_navigation(lesson: lessons.Lesson, step: int) -> None:
    previous, _, following = st.columns([1, 4, 1])
    if previous.button("◀ Previous step", disabled=step == 0, width="stretch"):
        _go_to(lesson.key, step - 1)
        st.rerun()
    if following.button("Next step ▶", disabled=step >= len(lesson.steps) - 1, width="stretch"):
        _go_to(lesson.key, step + 1)
        st.rerun()


def draw_result(step: lessons.Step, result, choice: str | None) -> None:
    if step.is_right(choice):
        st.success(f"Right: {step.choices[step.answer]}", icon="✅")
    elif choice is None:
        st.info(f"The answer: {step.choices[step.answer]}", icon="ℹ️")
    else:
        st.warning(f"Not quite. You chose “{choice}”; the answer: {step.choices[step.answer]}", icon="🤔")
    outcome = lessons.OUTCOMES[step.outcome]
    mse = f"training MSE {result.final_mse:.2e}"
    if result.has_validation:
        mse += f", validation MSE {result.val_mse:.2e}"
    st.markdown(f"**What the run shows.** {outcome.text} Here: {mse} (the bar: {result.config.solved_below:g}).")

    color = TOPOLOGIES[result.config.topology].color
    series = [("training", color)] + ([("validation", "#7f7f7f")] if result.has_validation else [])
    loss = plots.loss_figure(series, title="Loss")
    plots.set_losses(loss, 0, np.asarray(result.losses))
    if result.has_validation:
        plots.set_losses(loss, 1, np.asarray(result.val_losses))
    split = "validation" if result.has_validation else "train"
    _, targets, predictions = result.sequence(0, split)
    where = "a validation sequence" if split == "validation" else "the training sequence"
    left, right = st.columns(2)
    left.plotly_chart(loss, width="stretch")
    right.plotly_chart(plots.prediction_figure(targets, predictions, title=f"Target vs prediction, {where}",
                                               color=color), width="stretch")
    st.markdown(f"**Why.** {step.explanation}")


def lessons_page() -> None:
    lesson_key, step_index, messages = current_position()
    st.title("🎓 Lessons")
    for message in messages:
        st.warning(message, icon="⚠️")
    keys = list(lessons.LESSONS)
    chosen = st.selectbox("Lesson", keys, index=keys.index(lesson_key),
                          format_func=lambda key: lessons.LESSONS[key].title)
    if chosen != lesson_key:
        lesson_key, step_index = chosen, 0
    _go_to(lesson_key, step_index)
    lesson = lessons.LESSONS[lesson_key]
    step = lesson.steps[step_index]
    st.caption(lesson.summary)
    st.subheader(f"Step {step_index + 1} of {len(lesson.steps)}: {step.title}")
    config = step.config
    st.markdown(f"**The run:** {TOPOLOGIES[config.topology].layer_summary(config.cell).rstrip('.')}; task *{config.task}*, "
                f"X shape {config.x_shape}, {config.epochs} epochs, seed {config.seed}.")

    position = (lesson_key, step_index)
    choice = st.radio(step.question, step.choices, index=None, key=f"lessons_choice_{lesson_key}_{step_index}")
    if st.button("Train and reveal", type="primary"):
        with st.spinner("Training…"):
            st.session_state[RESULT_KEY] = (position, lstm_core.train(config))
    stored = st.session_state.get(RESULT_KEY)
    if stored is not None and stored[0] == position:
        draw_result(step, stored[1], choice)
    draw_navigation(lesson, step_index)


shell.page(lessons_page, PAGE)
