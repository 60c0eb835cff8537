"""The one frozen, validated description of a training run, and its URL round trip.

`ExperimentConfig` holds every setting that decides a run, the seed included, so the same
config always gives the same run. One table, `FIELDS`, describes every setting (its kind,
range or choices, label, help and URL key); the dataclass check, `resolve`, the pages' controls
and the URL all read it. Validation lives here and only here: the constructor raises
`ValueError` naming the field, the value and the allowed range; `resolve()` is the forgiving
door used for URLs and widgets, the one place where values are clamped or replaced, with a
message for each change.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import os
import re
from typing import Any, Callable, Mapping, Sequence

from lstm_core import tasks as task_registry
from lstm_core.cells import CELLS
from lstm_core.tasks import TASKS
from lstm_core.topologies import TOPOLOGIES, frame_shapes

# The per-run work cap (see `work_per_epoch`): it bounds how long one click may occupy a shared
# server. One unit of work took about 50 ns here, so the heaviest allowed runs take a few
# seconds (see the README's performance section). Deployments change it with
# LSTM_DASHBOARD_MAX_WORK.
DEFAULT_MAX_WORK = 40_000_000
MAX_WORK = int(os.environ.get("LSTM_DASHBOARD_MAX_WORK", DEFAULT_MAX_WORK))
# Small layers do not run proportionally faster (each step has a fixed cost): count them as this wide.
MIN_WORK_UNITS = 16
# Each weight update costs about this much work on top of its arithmetic (measured: 7-33 µs per
# update with batch 1), plus STEP_WORK per recurrent step of a sample: small batches are slow.
UPDATE_WORK = 200
STEP_WORK = 80


@dataclasses.dataclass(frozen=True)
class Field:
    """One setting of a run: its kind, allowed values and how the pages show it.

    Attributes:
        name: the config attribute and the URL key.
        kind: int or float (a number), str (one of `choices()`), or tuple (a list of numbers).
        label, help: for the control that sets it.
        minimum, maximum: the static range of a number (other settings may lower the maximum:
            see `field_limits`).
        choices: for a str field, a function giving the allowed values (registry keys) in order.
        log_scale: a number best chosen on a multiplicative scale (the learning rate).
        applies: whether the field matters for a config's task (it is then in the URL).
    """

    name: str
    kind: type
    label: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: Callable[[], Sequence[str]] | None = None
    log_scale: bool = False
    applies: Callable[[Any], bool] = lambda task: True

    @property
    def is_number(self) -> bool:
        return self.kind in (int, float)


def _uses(param: str) -> Callable[[Any], bool]:
    return lambda task: param in task.params


def _draws_sequences(task) -> bool:
    return task.generator is not None and task.held_out


FIELDS: dict[str, Field] = {
    field.name: field
    for field in (
        Field("task", str, "Task", "What the network must learn, and on which sequences.",
              choices=lambda: list(TASKS)),
        Field("topology", str, "Topology", "How the sequences are framed and which layers learn them.",
              choices=lambda: list(TOPOLOGIES)),
        Field("cell", str, "Cell", "The recurrent layer: LSTM, GRU or SimpleRNN.", choices=lambda: list(CELLS)),
        Field("sequence_length", int, "Sequence length", "How many values each sequence has (n).", 2, 50),
        Field("units", int, "Units", "Size of the recurrent layer's hidden state.", 1, 64),
        Field("epochs", int, "Epochs", "Passes over the training data.", 1, 20_000),
        Field("batch_size", int, "Batch size", "Samples per weight update (at most the number of samples).", 1, 60_000),
        Field("learning_rate", float, "Learning rate", "Adam's step size.", 1e-5, 10.0, log_scale=True),
        Field("seed", int, "Seed", "Decides the initial weights, the shuffling and the random sequences.", 0, 2**31 - 2),
        Field("num_sequences", int, "Training sequences", "How many random sequences the network trains on "
              "(validation always uses 100 others).", 1, 1000, applies=_draws_sequences),
        Field("delay", int, "Delay k", "How many steps late each value must come out.", 1, 49, applies=_uses("delay")),
        Field("custom_values", tuple, "Your sequence", "Numbers separated by spaces or commas.",
              applies=_uses("custom_values")),
        Field("custom_mode", str, "Learn", "echo: repeat each value; next: predict the following value.",
              choices=lambda: list(task_registry.CUSTOM_MODES), applies=_uses("custom_mode")),
    )
}
# The numeric fields (kept under their old name for the pages' number inputs).
FIELD_RANGES: dict[str, Field] = {name: field for name, field in FIELDS.items() if field.is_number}
# Settings whose default comes from the task (and for epochs and batch, from the topology too).
TASK_DEFAULTED = ("sequence_length", "units", "epochs", "batch_size", "learning_rate", "num_sequences")
# A series to learn when the custom task is chosen before any data was given: 60 values of a
# seasonal pattern with a trend, so that 'next' has something to forecast.
EXAMPLE_CUSTOM_VALUES = tuple(
    round(10 + 0.1 * step + 3 * math.sin(2 * math.pi * step / 12) + (1.5 if step % 12 == 6 else 0.0), 2)
    for step in range(60)
)


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """Everything that decides one training run.

    Args:
        task: a key of `TASKS` ("echo" is the tutorial's).
        topology: a key of `TOPOLOGIES` ("one_to_one", "many_to_one", "many_to_many", …).
        cell: a key of `CELLS` ("lstm", "gru", "simple_rnn").
        sequence_length: n, the values per sequence; None means the task's default.
        units: the recurrent layer's units; None means the task's default.
        epochs: passes over the data; None means the task's (for the echo, the topology's
            tutorial) value.
        batch_size: samples per update; None means the task's default for the topology.
        learning_rate: Adam's learning rate; None means the task's default.
        seed: decides the initial weights, the shuffling and the task's random sequences.
        num_sequences: training sequences of a random task; None means the task's default.
            For other tasks it is the number there is (1 for the echo).
        delay: k for the delay task (other tasks keep the default).
        custom_values: the custom task's numbers (empty for other tasks).
        custom_mode: the custom task's "echo" or "next".
    """

    task: str = "echo"
    topology: str = "one_to_one"
    cell: str = "lstm"
    sequence_length: int | None = None
    units: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    seed: int = 7
    num_sequences: int | None = None
    delay: int = 2
    custom_values: tuple = ()
    custom_mode: str = "next"

    def __post_init__(self):
        for name in ("task", "topology", "cell", "custom_mode"):
            _checked_choice(name, getattr(self, name))
        task = TASKS[self.task]
        if "custom_values" in task.params:
            values = self.custom_values if self.custom_values else EXAMPLE_CUSTOM_VALUES
            try:
                self._set("custom_values", task_registry.check_custom_values(_as_number_tuple(values)))
            except (ValueError, TypeError, OverflowError) as problem:
                raise ValueError(f"custom_values={_short(values)}: {problem}") from None
        else:
            # Settings the task does not use keep their defaults, so that equal runs are equal configs.
            self._set("custom_values", ())
            self._set("custom_mode", ExperimentConfig.custom_mode)
        if "delay" not in task.params:
            self._set("delay", ExperimentConfig.delay)

        defaults = task.defaults
        for name in ("sequence_length", "units", "learning_rate"):
            if getattr(self, name) is None:
                self._set(name, _task_default(name, self))
        for name in ("sequence_length", "units", "seed", "learning_rate"):
            self._set(name, _checked_number(name, getattr(self, name)))
        if _draws_sequences(task):
            if self.num_sequences is None:
                self._set("num_sequences", defaults.num_sequences)
            self._set("num_sequences", _checked_number("num_sequences", self.num_sequences))
        else:
            self._set("num_sequences", None)  # derived below, once the length is known
        limits = field_limits(self)
        self._set("sequence_length", _checked_number("sequence_length", self.sequence_length,
                                                     maximum=limits["sequence_length"][1],
                                                     why="the length of your series"))
        if "delay" in task.params:
            self._set("delay", _checked_number("delay", self.delay, maximum=self.sequence_length - 1,
                                               why="it must be shorter than the sequence"))
        if not _draws_sequences(task):
            self._set("num_sequences", self.sequence_counts[0])

        if self.epochs is None:
            self._set("epochs", default_epochs(self.task, self.topology))
        self._set("epochs", _checked_number("epochs", self.epochs))
        if self.batch_size is None:
            self._set("batch_size", default_batch_size(self.task, self.topology, self.sequence_length, self.num_samples))
        self._set("batch_size", _checked_number(
            "batch_size", self.batch_size, maximum=self.num_samples,
            why=f"the number of samples: {self.num_samples:,} for {self.topology} with these settings"))
        _checked_number("epochs", self.epochs, maximum=max_epochs_for(self),
                        why=f"the work cap: {WORK_FORMULA} ≤ {MAX_WORK:,}")

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    # ----------------------------------------------------------------------- derived values

    @property
    def sequence_counts(self) -> tuple[int, int]:
        """(training sequences, held-out validation sequences)."""
        return _sequence_counts(self.task, self.sequence_length, self.num_sequences, self.custom_values,
                                self.custom_mode)

    @property
    def x_shape(self) -> tuple[int, ...]:
        return frame_shapes(self.topology, self.sequence_length, self.sequence_counts[0])[0]

    @property
    def y_shape(self) -> tuple[int, ...]:
        return frame_shapes(self.topology, self.sequence_length, self.sequence_counts[0])[1]

    @property
    def num_samples(self) -> int:
        return self.x_shape[0]

    @property
    def num_val_samples(self) -> int:
        validation = self.sequence_counts[1]
        return frame_shapes(self.topology, self.sequence_length, validation)[0][0] if validation else 0

    @property
    def timesteps(self) -> int:
        return self.x_shape[1]

    @property
    def work(self) -> int:
        """What the work cap limits: see `WORK_FORMULA`."""
        return self.epochs * work_per_epoch(self)

    @property
    def shape_key(self) -> tuple:
        """What decides the compiled training function; epochs, learning rate, seed and data do not."""
        return (self.topology, self.cell, self.sequence_length, self.units, self.batch_size,
                self.num_samples, self.num_val_samples)

    @property
    def solved_below(self) -> float:
        return TASKS[self.task].solved_below

    # ----------------------------------------------------------------------- changes and URL

    def replace(self, **changes) -> "ExperimentConfig":
        return dataclasses.replace(self, **changes)

    def with_task_defaults(self) -> "ExperimentConfig":
        """The same task, topology, cell and seed with the task's settings (the tutorial's for the echo)."""
        return self.replace(**{name: None for name in TASK_DEFAULTED})

    with_tutorial_settings = with_task_defaults

    def applies(self, name: str) -> bool:
        """Whether the setting matters for this config's task."""
        return FIELDS[name].applies(TASKS[self.task])

    def to_query_params(self) -> dict[str, str]:
        """A flat dict of strings for the URL, with the settings that matter for the task;
        `from_query_params` reads it back to an equal config."""
        return {name: _to_text(getattr(self, name)) for name in FIELDS if self.applies(name)}

    @classmethod
    def from_query_params(cls, params: Mapping[str, str]) -> "ExperimentConfig":
        """The strict inverse of `to_query_params`: raises `ValueError` on any bad value."""
        unknown = sorted(set(params) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown parameter(s) {', '.join(unknown)}: allowed {', '.join(FIELDS)}")
        return cls(**{name: _parse(name, text) for name, text in params.items()})


WORK_FORMULA = "epochs × (samples × recurrent steps × units + updates × steps)"


def work_per_epoch(config) -> int:
    """One epoch's share of the work cap: every sample (training and validation) × its
    recurrent steps × max(units, MIN_WORK_UNITS) × the cell's cost factor, plus each weight
    update's fixed cost (UPDATE_WORK + STEP_WORK per recurrent step)."""
    train, validation = _sequence_counts(config.task, config.sequence_length, config.num_sequences,
                                         config.custom_values, config.custom_mode)
    topology = TOPOLOGIES[config.topology]
    per_sequence = topology.samples_per_sequence(config.sequence_length)
    steps = topology.recurrent_steps(config.sequence_length)
    width = max(config.units, MIN_WORK_UNITS) * CELLS[config.cell].cost_factor
    batch = config.batch_size
    if not (isinstance(batch, int) and not isinstance(batch, bool) and batch >= 1):
        batch = per_sequence  # not chosen (or not yet checked): the smallest usual batch
    updates = math.ceil(train * per_sequence / max(1, batch))
    return max(1, int(math.ceil((train + validation) * per_sequence * steps * width
                                + updates * (UPDATE_WORK + STEP_WORK * steps))))


def max_epochs_for(config, sequence_length: int | None = None, units: int | None = None) -> int:
    """The most epochs the work cap allows for the config's other settings.

    `config` is a config (or anything with its attributes); the older form
    `max_epochs_for(topology_key, sequence_length, units)` means the echo with an LSTM.
    """
    if isinstance(config, str):
        config = _Draft({"task": "echo", "topology": config, "cell": "lstm", "custom_mode": "next",
                         "sequence_length": sequence_length, "units": units})
    return max(1, min(int(FIELDS["epochs"].maximum), MAX_WORK // work_per_epoch(config)))


def default_epochs(task_key: str, topology_key: str) -> int:
    return TASKS[task_key].defaults.epochs or TOPOLOGIES[topology_key].default_epochs


def default_batch_size(task_key: str, topology_key: str, sequence_length: int, num_samples: int) -> int:
    """The task's batch for the topology: `batch_sequences` sequences' worth of samples, or the
    tutorial's batch (one-to-one: the whole sequence; the others: 1) where the task sets none."""
    topology = TOPOLOGIES[topology_key]
    sequences = TASKS[task_key].defaults.batch_sequences
    if sequences is None:
        return min(num_samples, topology.default_batch_size(sequence_length))
    return max(1, min(num_samples, sequences * topology.samples_per_sequence(sequence_length)))


def field_limits(config) -> dict[str, tuple[float, float]]:
    """Each number's allowed (minimum, maximum) given the config's other settings.

    `config` may be an `ExperimentConfig` or anything with its attributes (the pages pass the
    config they are about to change). The maxima that depend on other settings: the sequence
    length (a custom series' length), delay (< n), batch size (≤ samples), epochs (work cap).
    """
    limits = {name: (field.minimum, field.maximum) for name, field in FIELD_RANGES.items()}
    task = TASKS[config.task]
    if task.generator is None and config.custom_values:
        longest = task_registry.custom_max_length(config.custom_values, config.custom_mode)
        limits["sequence_length"] = (FIELDS["sequence_length"].minimum, max(2, min(FIELDS["sequence_length"].maximum, longest)))
    if config.sequence_length is not None:
        limits["delay"] = (1, max(1, min(FIELDS["delay"].maximum, config.sequence_length - 1)))
    try:
        samples = frame_shapes(config.topology, config.sequence_length,
                               _sequence_counts(config.task, config.sequence_length, config.num_sequences,
                                                config.custom_values, config.custom_mode)[0])[0][0]
        limits["batch_size"] = (1, max(1, samples))
        limits["epochs"] = (1, max_epochs_for(config))
    except (TypeError, ValueError):  # a partial config (None settings): the static ranges stand
        pass
    return limits


def _sequence_counts(task_key, sequence_length, num_sequences, custom_values, custom_mode) -> tuple[int, int]:
    """`tasks.sequence_counts` for settings that may not be checked yet (`field_limits` reads
    drafts): only what the task uses is passed on, and only whole numbers are cached."""
    task = TASKS[task_key]
    if not _draws_sequences(task) or not isinstance(num_sequences, int) or isinstance(num_sequences, bool):
        num_sequences = None
    custom_values = tuple(custom_values) if "custom_values" in task.params else ()
    return _cached_sequence_counts(task_key, int(sequence_length), num_sequences, custom_values, custom_mode)


@functools.lru_cache(maxsize=1024)
def _cached_sequence_counts(task_key, sequence_length, num_sequences, custom_values, custom_mode) -> tuple[int, int]:
    return task_registry.sequence_counts(task_key, sequence_length, num_sequences, custom_values, custom_mode)


def _task_default(name: str, config) -> Any:
    """The task's default for a setting of `config` (the sequence length fits a custom series)."""
    task = TASKS[config.task]
    value = getattr(task.defaults, name)
    if name == "sequence_length" and task.generator is None and config.custom_values:
        value = max(2, min(value, task_registry.custom_max_length(config.custom_values, config.custom_mode)))
    return value


# --------------------------------------------------------------------------- checking values


def _checked_choice(name: str, value: Any) -> str:
    allowed = list(FIELDS[name].choices())
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={_short(_quoted(value))} is not known: allowed {', '.join(allowed)}")
    return value


def _as_number_tuple(values: Any) -> tuple[float, ...]:
    if isinstance(values, str):
        return task_registry.parse_custom_text(values)
    return tuple(float(value) for value in values)


def _checked_number(name: str, value: Any, maximum: float | None = None, why: str = "") -> Any:
    """`value` as the field's kind and inside its range, else `ValueError` naming both."""
    spec = FIELDS[name]
    upper = spec.maximum if maximum is None else min(spec.maximum, maximum)
    allowed = f"allowed {_fmt(spec.minimum)} to {_fmt(upper)}"
    try:
        number = _as_kind(spec, value)
    except ValueError as problem:
        raise ValueError(f"{name}={_short(_quoted(value))} {problem}: {allowed}") from None
    if not spec.minimum <= number <= upper:
        because = f" ({why})" if why and maximum is not None and maximum < spec.maximum else ""
        raise ValueError(f"{name}={_short(_quoted(value))} is out of range: {allowed}{because}")
    return number


def _quoted(value: Any) -> Any:
    """Text shown in quotes in a constructor's error, so that '5' is not mistaken for 5."""
    return repr(value) if isinstance(value, str) else value


def _as_kind(spec: Field, value: Any) -> Any:
    """`value` as an int or float for the field, or `ValueError` saying why it is not one.

    Never raises OverflowError: a whole number too large for a float becomes ±inf for a
    float field, so that the range check (or clamp) treats it as the huge number it is.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"is not {_kind_name(spec.kind)}")
    if isinstance(value, numbers.Integral):
        if spec.kind is int:
            return int(value)
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    try:
        number = float(value)
    except OverflowError:
        raise ValueError("is not a finite number") from None
    if math.isnan(number):
        raise ValueError("is not a number")
    if math.isinf(number):
        if spec.kind is int:
            raise ValueError("is not a finite number")
        return number  # out of range, and clamped as such by resolve
    if spec.kind is int:
        if not number.is_integer():
            raise ValueError("is not a whole number")
        return int(number)
    return number


def _kind_name(kind: type) -> str:
    return {int: "a whole number", float: "a number", tuple: "a list of numbers"}.get(kind, "one of the choices")


def _fmt(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else f"{number:,}".replace(",", "")


def _to_text(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(repr(float(v)) for v in value)
    return str(value)


# More digits than any allowed value has: read as "a huge number", never parsed digit by digit
# (Python refuses to parse more than 4,300 digits, which once made 5,000 digits "not a whole
# number" while 30 digits were "out of range").
_MANY_DIGITS = re.compile(r"[+-]?\d{19,}")


def _parse(name: str, text: Any) -> Any:
    """Text from a URL to the field's type; `ValueError` naming the field when it is not one."""
    spec = FIELDS[name]
    if not isinstance(text, str):
        return text
    if spec.kind is str:
        return text.strip()
    if spec.kind is tuple:
        try:
            return task_registry.parse_custom_text(text)
        except task_registry.CustomInputError as problem:
            raise ValueError(f"{name}: {problem}") from None
    stripped = text.strip()
    if not stripped.isascii() or "_" in stripped:
        # Python's int() reads '１２', '٣' and '1_000' as numbers; a URL that holds them is not
        # what anyone typed on purpose, so it gets the message and the default like any bad value.
        raise ValueError(f"{name}={_short(text)!r} is not {_kind_name(spec.kind)} (plain ASCII digits only)")
    if _MANY_DIGITS.fullmatch(stripped):
        huge = 10**19 if spec.kind is int else math.inf
        return -huge if stripped.startswith("-") else huge
    try:
        if spec.kind is int:
            try:
                return int(stripped)
            except ValueError:
                number = float(stripped)
                if math.isinf(number):
                    return 10**19 if number > 0 else -(10**19)
                if math.isfinite(number) and number.is_integer():
                    return int(number)
                raise
        number = float(stripped)
    except (ValueError, OverflowError):
        raise ValueError(f"{name}={_short(text)!r} is not {_kind_name(spec.kind)}") from None
    if math.isnan(number):
        raise ValueError(f"{name}={_short(text)!r} is not a number")
    return number


# --------------------------------------------------------------------------- the forgiving door


def resolve(values: Mapping[str, Any], source: str = "URL parameter") -> tuple[ExperimentConfig, list[str]]:
    """The nearest valid config to `values` (strings or numbers), and a message per change made.

    Unknown names are ignored (one message for all of them), unreadable values fall back to
    the default, values out of range are clamped to the nearest allowed value, and settings
    that other settings limit (batch size, epochs, delay, sequence length) are lowered to fit.
    This is the one place where values are clamped. Never raises for any input mapping.
    """
    messages: list[str] = []
    unknown = sorted(set(map(str, values)) - set(FIELDS))
    if unknown:
        messages.append(unknown_message(unknown, source))

    chosen: dict[str, Any] = {}
    for name in ("task", "topology", "cell", "custom_mode"):
        default = getattr(ExperimentConfig, name)
        value = values.get(name, default)
        if isinstance(value, str):
            value = value.strip()
        if value not in list(FIELDS[name].choices()):
            messages.append(f"{source} `{name}={_short(value)}` is not one of {', '.join(FIELDS[name].choices())}; "
                            f"using `{default}`.")
            value = default
        chosen[name] = value
    task = TASKS[chosen["task"]]

    if "custom_values" in task.params and values.get("custom_values") not in (None, "", ()):
        try:
            chosen["custom_values"] = _as_number_tuple(values["custom_values"])
            task_registry.check_custom_values(chosen["custom_values"])
        except (ValueError, TypeError, OverflowError) as problem:
            messages.append(f"{source} `custom_values`: {problem} Using the example series instead.")
            chosen.pop("custom_values", None)

    unused = [name for name in FIELDS if name in values and not FIELDS[name].applies(task)]
    if unused:
        messages.append(f"Ignored {source}{'s' if len(unused) > 1 else ''} "
                        f"{', '.join(f'`{name}`' for name in unused)}: not used by the {task.label} task.")
    for name in FIELD_RANGES:
        if name not in values or values[name] is None or not FIELDS[name].applies(task):
            continue
        spec = FIELDS[name]
        try:
            value = _parse(name, values[name])
            value = _checked_number(name, value)
        except ValueError:
            try:
                value = _clamped(spec, _parse(name, values[name]))
            except (ValueError, TypeError, ArithmeticError):
                shown = "the default" if name in TASK_DEFAULTED else _fmt(getattr(ExperimentConfig, name))
                messages.append(f"{source} `{name}={_short(values[name])}` is not {_kind_name(spec.kind)}; using {shown}.")
                continue
            messages.append(
                f"{source} `{name}={_short(values[name])}` is outside {_fmt(spec.minimum)}–"
                f"{_fmt(spec.maximum)}; using {_fmt(value)}."
            )
        chosen[name] = value

    # Settings limited by other settings, in the order they depend on each other.
    draft = _Draft(chosen)
    for name, why in (
        ("sequence_length", "your series allows"),
        ("delay", "the sequence length allows (a delay must be shorter than the sequence)"),
        ("batch_size", "the number of samples allows"),
        ("epochs", f"the per-run work cap allows ({WORK_FORMULA} ≤ {MAX_WORK:,})"),
    ):
        limits = field_limits(draft)
        value = getattr(draft, name)
        high = limits[name][1]
        if value is not None and value > high and FIELDS[name].applies(task):
            messages.append(f"{source} `{name}={value:,}` is more than {why}; using {int(high):,}.")
            chosen[name] = FIELDS[name].kind(high)
            draft = _Draft(chosen)
    return ExperimentConfig(**chosen), messages


def unknown_message(names: Sequence[str], source: str = "URL parameter", shown: int = 8) -> str:
    """One message for any number of unknown names: "Ignored 3 unknown URL parameters: a, b, c."."""
    listed = ", ".join(f"`{_short(name, 30)}`" for name in names[:shown])
    more = f", … ({len(names) - shown:,} more)" if len(names) > shown else ""
    plural = "s" if len(names) != 1 else ""
    return f"Ignored {len(names):,} unknown {source}{plural}: {listed}{more}."


class _Draft:
    """The settings chosen so far, with defaults where none was chosen: for `field_limits`."""

    def __init__(self, chosen: Mapping[str, Any]):
        task = TASKS[chosen["task"]]
        self.task = chosen["task"]
        self.topology = chosen["topology"]
        self.cell = chosen["cell"]
        self.custom_mode = chosen["custom_mode"]
        self.custom_values = tuple(chosen.get("custom_values") or
                                   (EXAMPLE_CUSTOM_VALUES if "custom_values" in task.params else ()))
        self.units = chosen.get("units", task.defaults.units)
        self.num_sequences = chosen.get("num_sequences", task.defaults.num_sequences)
        self.sequence_length = chosen.get("sequence_length") or _task_default("sequence_length", self)
        self.delay = chosen.get("delay", ExperimentConfig.delay)
        self.epochs = chosen.get("epochs") or default_epochs(self.task, self.topology)
        train = _sequence_counts(self.task, self.sequence_length, self.num_sequences, self.custom_values,
                                 self.custom_mode)[0]
        samples = frame_shapes(self.topology, self.sequence_length, train)[0][0]
        self.batch_size = chosen.get("batch_size") or default_batch_size(self.task, self.topology,
                                                                         self.sequence_length, samples)


def _clamped(spec: Field, value: Any) -> Any:
    """The nearest allowed value of the field's kind; `ValueError` if `value` is no such number."""
    number = _as_kind(spec, value)
    return spec.kind(min(max(number, spec.minimum), spec.maximum))


def _short(value: Any, limit: int = 40) -> str:
    """A value as text, cut short and stripped of characters that would break a message."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except ValueError:  # an int with more digits than Python will print
        text = "a number with thousands of digits"
    text = text.replace("`", "'").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
