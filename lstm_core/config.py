"""The one frozen, validated description of a training run, and its URL round trip.

`ExperimentConfig` holds every setting that decides a run, the seed included, so the same
config always gives the same run. Validation lives here and only here: the constructor raises
`ValueError` naming the field, the value and the allowed range; `resolve()` is the forgiving
door used for URLs and widgets, which clamps or replaces bad values and says what it did.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from typing import Any, Mapping

from lstm_core.topologies import TOPOLOGIES, frame_shapes

# The per-run work cap: epochs × samples × timesteps × units. The tutorial's runs need 25,000;
# with the default cap the heaviest allowed runs take a few seconds here (about 4 s for
# one-to-one, length 50, 8 units, batch 1, 5,000 epochs), so one student cannot hog a shared
# server. Deployments change it with the LSTM_DASHBOARD_MAX_WORK environment variable.
DEFAULT_MAX_WORK = 2_000_000
MAX_WORK = int(os.environ.get("LSTM_DASHBOARD_MAX_WORK", DEFAULT_MAX_WORK))


@dataclasses.dataclass(frozen=True)
class FieldRange:
    """The allowed range of one numeric field, and how to show it."""

    name: str
    kind: type
    minimum: float
    maximum: float
    label: str
    help: str


FIELD_RANGES: dict[str, FieldRange] = {
    spec.name: spec
    for spec in (
        FieldRange("sequence_length", int, 2, 50, "Sequence length", "How many values the sequence has (0, 1/n, …)."),
        FieldRange("units", int, 1, 64, "LSTM units", "Size of the LSTM's hidden and cell state."),
        FieldRange("epochs", int, 1, 20_000, "Epochs", "Passes over the training data."),
        FieldRange("batch_size", int, 1, 50, "Batch size", "Samples per weight update (at most the number of samples)."),
        FieldRange("learning_rate", float, 1e-5, 10.0, "Learning rate", "Adam's step size."),
        FieldRange("seed", int, 0, 2**31 - 2, "Seed", "Decides the initial weights and the shuffling."),
    )
}


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """Everything that decides one training run.

    Args:
        topology: a key of `TOPOLOGIES` ("one_to_one", "many_to_one", "many_to_many", …).
        sequence_length: n, the length of the sequence 0, 1/n, …, (n-1)/n.
        units: the LSTM's number of units.
        epochs: passes over the data; None means the topology's tutorial value.
        batch_size: samples per update; None means the topology's tutorial value.
        learning_rate: Adam's learning rate.
        seed: decides the initial weights and the mini-batch shuffling.
    """

    topology: str = "one_to_one"
    sequence_length: int = 5
    units: int = 5
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float = 0.001
    seed: int = 7

    def __post_init__(self):
        if not isinstance(self.topology, str) or self.topology not in TOPOLOGIES:
            raise ValueError(
                f"topology={self.topology!r} is not known: allowed {', '.join(TOPOLOGIES)}"
            )
        topology = TOPOLOGIES[self.topology]
        for name in ("sequence_length", "units", "seed"):
            self._set(name, _checked_number(name, getattr(self, name)))
        if self.epochs is None:
            self._set("epochs", topology.default_epochs)
        if self.batch_size is None:
            self._set("batch_size", topology.default_batch_size(self.sequence_length))
        self._set("epochs", _checked_number("epochs", self.epochs))
        self._set("learning_rate", _checked_number("learning_rate", self.learning_rate))
        samples = self.num_samples
        self._set(
            "batch_size",
            _checked_number(
                "batch_size",
                self.batch_size,
                maximum=samples,
                why=f"the number of samples for {self.topology} at sequence_length {self.sequence_length}",
            ),
        )
        max_epochs = max_epochs_for(self.topology, self.sequence_length, self.units)
        _checked_number(
            "epochs",
            self.epochs,
            maximum=max_epochs,
            why=f"the work cap epochs × samples × timesteps × units ≤ {MAX_WORK:,} for this "
            "topology, sequence length and units",
        )

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    @property
    def x_shape(self) -> tuple[int, ...]:
        return frame_shapes(self.topology, self.sequence_length)[0]

    @property
    def y_shape(self) -> tuple[int, ...]:
        return frame_shapes(self.topology, self.sequence_length)[1]

    @property
    def num_samples(self) -> int:
        return self.x_shape[0]

    @property
    def timesteps(self) -> int:
        return self.x_shape[1]

    @property
    def work(self) -> int:
        """epochs × samples × timesteps × units: what the work cap limits."""
        return self.epochs * self.num_samples * self.timesteps * self.units

    @property
    def shape_key(self) -> tuple:
        """What decides the compiled training function; epochs, learning rate and seed do not."""
        return (self.topology, self.sequence_length, self.units, self.batch_size)

    def replace(self, **changes) -> "ExperimentConfig":
        return dataclasses.replace(self, **changes)

    def with_tutorial_settings(self) -> "ExperimentConfig":
        """The same topology, sequence length, units and seed with the tutorial's epochs and batch."""
        return self.replace(epochs=None, batch_size=None)

    def to_query_params(self) -> dict[str, str]:
        """A flat dict of strings, for the URL; `from_query_params` reads it back."""
        return {field.name: str(getattr(self, field.name)) for field in dataclasses.fields(self)}

    @classmethod
    def from_query_params(cls, params: Mapping[str, str]) -> "ExperimentConfig":
        """The strict inverse of `to_query_params`: raises `ValueError` on any bad value."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise ValueError(f"unknown parameter(s) {', '.join(unknown)}: allowed {', '.join(sorted(names))}")
        values: dict[str, Any] = {}
        for name, text in params.items():
            values[name] = text if name == "topology" else _parse(name, text)
        return cls(**values)


def max_epochs_for(topology_key: str, sequence_length: int, units: int) -> int:
    """The most epochs the work cap allows for this topology, sequence length and units."""
    x_shape = frame_shapes(topology_key, sequence_length)[0]
    per_epoch = x_shape[0] * x_shape[1] * units
    return max(1, min(int(FIELD_RANGES["epochs"].maximum), MAX_WORK // per_epoch))


def _checked_number(name: str, value: Any, maximum: float | None = None, why: str = "") -> Any:
    """`value` as the field's kind and inside its range, else `ValueError` naming both."""
    spec = FIELD_RANGES[name]
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


def _as_kind(spec: "FieldRange", value: Any) -> Any:
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
    if not math.isfinite(number):
        raise ValueError("is not a finite number")
    if spec.kind is int:
        if not number.is_integer():
            raise ValueError("is not a whole number")
        return int(number)
    return number


def _kind_name(kind: type) -> str:
    return "a whole number" if kind is int else "a number"


def _fmt(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else f"{number:,}".replace(",", "")


def _parse(name: str, text: Any) -> Any:
    """Text from a URL to the field's type; `ValueError` naming the field when it is not one."""
    spec = FIELD_RANGES[name]
    if not isinstance(text, str):
        return text
    stripped = text.strip()
    if not stripped.isascii() or "_" in stripped:
        # Python's int() reads '１２', '٣' and '1_000' as numbers; a URL that holds them is not
        # what anyone typed on purpose, so it gets the message and the default like any bad value.
        raise ValueError(f"{name}={text!r} is not {_kind_name(spec.kind)} (plain ASCII digits only)")
    try:
        if spec.kind is int:
            try:
                return int(stripped)
            except ValueError:
                number = float(stripped)
                if math.isfinite(number) and number.is_integer():
                    return int(number)
                raise
        number = float(stripped)
    except (ValueError, OverflowError):
        raise ValueError(f"{name}={text!r} is not {_kind_name(spec.kind)}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name}={text!r} is not a finite number")
    return number


def resolve(values: Mapping[str, Any], source: str = "URL parameter") -> tuple[ExperimentConfig, list[str]]:
    """The nearest valid config to `values` (strings or numbers), and a message per change made.

    Unknown names are ignored, unreadable values fall back to the default, values out of range
    are clamped to the nearest allowed value, and epochs are lowered to fit the work cap.
    Never raises for any input mapping.
    """
    messages: list[str] = []
    names = [field.name for field in dataclasses.fields(ExperimentConfig)]
    for name in sorted(set(map(str, values)) - set(names)):
        messages.append(f"Ignored unknown {source} `{_short(name)}`.")

    topology = values.get("topology", ExperimentConfig.topology)
    if not isinstance(topology, str) or topology not in TOPOLOGIES:
        messages.append(
            f"{source} `topology={_short(topology)}` is not a topology; using "
            f"`{ExperimentConfig.topology}` (allowed: {', '.join(TOPOLOGIES)})."
        )
        topology = ExperimentConfig.topology
    chosen: dict[str, Any] = {"topology": topology}

    for name in ("sequence_length", "units", "learning_rate", "seed", "epochs", "batch_size"):
        if name not in values or values[name] is None:
            continue
        spec = FIELD_RANGES[name]
        try:
            value = _parse(name, values[name])
            value = _checked_number(name, value)
        except ValueError:
            try:
                value = _clamped(spec, _parse(name, values[name]))
            except (ValueError, TypeError, ArithmeticError):
                default = _default_for(name, chosen)
                messages.append(
                    f"{source} `{name}={_short(values[name])}` is not {_kind_name(spec.kind)}; "
                    f"using {default}."
                )
                continue
            messages.append(
                f"{source} `{name}={_short(values[name])}` is outside {_fmt(spec.minimum)}–"
                f"{_fmt(spec.maximum)}; using {_fmt(value)}."
            )
        chosen[name] = value

    samples = frame_shapes(topology, chosen.get("sequence_length", ExperimentConfig.sequence_length))[0][0]
    if chosen.get("batch_size", 0) > samples:
        messages.append(
            f"{source} `batch_size={chosen['batch_size']}` is more than the {samples} sample(s) "
            f"of {topology}; using {samples}."
        )
        chosen["batch_size"] = samples
    max_epochs = max_epochs_for(
        topology,
        chosen.get("sequence_length", ExperimentConfig.sequence_length),
        chosen.get("units", ExperimentConfig.units),
    )
    epochs = chosen.get("epochs", TOPOLOGIES[topology].default_epochs)
    if epochs > max_epochs:
        messages.append(
            f"{epochs:,} epochs would exceed the per-run work cap (epochs × samples × timesteps × "
            f"units ≤ {MAX_WORK:,}); using {max_epochs:,} epochs."
        )
        chosen["epochs"] = max_epochs
    return ExperimentConfig(**chosen), messages


def _clamped(spec: FieldRange, value: Any) -> Any:
    """The nearest allowed value of the field's kind; `ValueError` if `value` is no such number."""
    number = _as_kind(spec, value)
    return spec.kind(min(max(number, spec.minimum), spec.maximum))


def _default_for(name: str, chosen: Mapping[str, Any]) -> Any:
    topology = TOPOLOGIES[chosen["topology"]]
    if name == "epochs":
        return topology.default_epochs
    if name == "batch_size":
        return topology.default_batch_size(chosen.get("sequence_length", ExperimentConfig.sequence_length))
    return getattr(ExperimentConfig, name)


def _short(value: Any, limit: int = 40) -> str:
    """A value as text, cut short and stripped of characters that would break a message."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except ValueError:  # an int with more digits than Python will print
        text = "a number with thousands of digits"
    text = text.replace("`", "'").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
