"""The task registry: what the network must learn, on which sequences, and how to tell it did.

The tutorial's echo (y = x on one fixed sequence) needs no memory, so every topology learns it,
and one of them simply memorises it. The other tasks draw many random sequences and keep a
held-out set the network never trains on, so a topology that cannot see what it needs
visibly fails on unseen data. Adding a task is one `Task` entry in `TASKS`.

Every generator is a small, self-contained NumPy function of (rng, num_sequences,
sequence_length, ...) returning (inputs, targets), each (num_sequences, sequence_length):
`lstm_core.export` copies their source into the scripts it writes. The training and the
validation sequences come from two generators keyed by the config's seed, so a run stays
determined by its config.
"""

from __future__ import annotations

import dataclasses
import io
import math
from typing import Callable, Mapping

import numpy as np

# Held-out sequences per random task: enough for a stable validation MSE, few enough to be cheap.
VALIDATION_SEQUENCES = 100
# The most values a custom sequence may hold (pasted or from a CSV column).
MAX_CUSTOM_VALUES = 1000
# A custom series keeps its last part for validation when it is long enough.
CUSTOM_VALIDATION_FRACTION = 0.2
CUSTOM_MODES = ("echo", "next")


# --------------------------------------------------------------------------- generators


def echo_sequences(rng, num_sequences, sequence_length):
    """The tutorial's sequence i/n (0.0 0.2 0.4 0.6 0.8 for n=5); the target is the input."""
    sequence = (np.arange(sequence_length, dtype=np.float64) / sequence_length).astype(np.float32)
    inputs = np.tile(sequence, (num_sequences, 1))
    return inputs, inputs.copy()


def delay_sequences(rng, num_sequences, sequence_length, delay):
    """Uniform random values; the target at step t is the input at step t - delay (0 before)."""
    inputs = rng.uniform(0.0, 1.0, size=(num_sequences, sequence_length))
    targets = np.zeros_like(inputs)
    targets[:, delay:] = inputs[:, : sequence_length - delay]
    return inputs, targets


def reverse_sequences(rng, num_sequences, sequence_length):
    """Uniform random values; the target is the sequence backwards: y_t = x_(n-1-t)."""
    inputs = rng.uniform(0.0, 1.0, size=(num_sequences, sequence_length))
    return inputs, inputs[:, ::-1].copy()


def running_sum_sequences(rng, num_sequences, sequence_length):
    """Uniform random values; the target is the running sum divided by n (so it stays in [0, 1])."""
    inputs = rng.uniform(0.0, 1.0, size=(num_sequences, sequence_length))
    return inputs, np.cumsum(inputs, axis=1) / sequence_length


def sine_sequences(rng, num_sequences, sequence_length):
    """A sine with a random phase and frequency per sequence; the target is the next value."""
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(num_sequences, 1))
    frequency = rng.uniform(0.3, 1.2, size=(num_sequences, 1))  # radians per step
    steps = np.arange(sequence_length + 1)
    wave = 0.5 + 0.4 * np.sin(frequency * steps + phase)
    return wave[:, :-1], wave[:, 1:]


def memory_sequences(rng, num_sequences, sequence_length):
    """Sequences that differ only in their first value; the last output must recall it."""
    first = rng.uniform(0.0, 1.0, size=(num_sequences, 1))
    inputs = np.zeros((num_sequences, sequence_length))
    inputs[:, :1] = first
    targets = np.zeros((num_sequences, sequence_length))
    targets[:, -1:] = first
    return inputs, targets


def scaled_series(values):
    """A series scaled into [0, 1] by its own minimum and maximum."""
    series = np.asarray(values, dtype=np.float64)
    low, high = series.min(), series.max()
    return (series - low) / (high - low) if high > low else np.zeros_like(series)


def custom_windows(series, sequence_length, mode):
    """Windows of `sequence_length` values of an (already scaled) series, stride 1.

    mode "echo": the target is the window itself; "next": the window one step later.
    """
    series = np.asarray(series, dtype=np.float64)
    shift = 1 if mode == "next" else 0
    count = len(series) - sequence_length - shift + 1
    starts = np.arange(max(count, 0))[:, None] + np.arange(sequence_length)[None, :]
    return series[starts], series[starts + shift]


# --------------------------------------------------------------------------- the registry


@dataclasses.dataclass(frozen=True)
class TaskData:
    """A task's sequences: training and held-out validation, each (num_sequences, n) float32."""

    train_inputs: np.ndarray
    train_targets: np.ndarray
    val_inputs: np.ndarray
    val_targets: np.ndarray

    @property
    def has_validation(self) -> bool:
        return len(self.val_inputs) > 0


@dataclasses.dataclass(frozen=True)
class TaskDefaults:
    """The settings with which a task's lesson shows (None: the topology's tutorial value)."""

    sequence_length: int
    units: int
    learning_rate: float
    epochs: int | None = None
    # Sequences per mini-batch; one-to-one's batch is this many sequences' values.
    batch_sequences: int | None = None
    num_sequences: int = 1


@dataclasses.dataclass(frozen=True)
class Task:
    """One problem for the network.

    Attributes:
        key, label: the config value and its name on the pages.
        summary: the rule in one line (y_t = …).
        explanation: what must be remembered, and so which topologies can learn it and why.
        solved_below: the validation MSE (training MSE where there is no held-out set) under
            which the task counts as solved.
        defaults: the settings with which the lesson shows.
        topology_notes: for a topology key, why it can or cannot solve this task.
        generator: the NumPy function that draws (inputs, targets); None for custom data.
        params: the config fields the generator takes besides (rng, count, length).
        held_out: whether runs are judged on held-out sequences.
        suggestion: a task to try next, for the pages (None: none).
        cannot_solve: topologies that cannot solve it whatever the training (they do not see what
            it needs); more epochs or another seed is no advice for them.
    """

    key: str
    label: str
    summary: str
    explanation: str
    solved_below: float
    defaults: TaskDefaults
    topology_notes: Mapping[str, str]
    generator: Callable | None
    params: tuple[str, ...] = ()
    held_out: bool = True
    suggestion: str | None = None
    cannot_solve: frozenset = frozenset()

    def note_for(self, topology_key: str) -> str:
        """Why the topology can or cannot solve this task (from the registry)."""
        return self.topology_notes.get(topology_key, "")


_CANNOT_SEE_PAST = (
    "It sees one value per sample and carries nothing from one sample to the next, so it cannot "
    "output anything that depends on an earlier value."
)
_ONLY_FIRST = "It sees only the first value of each sequence, so it cannot know the others."

TASKS: dict[str, Task] = {
    task.key: task
    for task in (
        Task(
            key="echo",
            label="Echo (the tutorial)",
            summary="y_t = x_t on the one sequence 0, 1/n, …, (n−1)/n",
            explanation=(
                "The tutorial's task: repeat each value. The output at step t is the input at step t "
                "(y = x), so nothing has to be remembered and every topology learns it, even the "
                "one-to-one network whose memory never spans two values. There is one fixed "
                "sequence and no unseen data: many-to-one can score perfectly by memorising the "
                "vector 0, 0.2, …, 0.8 in its Dense(n) bias without reading its input at all. "
                "Nothing here shows why the topology matters; the other tasks do."
            ),
            solved_below=1e-3,
            defaults=TaskDefaults(sequence_length=5, units=5, learning_rate=0.001),
            topology_notes={
                "many_to_one": (
                    "On the echo it memorises: Dense(n) can output one fixed vector whatever it "
                    "reads. Try *delay* or *reverse* to see whether it generalises to sequences it "
                    "has not seen."
                ),
                "one_to_many": "Its one input is always 0.0 here: it memorises the sequence.",
            },
            generator=echo_sequences,
            held_out=False,
            suggestion="delay",
        ),
        Task(
            key="delay",
            label="Delay by k",
            summary="y_t = x_(t−k), 0 before the sequence starts",
            explanation=(
                "Output each value k steps after it came in. The network must hold the last k "
                "inputs in its state: a topology whose memory never spans k steps cannot."
            ),
            solved_below=1e-2,
            defaults=TaskDefaults(sequence_length=6, units=16, learning_rate=0.01, epochs=200,
                                  batch_sequences=32, num_sequences=200),
            topology_notes={
                "one_to_one": _CANNOT_SEE_PAST,
                "one_to_many": _ONLY_FIRST,
                "many_to_one": "It reads the whole sequence and writes all n outputs from its last state.",
                "many_to_many": "It is causal and x_(t−k) has already been read at step t: it only has to keep it.",
            },
            cannot_solve=frozenset(("one_to_one", "one_to_many")),
            generator=delay_sequences,
            params=("delay",),
            suggestion="reverse",
        ),
        Task(
            key="reverse",
            label="Reverse",
            summary="y_t = x_(n−1−t)",
            explanation=(
                "Output the sequence backwards. The first output is the last input, so a network "
                "that must answer at step t having read only x_0 … x_t (a causal many-to-many) "
                "cannot know it yet. It needs the whole sequence before its first output: "
                "many-to-one, encoder-decoder or bidirectional."
            ),
            solved_below=1e-2,
            defaults=TaskDefaults(sequence_length=6, units=16, learning_rate=0.01, epochs=200,
                                  batch_sequences=32, num_sequences=200),
            topology_notes={
                "one_to_one": _CANNOT_SEE_PAST,
                "one_to_many": _ONLY_FIRST,
                "many_to_many": (
                    "It is causal: at step t it has read only x_0 … x_t, but y_0 is x_(n−1), which "
                    "arrives last. For the first half of the outputs it can only guess the average."
                ),
                "many_to_many_dense": "The same causal network as many-to-many: it answers before it has read what it must output.",
                "stacked": "Two causal layers are still causal: depth does not let it see the future.",
                "encoder_decoder": "The decoder starts after the encoder has read everything.",
                "bidirectional": "Its backward layer has read x_(n−1) … x_t at step t: the future is there.",
                "many_to_one": "It outputs all n values after reading the whole sequence.",
            },
            cannot_solve=frozenset(("one_to_one", "one_to_many", "many_to_many", "many_to_many_dense", "stacked")),
            generator=reverse_sequences,
            suggestion="running_sum",
        ),
        Task(
            key="running_sum",
            label="Running sum",
            summary="y_t = (x_0 + … + x_t) / n",
            explanation=(
                "Output the sum so far. The network must accumulate a total in its state, step by "
                "step: a memory that is added to, not just copied."
            ),
            solved_below=1e-3,
            defaults=TaskDefaults(sequence_length=6, units=16, learning_rate=0.01, epochs=200,
                                  batch_sequences=32, num_sequences=200),
            topology_notes={
                "one_to_one": _CANNOT_SEE_PAST,
                "one_to_many": _ONLY_FIRST,
                "many_to_many": "It is causal and the sum up to t needs only x_0 … x_t: it keeps a running total.",
            },
            cannot_solve=frozenset(("one_to_one", "one_to_many")),
            generator=running_sum_sequences,
        ),
        Task(
            key="sine",
            label="Sine: next value",
            summary="x = a sine with a random phase and frequency; y_t = x_(t+1)",
            explanation=(
                "Forecast the next value of a wave. One value does not say whether the wave is "
                "rising or falling, nor how fast: the network must look at the last few values. "
                "A causal network is unsure only at the first steps, before it has seen enough of the "
                "wave. (A bidirectional network reads x_(t+1) itself from the other side: it copies "
                "the answer, which is not forecasting.)"
            ),
            solved_below=1e-2,
            defaults=TaskDefaults(sequence_length=10, units=16, learning_rate=0.01, epochs=200,
                                  batch_sequences=32, num_sequences=200),
            topology_notes={
                "one_to_one": (
                    "It sees one value: the same value comes both on a rising and on a falling "
                    "slope, so it can only predict something in between."
                ),
                "one_to_many": _ONLY_FIRST,
                "bidirectional": "Its backward layer has already read x_(t+1): it copies the answer instead of forecasting it.",
            },
            cannot_solve=frozenset(("one_to_one", "one_to_many")),
            generator=sine_sequences,
        ),
        Task(
            key="memory",
            label="Remember the first value",
            summary="x = (v, 0, 0, …, 0); y = (0, …, 0, v)",
            explanation=(
                "The sequences differ only in their first value, and the last output must recall "
                "it: the network has to carry one number through n−1 steps of nothing. This is the "
                "classic test of a recurrent memory (try a long sequence with SimpleRNN, then LSTM)."
            ),
            solved_below=1e-3,
            defaults=TaskDefaults(sequence_length=10, units=16, learning_rate=0.01, epochs=200,
                                  batch_sequences=32, num_sequences=200),
            topology_notes={
                "one_to_one": (
                    "At the last step it sees a 0 like every other sequence: with no memory across "
                    "samples it can only output the average of v."
                ),
                "one_to_many": "It sees exactly the one value that matters: this task is made for it.",
            },
            cannot_solve=frozenset(("one_to_one",)),
            generator=memory_sequences,
        ),
        Task(
            key="custom",
            label="Your own sequence",
            summary="your numbers, scaled into [0, 1]: learn them as an echo or predict the next value",
            explanation=(
                "Paste numbers or upload a CSV column. They are scaled into [0, 1] and cut into "
                "windows of the sequence length; when the series is long enough, its last fifth is "
                "held out for validation. 'next' asks for the following value at every step "
                "(a forecast: memory helps); 'echo' asks for the value itself (no memory needed)."
            ),
            solved_below=1e-2,
            defaults=TaskDefaults(sequence_length=10, units=16, learning_rate=0.01, epochs=200,
                                  batch_sequences=32),
            topology_notes={
                "one_to_one": "With 'next', one value rarely tells what comes after it.",
                "one_to_many": _ONLY_FIRST,
                "bidirectional": "With 'next', its backward layer has read the answer already.",
            },
            generator=None,
            params=("custom_values", "custom_mode"),
        ),
    )
}


# --------------------------------------------------------------------------- data for a config


def custom_split(values, sequence_length: int, mode: str) -> tuple[tuple, tuple]:
    """(training values, validation values) of a custom series; no validation if too short.

    The series is cut before windowing so that no window spans both parts.
    """
    values = tuple(values)
    shift = 1 if mode == "next" else 0
    split = int(round(len(values) * (1 - CUSTOM_VALIDATION_FRACTION)))
    held_out = values[split:]
    if len(held_out) < sequence_length + shift or split < sequence_length + shift:
        return values, ()
    return values[:split], held_out


def custom_max_length(values, mode: str) -> int:
    """The longest sequence a custom series allows (its length, one less to predict the next)."""
    return len(values) - (1 if mode == "next" else 0)


def sequence_counts(task_key: str, sequence_length: int, num_sequences: int | None = None,
                    custom_values=(), custom_mode: str = "next") -> tuple[int, int]:
    """(training sequences, validation sequences) for these settings, without drawing anything."""
    task = TASKS[task_key]
    if task.generator is None:
        shift = 1 if custom_mode == "next" else 0
        train, held_out = custom_split(custom_values, sequence_length, custom_mode)
        return (max(len(train) - sequence_length - shift + 1, 0),
                max(len(held_out) - sequence_length - shift + 1, 0) if held_out else 0)
    if not task.held_out:
        return 1, 0
    return (num_sequences if num_sequences is not None else task.defaults.num_sequences), VALIDATION_SEQUENCES


def make_data(config) -> TaskData:
    """The config's training and validation sequences, the same for the same config."""
    task = TASKS[config.task]
    n = config.sequence_length
    if task.generator is None:
        # Scaled as one series, then split: both parts share one scale.
        train, held_out = custom_split(tuple(scaled_series(config.custom_values)), n, config.custom_mode)
        parts = [custom_windows(train, n, config.custom_mode)]
        parts.append(custom_windows(held_out, n, config.custom_mode) if held_out else
                     (np.zeros((0, n)), np.zeros((0, n))))
    else:
        params = {name: getattr(config, name) for name in task.params}
        train_count, val_count = sequence_counts(config.task, n, config.num_sequences)
        # Two streams keyed by the seed: the held-out sequences never depend on how many
        # training sequences were drawn.
        parts = [task.generator(np.random.default_rng([config.seed, 0]), train_count, n, **params)]
        if val_count:
            parts.append(task.generator(np.random.default_rng([config.seed, 1]), val_count, n, **params))
        else:
            parts.append((np.zeros((0, n)), np.zeros((0, n))))
    (train_inputs, train_targets), (val_inputs, val_targets) = parts
    as32 = lambda array: np.ascontiguousarray(array, dtype=np.float32)  # noqa: E731
    return TaskData(as32(train_inputs), as32(train_targets), as32(val_inputs), as32(val_targets))


# --------------------------------------------------------------------------- custom input


class CustomInputError(ValueError):
    """Custom data that cannot be used; the message says why, in words for the page."""


def parse_custom_text(text: str) -> tuple[float, ...]:
    """Numbers separated by spaces, commas, semicolons or new lines; `CustomInputError` if unusable."""
    if not isinstance(text, str) or not text.strip():
        raise CustomInputError("No numbers found: paste values separated by spaces or commas, e.g. 1, 3, 2, 5.")
    tokens = [token for token in text.replace(",", " ").replace(";", " ").split() if token]
    if len(tokens) > MAX_CUSTOM_VALUES:
        raise CustomInputError(f"{len(tokens):,} values is too many: at most {MAX_CUSTOM_VALUES:,}.")
    values = []
    for position, token in enumerate(tokens, start=1):
        try:
            if not token.isascii():
                raise ValueError
            number = float(token)
        except ValueError:
            shown = token if len(token) <= 20 else token[:19] + "…"
            raise CustomInputError(f"Value {position} ({shown!r}) is not a number.") from None
        if not math.isfinite(number):
            raise CustomInputError(f"Value {position} ({token}) is not a finite number (NaN and infinity are not allowed).")
        values.append(number)
    return check_custom_values(values)


def check_custom_values(values) -> tuple[float, ...]:
    """The values as a tuple of floats, if there are enough, not too many and all finite."""
    values = tuple(float(value) for value in values)
    if len(values) < 3:
        raise CustomInputError(f"Only {len(values)} value(s): a sequence needs at least 3.")
    if len(values) > MAX_CUSTOM_VALUES:
        raise CustomInputError(f"{len(values):,} values is too many: at most {MAX_CUSTOM_VALUES:,}.")
    if not all(math.isfinite(value) for value in values):
        raise CustomInputError("The values include NaN or infinity.")
    if max(values) == min(values):
        raise CustomInputError("All the values are equal: there is nothing to learn.")
    return values


def read_csv_column(content: bytes, column: str | None = None, max_bytes: int = 1_000_000) -> tuple[tuple[float, ...], str, list[str]]:
    """(values, the column used, the numeric columns) from a CSV file's bytes.

    The first numeric column is used unless `column` names another. Empty cells are dropped.
    `CustomInputError` for a file too big, not a CSV, or without a numeric column.
    """
    import pandas as pd

    if len(content) > max_bytes:
        raise CustomInputError(f"The file has {len(content):,} bytes: at most {max_bytes:,}.")
    try:
        frame = pd.read_csv(io.BytesIO(content))
    except Exception as problem:  # noqa: BLE001 - pandas raises many kinds for a bad file
        raise CustomInputError(f"The file could not be read as CSV ({type(problem).__name__}).") from None
    numeric = [name for name in frame.columns if pd.api.types.is_numeric_dtype(frame[name])]
    if not numeric:
        raise CustomInputError("The CSV file has no column of numbers.")
    chosen = column if column in numeric else numeric[0]
    series = frame[chosen].dropna()
    return check_custom_values(series.to_numpy(dtype=np.float64)), str(chosen), [str(name) for name in numeric]
