"""Comparing topologies on one sequence: the configs, a failure-tolerant runner, the table, the Dense check.

Pure (no Streamlit): the comparison page reads its controls, calls these, and draws what they
return. TensorFlow is imported only when something is trained or built.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from lstm_core import diagnosis
from lstm_core.config import FIELDS, ExperimentConfig, resolve, unknown_message
from lstm_core.topologies import TOPOLOGIES

logger = logging.getLogger(__name__)

# "tutorial": each topology its own tutorial epochs (1000 / 500 / 1000 / 1000);
# "equal": one number of epochs for all (lowered per topology to its work cap if needed).
BUDGETS = ("tutorial", "equal")

# The two many-to-many models that differ only in TimeDistributed(Dense) vs plain Dense.
TIME_DISTRIBUTED = "many_to_many"
PLAIN_DENSE = "many_to_many_dense"


SOLVED_GLYPH = "✅"
NOT_SOLVED_GLYPH = "❌"

# --------------------------------------------------------------------------- settings and configs

# The settings every compared run shares, so that only the framing differs.
SHARED = ("task", "cell", "sequence_length", "units", "learning_rate", "seed")
# Loss thresholds offered for "first epoch below".
THRESHOLDS = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 1e-6)
DEFAULT_THRESHOLD = 1e-3
DEFAULT_EQUAL_EPOCHS = 500


@dataclasses.dataclass(frozen=True)
class CompareSettings:
    """Everything the comparison page's controls decide; round-trips through the URL.

    `shared` holds the values of `SHARED` (None: the task's default); `topologies` the keys
    compared, in order; `epochs` the budget of "equal" (ignored for "tutorial").
    """

    shared: tuple[tuple[str, Any], ...]
    topologies: tuple[str, ...]
    budget: str = "tutorial"
    epochs: int = DEFAULT_EQUAL_EPOCHS
    threshold: float = DEFAULT_THRESHOLD

    def shared_values(self) -> dict[str, Any]:
        return dict(self.shared)

    def to_query_params(self) -> dict[str, str]:
        params = {name: str(value) for name, value in self.shared if value is not None}
        params.update(topologies=",".join(self.topologies), budget=self.budget, threshold=f"{self.threshold:g}")
        if self.budget == "equal":
            params["epochs"] = str(self.epochs)
        return params


def resolve_settings(values: Mapping[str, Any], source: str = "URL parameter"
                     ) -> tuple[CompareSettings, list[ExperimentConfig], list[str]]:
    """The nearest valid comparison to `values` (strings or numbers, as from a URL or the controls),
    its configs, and a message per change made. Never raises.

    The shared settings and each topology's epochs go through `lstm_core.resolve` (the one place
    that clamps); a message every config got is given once, one that only some got names them.
    """
    messages: list[str] = []
    # A single run's settings (an Explorer address) are not unknown, just not used here.
    known = {*FIELDS, "topologies", "budget", "epochs", "threshold"}
    unknown = sorted(set(map(str, values)) - known)
    if unknown:
        messages.append(unknown_message(unknown, source))

    raw_keys = values.get("topologies", None)
    if raw_keys is None:
        keys = default_topologies()
    else:
        parts = raw_keys.split(",") if isinstance(raw_keys, str) else list(raw_keys)
        parts = [str(part).strip() for part in parts if str(part).strip()]
        bad = [part for part in parts if part not in TOPOLOGIES]
        if bad:
            messages.append(f"{source} `topologies`: ignored {', '.join(f'`{_short(b)}`' for b in bad[:8])} "
                            f"(not a topology; allowed: {', '.join(TOPOLOGIES)}).")
        keys = list(dict.fromkeys(part for part in parts if part in TOPOLOGIES))

    budget = values.get("budget", "tutorial")
    if budget not in BUDGETS:
        messages.append(f"{source} `budget={_short(budget)}` is not one of {', '.join(BUDGETS)}; using `tutorial`.")
        budget = "tutorial"

    threshold = _threshold(values.get("threshold", DEFAULT_THRESHOLD), source, messages)

    # The shared settings, resolved once (as the first topology's, or the default's).
    given = {name: values[name] for name in SHARED if values.get(name) not in (None, "")}
    first = keys[0] if keys else ExperimentConfig.topology
    shared_config, shared_messages = resolve({**given, "topology": first, "epochs": 1}, source=source)
    messages += [m for m in shared_messages if "epochs" not in m.lower()]
    shared = {name: getattr(shared_config, name) for name in SHARED}

    epochs = DEFAULT_EQUAL_EPOCHS
    if budget == "equal" and values.get("epochs") not in (None, ""):
        probe, epoch_messages = resolve({"epochs": values["epochs"]}, source=source)
        epochs = probe.epochs
        messages += epoch_messages

    configs, lowered = [], {}
    for key in keys:
        wanted = {**shared, "topology": key}
        if budget == "equal":
            wanted["epochs"] = epochs
        config, more = resolve(wanted, source=source)
        configs.append(config)
        for message in more:
            lowered.setdefault(message, []).append(TOPOLOGIES[key].label)
    for message, labels in lowered.items():
        messages.append(message if len(labels) == len(keys) else f"{', '.join(labels)}: {message}")
    settings = CompareSettings(shared=tuple(shared.items()), topologies=tuple(keys), budget=budget,
                               epochs=epochs, threshold=threshold)
    return settings, configs, messages


def default_topologies() -> list[str]:
    """The tutorial's topologies, and the plain-Dense twin the Dense section compares."""
    keys = [key for key, topology in TOPOLOGIES.items() if getattr(topology, "tutorial", True)]
    return keys + [PLAIN_DENSE] if PLAIN_DENSE in TOPOLOGIES and PLAIN_DENSE not in keys else keys


def _short(value: Any, limit: int = 40) -> str:
    """A value for a message: text, cut short, without backticks or line breaks."""
    text = (value if isinstance(value, str) else repr(value)).replace("`", "'").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _threshold(value: Any, source: str, messages: list[str]) -> float:
    """The offered threshold nearest to `value` (on a log scale), with a message if it changed."""
    try:
        number = float(value)
        if not math.isfinite(number) or number <= 0:
            raise ValueError
    except (TypeError, ValueError):
        messages.append(f"{source} `threshold={_short(value)}` is not a positive number; using {DEFAULT_THRESHOLD:g}.")
        return DEFAULT_THRESHOLD
    nearest = min(THRESHOLDS, key=lambda offered: abs(math.log10(offered) - math.log10(number)))
    if not math.isclose(nearest, number, rel_tol=1e-9):
        messages.append(f"{source} `threshold={_short(value)}` is not one of the offered thresholds; using {nearest:g}.")
    return nearest


def comparison_configs(topology_keys: Iterable[str], budget: str = "tutorial", epochs: Any = None,
                       **shared: Any) -> tuple[list[ExperimentConfig], list[str]]:
    """One config per topology with the shared settings, and the messages: `resolve_settings`
    for callers with values at hand. An unknown topology key or budget is a programming error
    here and raises `ValueError`."""
    keys = list(topology_keys)
    unknown = [key for key in keys if key not in TOPOLOGIES]
    if unknown:
        raise ValueError(f"unknown topology {', '.join(map(repr, unknown))}: allowed {', '.join(TOPOLOGIES)}")
    if budget not in BUDGETS:
        raise ValueError(f"budget={budget!r} is not known: allowed {', '.join(BUDGETS)}")
    values = {**shared, "topologies": keys, "budget": budget}
    if epochs is not None:
        values["epochs"] = epochs
    _, configs, messages = resolve_settings(values, source="Setting")
    return configs, messages


def tutorial_epochs_text(keys: Iterable[str] | None = None) -> str:
    """The tutorial's epochs per topology, in registry order: "1000 / 500 / 1000 / 1000"."""
    chosen = TOPOLOGIES if keys is None else {key: TOPOLOGIES[key] for key in keys}
    return " / ".join(str(topology.default_epochs) for topology in chosen.values())


# --------------------------------------------------------------------------- entries and runner


@dataclasses.dataclass
class ComparisonEntry:
    """One line of the comparison: a topology's run (or why it has none).

    Attributes:
        name: a unique name: the topology key, or e.g. "main_page" for an added run.
        label: what the page calls it.
        color: its colour, the same on every chart and in the table.
        config: the settings it was (or was to be) trained with.
        result: the `TrainingResult`, also for a run that stopped early or whose loss became
            NaN (then it holds the epochs before that); None when training raised.
        error: why the run failed (an exception, or a loss that became NaN/infinite); None if not.
    """

    name: str
    label: str
    color: str
    config: ExperimentConfig
    result: Any = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def stopped(self) -> bool:
        return self.error is None and self.result is not None and self.result.stop_reason == "stopped"

    @property
    def losses(self) -> np.ndarray:
        return np.empty(0) if self.result is None else np.asarray(self.result.losses)

    @property
    def solved(self) -> bool | None:
        """Whether the run solved the task (score below the task's `solved_below`); None when it
        has no result or failed."""
        if self.result is None or self.failed:
            return None
        return bool(self.result.solved)

    @property
    def verdict(self) -> str:
        """✅ solved, ❌ not solved (also a failed run), "" when not trained yet."""
        if self.failed:
            return NOT_SOLVED_GLYPH
        solved = self.solved
        return "" if solved is None else (SOLVED_GLYPH if solved else NOT_SOLVED_GLYPH)

    @property
    def reason(self) -> str:
        """Why a run that did not solve its task could not: the task registry's note on this
        topology ("" for a solved or untrained run, or where the registry has no note)."""
        if self.solved is not False:
            return ""
        from lstm_core.tasks import TASKS

        return TASKS[self.config.task].note_for(self.config.topology)

    @property
    def status(self) -> str:
        if self.error is not None:
            return f"failed: {self.error}"
        if self.result is None:
            return "not trained"
        if self.stopped:
            return f"stopped at epoch {self.result.epochs_completed:,} of {self.config.epochs:,}"
        return "ok"


def entry_for(config: ExperimentConfig) -> ComparisonEntry:
    """An untrained entry for a config, named, labelled and coloured after its topology."""
    topology = TOPOLOGIES[config.topology]
    return ComparisonEntry(name=config.topology, label=topology.label, color=topology.color, config=config)


def entry_from_result(result, name: str = "main_page", label: str | None = None,
                      color: str = "#d62728") -> ComparisonEntry:
    """An entry for a run made elsewhere (the main page's last run), labelled after its topology."""
    topology = TOPOLOGIES[result.config.topology]
    entry = ComparisonEntry(name=name, label=label or f"Main page: {topology.label}", color=color,
                            config=result.config, result=result)
    entry.error = _non_finite_reason(result)
    return entry


def train_entry(config: ExperimentConfig, callbacks: Sequence = ()) -> ComparisonEntry:
    """Train one config; an entry that records a failure instead of raising it.

    An `Exception` from training or a callback, or a loss that turns NaN or infinite, becomes
    the entry's `error`: a short text for the page (the exception's own text, which may hold
    server paths, goes to the log only). Anything else (`KeyboardInterrupt`, Streamlit's rerun
    and stop signals, which are `BaseException`s) propagates: the caller must see those.
    """
    from lstm_core import engine

    entry = entry_for(config)
    try:
        entry.result = engine.train(config, callbacks=callbacks)
    except Exception as exc:  # noqa: BLE001 - one topology failing must not stop the others
        logger.warning("Training %s failed", config.topology, exc_info=True)
        entry.error = failure_text(exc)
        return entry
    entry.error = _non_finite_reason(entry.result)
    return entry


def failure_text(exc: BaseException) -> str:
    """A failed run in plain words: the kind of error, never its message (paths, source lines),
    unless the error carries a `page_text` written for the page (engine.ShapeLimitReached)."""
    explained = diagnosis.page_text(exc)
    if explained is not None:
        return explained.rstrip(".")
    return f"training raised {type(exc).__name__} (details in the server log)"


def iter_comparison(
    configs: Iterable[ExperimentConfig],
    callbacks_for: Callable[[ExperimentConfig], Sequence] | None = None,
) -> Iterator[ComparisonEntry]:
    """Train the configs in turn, yielding each entry as soon as it is done.

    `callbacks_for(config)` gives that run's callbacks (called just before it starts; an
    exception there fails that entry only). A consumer that stops iterating (say, because the
    user pressed Stop) trains nothing more.
    """
    for config in configs:
        try:
            callbacks = list(callbacks_for(config)) if callbacks_for is not None else []
        except Exception as exc:  # noqa: BLE001
            logger.warning("Preparing %s failed", config.topology, exc_info=True)
            entry = entry_for(config)
            entry.error = failure_text(exc)
            yield entry
            continue
        yield train_entry(config, callbacks)


def run_comparison(
    configs: Iterable[ExperimentConfig],
    callbacks_for: Callable[[ExperimentConfig], Sequence] | None = None,
) -> list[ComparisonEntry]:
    """Every entry of `iter_comparison`, as a list: failed ones included, with their reasons."""
    return list(iter_comparison(configs, callbacks_for=callbacks_for))


def _non_finite_reason(result) -> str | None:
    if result is None or result.stop_reason != "non_finite_loss":
        return None
    return f"the loss became NaN or infinite at epoch {result.epochs_completed + 1:,}, so training stopped"


# --------------------------------------------------------------------------- measures and table


def first_epoch_below(losses: Sequence[float], threshold: float) -> int | None:
    """The first epoch (1-based) whose loss is strictly below `threshold`, or None if none is."""
    values = np.asarray(losses, dtype=np.float64).reshape(-1)
    below = np.flatnonzero(values < threshold)  # NaN compares False: never "below"
    return int(below[0]) + 1 if below.size else None


def max_curve_difference(first: Sequence[float], second: Sequence[float]) -> float | None:
    """The largest absolute difference of two loss curves over their common epochs (None if none)."""
    length = min(len(first), len(second))
    if length == 0:
        return None
    a = np.asarray(first[:length], dtype=np.float64)
    b = np.asarray(second[:length], dtype=np.float64)
    return float(np.max(np.abs(a - b)))


TABLE_COLUMNS = (
    "topology", "solved", "score", "parameters", "X shape", "y shape", "epochs", "final MSE", "largest abs error",
    "compile (s)", "training (s)", "first epoch below threshold", "status",
)


def table_rows(entries: Iterable[ComparisonEntry], threshold: float) -> list[dict[str, Any]]:
    """One row per entry, with the keys of `TABLE_COLUMNS`; None where a run has no value.

    "epochs" counts the epochs completed; "first epoch below threshold" is the epoch as text,
    or "not reached" (text, so the column has one type). "score" is what decides "solved": the
    validation MSE where the task has held-out data, else the final training MSE; "solved" is
    "✅ yes", "❌ no" or "" (not trained).
    """
    rows = []
    for entry in entries:
        result = entry.result
        reached = first_epoch_below(entry.losses, threshold) if result is not None else None
        rows.append(
            {
                "topology": entry.label,
                "solved": {None: "", True: f"{SOLVED_GLYPH} yes", False: f"{NOT_SOLVED_GLYPH} no"}[entry.solved],
                "score": None if result is None or entry.failed else _finite_or_none(float(result.score)),
                "parameters": _parameters(entry),
                "X shape": str(entry.config.x_shape),
                "y shape": str(entry.config.y_shape),
                "epochs": None if result is None else int(result.epochs_completed),
                "final MSE": None if result is None else _finite_or_none(result.final_mse),
                "largest abs error": None if result is None else _finite_or_none(result.max_abs_error),
                "compile (s)": None if result is None else float(getattr(result, "compile_seconds", 0.0)),
                "training (s)": None if result is None else float(getattr(result, "train_seconds", result.seconds)),
                "first epoch below threshold": "not reached" if reached is None else str(reached),
                "status": entry.status,
            }
        )
    return rows


def _parameters(entry: ComparisonEntry) -> int | None:
    if entry.result is not None and entry.result.model is not None:
        return int(entry.result.model.count_params())
    try:
        from lstm_core.model import describe_model

        return int(describe_model(entry.config.replace(epochs=1))["total_parameters"])
    except Exception:  # noqa: BLE001 - a table cell is not worth failing the page for
        logger.warning("Counting the parameters of %s failed", entry.name, exc_info=True)
        return None


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def table_csv(entries: Sequence[ComparisonEntry], threshold: float) -> str:
    """The comparison table as CSV text (`table_rows`, through `lstm_core.exports`)."""
    from lstm_core import exports

    return exports.table_csv(table_rows(entries, threshold))


def report_html(entries: Sequence[ComparisonEntry], threshold: float) -> str:
    """The comparison as one HTML file that opens offline: the table (verdicts included), one loss
    chart, and each trained run's settings, results and target-vs-prediction panels."""
    from lstm_core import exports

    trained = [entry for entry in entries if entry.result is not None and len(entry.result.losses)]
    return exports.comparison_report([entry.result for entry in trained], table_rows(entries, threshold),
                                     title="LSTM explorer: a comparison")


class ValidationLine:
    """A Keras-style callback that keeps one trace of a live figure at the run's validation losses.

    It only records `logs["val_loss"]` per epoch and writes the trace at most every `interval`
    seconds and at the end, so a fast run is not slowed; whatever redraws the figure (the page's
    live chart, listed after this callback) then shows the validation line with the training one.
    A run without held-out data never writes it.
    """

    def __init__(self, figure, trace_index: int, interval: float = 0.05, clock: Callable[[], float] | None = None):
        import time

        self.figure = figure
        self.trace_index = trace_index
        self.interval = interval
        self._clock = clock or time.monotonic
        self._values: list[float] = []
        self._written = -float("inf")
        self.model = None
        self.writes = 0

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        pass

    def on_train_begin(self, logs=None):
        self._values = []
        self._written = self._clock()

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        if logs and "val_loss" in logs:
            self._values.append(float(logs["val_loss"]))
            now = self._clock()
            if now - self._written >= self.interval:
                self._written = now
                self._write()

    def on_train_end(self, logs=None):
        if self._values:
            self._write()

    @property
    def values(self) -> np.ndarray:
        return np.asarray(self._values, dtype=np.float64)

    def _write(self) -> None:
        from lstm_core import plots

        plots.set_losses(self.figure, self.trace_index, self.values)
        self.writes += 1


def add_validation_trace(figure, entry: ComparisonEntry) -> int:
    """An empty dotted validation line for `entry` in its colour, named "<label> · validation";
    its index in the figure."""
    import plotly.graph_objects as go

    figure.add_trace(go.Scatter(x=np.empty(0), y=np.empty(0), mode="lines", name=f"{entry.label} · validation",
                                line={"color": entry.color, "width": 1.5, "dash": "dot"}))
    return len(figure.data) - 1


def add_validation_lines(figure, entries: Sequence[ComparisonEntry]) -> None:
    """A dotted validation-loss line per entry with held-out data, after the training lines."""
    from lstm_core import plots

    for entry in entries:
        result = entry.result
        if result is None or not len(getattr(result, "val_losses", ())):
            continue
        plots.set_losses(figure, add_validation_trace(figure, entry), np.asarray(result.val_losses))


# --------------------------------------------------------------------------- TimeDistributed vs Dense


@dataclasses.dataclass(frozen=True)
class DenseCheck:
    """TimeDistributed(Dense(1)) and plain Dense(1) after an LSTM, run with the same weights.

    Attributes:
        max_abs_difference: the largest |output_time_distributed − output_dense| on the same X.
        time_distributed_parameters, dense_parameters: each model's parameter count.
        time_distributed_outputs, dense_outputs: the outputs, flat in sequence order.
        inputs: the X both models saw, flat.
    """

    sequence_length: int
    units: int
    seed: int
    max_abs_difference: float
    time_distributed_parameters: int
    dense_parameters: int
    time_distributed_outputs: tuple[float, ...]
    dense_outputs: tuple[float, ...]
    inputs: tuple[float, ...]


def dense_check(sequence_length: int = 5, units: int = 5, seed: int = 7, weights: Sequence | None = None) -> DenseCheck:
    """Copy one set of weights into both many-to-many models, run both on the same X, compare.

    `weights` (as `model.get_weights()` of the TimeDistributed model, e.g. after training)
    defaults to arbitrary weights drawn from `seed`, different from any initial weights, so the
    agreement cannot come from both models starting alike. Raises `ValueError` for settings
    out of range or weights of the wrong shapes.

    Both models are built for this call and belong to it: a model shared between sessions
    would have its weights set by one session while another reads its outputs. (The page
    caches the returned numbers per setting, so models are not built per click.)
    """
    from lstm_core.data import frame
    from lstm_core.model import build_model

    config = ExperimentConfig(topology=TIME_DISTRIBUTED, sequence_length=sequence_length, units=units,
                              seed=seed, epochs=1)
    X, _ = frame(config)
    time_distributed = build_model(config)
    dense = build_model(config.replace(topology=PLAIN_DENSE))
    shapes = [tuple(w.shape) for w in time_distributed.weights]
    if weights is None:
        rng = np.random.default_rng(config.seed)
        weights = [rng.uniform(-0.5, 0.5, size=shape).astype(np.float32) for shape in shapes]
    weights = [np.asarray(w, dtype=np.float32) for w in weights]
    if [tuple(w.shape) for w in weights] != shapes:
        raise ValueError(f"weights of shapes {[w.shape for w in weights]} do not fit the model's {shapes}")
    time_distributed.set_weights(weights)
    # Copied from one model to the other: the plain Dense model gets exactly these weights.
    dense.set_weights(time_distributed.get_weights())
    out_time_distributed = np.asarray(time_distributed(X, training=False), dtype=np.float64).reshape(-1)
    out_dense = np.asarray(dense(X, training=False), dtype=np.float64).reshape(-1)
    return DenseCheck(
        sequence_length=config.sequence_length,
        units=config.units,
        seed=config.seed,
        max_abs_difference=float(np.max(np.abs(out_time_distributed - out_dense))),
        time_distributed_parameters=int(time_distributed.count_params()),
        dense_parameters=int(dense.count_params()),
        time_distributed_outputs=tuple(out_time_distributed.tolist()),
        dense_outputs=tuple(out_dense.tolist()),
        inputs=tuple(np.asarray(X, dtype=np.float64).reshape(-1).tolist()),
    )


__all__ = [
    "BUDGETS", "NOT_SOLVED_GLYPH", "SOLVED_GLYPH", "ValidationLine", "add_validation_lines", "add_validation_trace", "report_html", "table_csv", "CompareSettings", "ComparisonEntry", "DenseCheck", "SHARED", "TABLE_COLUMNS", "THRESHOLDS",
    "comparison_configs", "dense_check", "entry_for", "entry_from_result", "failure_text", "first_epoch_below",
    "iter_comparison", "max_curve_difference", "resolve_settings", "run_comparison", "table_rows", "train_entry",
    "tutorial_epochs_text",
]
