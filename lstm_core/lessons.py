"""Guided lessons: the LESSONS registry. Each step sets a config, asks before the run, explains after.

Lessons are data: a page shows any of them without code of its own. Every claim a step makes
can be checked by running it: `outcome` names an entry of OUTCOMES (a test trains every step
and checks it), `x_shape` is the framing the question is about, `recurrent_params` the
parameter count of the recurrent layer. The configs keep the lesson seed fixed, so the run on
a learner's screen is the run the claim was checked on.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from lstm_core.config import ExperimentConfig


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a step's run is claimed to show, and how to check it on a `TrainingResult`."""

    key: str
    text: str
    holds: Callable[[Any], bool]


def _memorises(result) -> bool:
    """Training error far below the bar while the held-out error stays above it."""
    return bool(result.has_validation and result.final_mse < result.config.solved_below / 10
                and result.val_mse > result.config.solved_below)


OUTCOMES: dict[str, Outcome] = {
    outcome.key: outcome
    for outcome in (
        Outcome("learns", "The network learns the task (its error ends below the task's bar).",
                lambda result: result.solved),
        Outcome("fails", "The network does not learn the task (its error stays above the task's bar).",
                lambda result: not result.solved),
        Outcome("memorises", "The training error falls to almost nothing; the validation error stays high.",
                _memorises),
    )
}


@dataclasses.dataclass(frozen=True)
class Step:
    """One step: the run's settings, a question with its right answer, the explanation after the run.

    Attributes:
        title: a few words for the step's heading.
        settings: keyword arguments of `ExperimentConfig` (task, topology, cell, …).
        question, choices, answer: asked before the run; `answer` indexes `choices`.
        outcome: a key of OUTCOMES: what the run shows.
        explanation: shown with the run on screen.
        x_shape, recurrent_params: facts the question is about, where it asks about them.
    """

    title: str
    settings: Mapping[str, Any]
    question: str
    choices: tuple[str, ...]
    answer: int
    outcome: str
    explanation: str
    x_shape: tuple[int, ...] | None = None
    recurrent_params: int | None = None

    def __post_init__(self):
        if not 2 <= len(self.choices) <= 4:
            raise ValueError(f"step {self.title!r}: 2 to 4 choices, got {len(self.choices)}")
        if not 0 <= self.answer < len(self.choices):
            raise ValueError(f"step {self.title!r}: answer {self.answer} is not a choice")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"step {self.title!r}: outcome {self.outcome!r}: allowed {', '.join(OUTCOMES)}")

    @property
    def config(self) -> ExperimentConfig:
        return ExperimentConfig(**self.settings)

    def is_right(self, choice: str | None) -> bool:
        return choice == self.choices[self.answer]


@dataclasses.dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    summary: str
    steps: tuple[Step, ...]


_ECHO_SOLVED = "The echo is solved: every topology can learn it, so the point here is the framing, not the score."

LESSONS: dict[str, Lesson] = {
    lesson.key: lesson
    for lesson in (
        Lesson(
            key="input_3d",
            title="Why the input is 3-D",
            summary="Keras's recurrent layers read (samples, time steps, features); the same five values can be framed two ways.",
            steps=(
                Step(
                    title="One-to-one: five samples of one step",
                    settings={"task": "echo", "topology": "one_to_one"},
                    question="The tutorial's one-to-one X has shape (5, 1, 1). What do the three numbers count?",
                    choices=("samples, time steps, features", "rows, columns, colour channels",
                             "units, time steps, outputs", "epochs, batches, values"),
                    answer=0,
                    outcome="learns",
                    x_shape=(5, 1, 1),
                    explanation=(
                        "A recurrent layer always reads a 3-D array: (samples, time steps, features). "
                        "One-to-one makes each of the five values its own sample with one time step and "
                        "one feature, so the LSTM's state starts afresh for every value: it has no memory "
                        "to use. The echo needs none (y = x), so it still learns. " + _ECHO_SOLVED
                    ),
                ),
                Step(
                    title="Many-to-one: one sample of five steps",
                    settings={"task": "echo", "topology": "many_to_one"},
                    question="Many-to-one feeds the same five values as one sequence. What is the shape of X?",
                    choices=("(1, 5, 1)", "(5, 1, 1)", "(1, 1, 5)", "(5,)"),
                    answer=0,
                    outcome="learns",
                    x_shape=(1, 5, 1),
                    explanation=(
                        "(1, 5, 1): one sample, five time steps, one feature each. Now the LSTM reads the "
                        "values one after the other and carries its state across them. (1, 1, 5) would be "
                        "one time step with five features: the layer would see all values at once, with no "
                        "order and no recurrence. A flat (5,) is refused: the layer needs the time axis."
                    ),
                ),
            ),
        ),
        Lesson(
            key="return_sequences",
            title="What return_sequences changes",
            summary="The last state only, or one state per time step: what the layer after the LSTM receives.",
            steps=(
                Step(
                    title="return_sequences=False: one vector per sequence",
                    settings={"task": "echo", "topology": "many_to_one"},
                    question="LSTM(5) without return_sequences reads X of shape (1, 5, 1). What does it output?",
                    choices=("(1, 5): the last state, 5 units", "(1, 5, 5): a state per time step",
                             "(1, 5, 1): one value per step"),
                    answer=0,
                    outcome="learns",
                    explanation=(
                        "By default an LSTM returns only its state after the last time step: (samples, units) "
                        "= (1, 5). Dense(5) then writes all five outputs at once from that one vector. On the "
                        "echo it can even ignore its input and memorise 0, 0.2, …, 0.8 in its bias."
                    ),
                ),
                Step(
                    title="return_sequences=True: a state per step",
                    settings={"task": "echo", "topology": "many_to_many"},
                    question="With return_sequences=True, what does LSTM(5) output for X (1, 5, 1)?",
                    choices=("(1, 5, 5): a 5-unit state at each of the 5 steps", "(1, 5): the last state",
                             "(1, 25): the states concatenated"),
                    answer=0,
                    outcome="learns",
                    explanation=(
                        "return_sequences=True keeps the time axis: (samples, time steps, units) = (1, 5, 5). "
                        "The output layer is then applied at every step, giving (1, 5, 1): one prediction "
                        "per input step, each made having read only the inputs so far."
                    ),
                ),
            ),
        ),
        Lesson(
            key="time_distributed",
            title="TimeDistributed vs Dense in Keras 3",
            summary="After return_sequences=True, Dense(1) and TimeDistributed(Dense(1)) are the same layer.",
            steps=(
                Step(
                    title="TimeDistributed(Dense(1))",
                    settings={"task": "echo", "topology": "many_to_many"},
                    question="TimeDistributed(Dense(1)) follows LSTM(5, return_sequences=True). How many parameters does it have?",
                    choices=("6: five weights and a bias, shared by every time step", "30: six per time step",
                             "1: one output"),
                    answer=0,
                    outcome="learns",
                    explanation=(
                        "TimeDistributed applies one Dense(1) at every time step with the same weights: "
                        "5 weights + 1 bias = 6 parameters whatever the sequence length. Note the loss curve "
                        "and the predictions; the next step changes only this layer."
                    ),
                ),
                Step(
                    title="Plain Dense(1), same seed",
                    settings={"task": "echo", "topology": "many_to_many_dense"},
                    question="Now a plain Dense(1) on the same 3-D output, same seed. What happens?",
                    choices=("The same loss curve and predictions: Dense acts on the last axis",
                             "An error: Dense needs a 2-D input",
                             "A different curve: Dense mixes the time steps"),
                    answer=0,
                    outcome="learns",
                    explanation=(
                        "In Keras 3 a Dense layer on a 3-D tensor acts on the last axis, separately at each "
                        "time step, with shared weights: exactly what TimeDistributed(Dense) does. Same 6 "
                        "parameters, same initial weights, the same curve (to float round-off, about one part in a million). TimeDistributed "
                        "still matters for layers that are not Dense (a Conv2D per frame, say)."
                    ),
                ),
            ),
        ),
        Lesson(
            key="memory",
            title="Memory: the wrong topology fails",
            summary="Delay and reverse need the network to remember; only some framings can.",
            steps=(
                Step(
                    title="Delay by 2, one-to-one",
                    settings={"task": "delay", "topology": "one_to_one"},
                    question="Output each value two steps later. Can one-to-one, which sees one value per sample, learn it?",
                    choices=("No: it never sees the value it must output", "Yes, given enough epochs"),
                    answer=0,
                    outcome="fails",
                    explanation=(
                        "Each sample holds one value and the state is reset between samples, so at step t "
                        "the network has no trace of x_(t−2). No amount of training helps: the information "
                        "is not in its input. Its best is a guess near the average."
                    ),
                ),
                Step(
                    title="Delay by 2, many-to-many",
                    settings={"task": "delay", "topology": "many_to_many"},
                    question="The same task with many-to-many (one output per step, state carried along)?",
                    choices=("It learns: x_(t−2) has been read and can be kept in the state",
                             "It fails too: it also answers at every step"),
                    answer=0,
                    outcome="learns",
                    explanation=(
                        "A causal many-to-many has read x_0 … x_t when it answers at step t, and x_(t−2) is "
                        "among them: it only has to hold it for two steps. Memory in the state is what "
                        "the one-to-one framing threw away."
                    ),
                ),
                Step(
                    title="Reverse, many-to-many",
                    settings={"task": "reverse", "topology": "many_to_many"},
                    question="Now output the sequence backwards with the same many-to-many. Will it learn?",
                    choices=("No: its first output is the last input, which it has not read yet",
                             "Yes: it learnt the delay"),
                    answer=0,
                    outcome="fails",
                    explanation=(
                        "y_0 = x_(n−1), which arrives last. A causal network answering at every step must "
                        "produce the first half of the outputs before it has read them; it can only guess the "
                        "average there. The validation error stays near half the data's variance."
                    ),
                ),
                Step(
                    title="Reverse, bidirectional",
                    settings={"task": "reverse", "topology": "bidirectional"},
                    question="A bidirectional LSTM reads the sequence both ways. Will it reverse it?",
                    choices=("Yes: its backward layer has read the end at every step", "No: it is still causal"),
                    answer=0,
                    outcome="learns",
                    explanation=(
                        "The backward layer has read x_(n−1) … x_t by step t, so the value each output needs "
                        "is there. Many-to-one and encoder-decoder also work: they read everything before "
                        "the first output. The topology decides what can be learnt."
                    ),
                ),
            ),
        ),
        Lesson(
            key="generalising",
            title="Memorising vs generalising",
            summary="A low training loss is not learning: watch the validation loss on sequences it never saw.",
            steps=(
                Step(
                    title="4 training sequences",
                    settings={"task": "reverse", "topology": "many_to_one", "num_sequences": 4, "units": 32,
                              "epochs": 500, "batch_size": 4},
                    question="Reverse, many-to-one, 32 units, only 4 training sequences, 500 epochs. What will the validation loss do?",
                    choices=("Stay high while the training loss falls to almost nothing",
                             "Fall with the training loss", "Rise above 1"),
                    answer=0,
                    outcome="memorises",
                    explanation=(
                        "With 4 sequences and thousands of parameters the network can fit those 4 exactly "
                        "without learning the rule: the training loss falls to ~0 while the validation "
                        "loss, on 100 sequences it never saw, stays high. That gap is memorising."
                    ),
                ),
                Step(
                    title="200 training sequences",
                    settings={"task": "reverse", "topology": "many_to_one"},
                    question="The same task with 200 training sequences (16 units, 200 epochs)?",
                    choices=("Both losses fall together: it generalises", "It still only memorises"),
                    answer=0,
                    outcome="learns",
                    explanation=(
                        "With many examples, fitting them all is easiest by learning the rule itself, so the "
                        "validation loss follows the training loss down. Always judge a network on data it "
                        "did not train on."
                    ),
                ),
            ),
        ),
        Lesson(
            key="cells",
            title="LSTM vs GRU vs SimpleRNN",
            summary="Three recurrent cells: their parameters, and the same memory task for each.",
            steps=(
                Step(
                    title="SimpleRNN",
                    settings={"task": "delay", "topology": "many_to_many", "cell": "simple_rnn",
                              "sequence_length": 10, "delay": 4},
                    question="SimpleRNN(16) on one input feature: how many parameters?",
                    choices=("288 = 16 · (16 + 1 + 1)", "1,152", "912"),
                    answer=0,
                    outcome="learns",
                    recurrent_params=288,
                    explanation=(
                        "SimpleRNN has one set of weights: h_t = tanh(W x_t + U h_(t−1) + b), "
                        "units · (units + features + 1) parameters. Its gradients shrink over long gaps, "
                        "but a four-step delay is short: it learns it."
                    ),
                ),
                Step(
                    title="GRU",
                    settings={"task": "delay", "topology": "many_to_many", "cell": "gru",
                              "sequence_length": 10, "delay": 4},
                    question="GRU(16) has an update and a reset gate besides its candidate. How many parameters?",
                    choices=("912 = 3 · 16 · (16 + 1 + 2)", "288", "1,152"),
                    answer=0,
                    outcome="learns",
                    recurrent_params=912,
                    explanation=(
                        "Three weight sets (update gate, reset gate, candidate); Keras 3's GRU keeps two "
                        "bias vectors per set (reset_after=True), hence the + 2. The gates let it keep a "
                        "value unchanged across steps."
                    ),
                ),
                Step(
                    title="LSTM",
                    settings={"task": "delay", "topology": "many_to_many", "cell": "lstm",
                              "sequence_length": 10, "delay": 4},
                    question="LSTM(16): input, forget and output gates plus the candidate. How many parameters?",
                    choices=("1,152 = 4 · 16 · (16 + 1 + 1)", "912", "288"),
                    answer=0,
                    outcome="learns",
                    recurrent_params=1152,
                    explanation=(
                        "Four weight sets and a separate cell state c that the forget gate can keep for a "
                        "long time: 4 · units · (units + features + 1). On this short delay all three cells "
                        "learn; the gated cells pay 3-4 times the parameters for memory over long gaps."
                    ),
                ),
            ),
        ),
    )
}


def locate(lesson_text: Any, step_text: Any) -> tuple[str, int, list[str]]:
    """(lesson key, step index from 0, messages) from URL values; a bad value becomes the nearest valid one.

    `step_text` counts from 1, as the page shows it.
    """
    messages = []
    keys = list(LESSONS)
    lesson_key = keys[0]
    if lesson_text not in (None, ""):
        if str(lesson_text) in LESSONS:
            lesson_key = str(lesson_text)
        else:
            messages.append(f"There is no lesson {str(lesson_text)[:40]!r}: showing {LESSONS[lesson_key].title!r}. "
                            f"Lessons: {', '.join(keys)}.")
    count = len(LESSONS[lesson_key].steps)
    step = 0
    if step_text not in (None, ""):
        try:
            number = int(str(step_text))
        except ValueError:
            messages.append(f"step={str(step_text)[:40]!r} is not a whole number: showing step 1.")
        else:
            step = min(max(number, 1), count) - 1
            if number != step + 1:
                messages.append(f"step={number} is out of range: this lesson has steps 1 to {count}; "
                                f"showing step {step + 1}.")
    return lesson_key, step, messages
