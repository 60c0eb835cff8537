"""Comparing topologies on one sequence: the configs, a failure-tolerant runner, the table, the Dense check.

Pure (no Streamlit): the comparison page reads its controls, calls these, and draws what they
return. TensorFlow is imported only when something is trained or built.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import threading
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from lstm_core.config import MAX_WORK, ExperimentConfig, max_epochs_for, resolve
from lstm_core.topologies import TOPOLOGIES

logger = logging.getLogger(__name__)

# "tutorial": each topology its own tutorial epochs (1000 / 500 / 1000 / 1000);
# "equal": one number of epochs for all (lowered per topology to its work cap if needed).
BUDGETS = ("tutorial", "equal")

# The two many-to-many models that differ only in TimeDistributed(Dense) vs plain Dense.
TIME_DISTRIBUTED = "many_to_many"
PLAIN_DENSE = "many_to_many_dense"


# --------------------------------------------------------------------------- configs


def comparison_configs(
    topology_keys: Iterable[str],
    sequence_length: Any = 5,
    units: Any = 5,
    seed: Any = 7,
    learning_rate: Any = 0.001,
    budget: str = "tutorial",
    epochs: Any = None,
) -> tuple[list[ExperimentConfig], list[str]]:
    """One config per topology with the shared settings, and a message per value changed.

    Each config keeps its topology's tutorial batch size. With budget "tutorial" each gets its
    topology's default epochs, with "equal" each gets `epochs`; either way epochs are lowered to
    the topology's work cap. Shared values out of range are clamped (as `resolve` does), with a
    message; an unknown topology key or budget is a programming error and raises `ValueError`.
    """
    keys = list(dict.fromkeys(topology_keys))  # keep the order, drop repeats
    unknown = [key for key in keys if key not in TOPOLOGIES]
    if unknown:
        raise ValueError(f"unknown topology {', '.join(map(repr, unknown))}: allowed {', '.join(TOPOLOGIES)}")
    if budget not in BUDGETS:
        raise ValueError(f"budget={budget!r} is not known: allowed {', '.join(BUDGETS)}")

    # The shared settings, clamped once (one epoch: the cap is handled per topology below).
    shared_values = dict(sequence_length=sequence_length, units=units, seed=seed, learning_rate=learning_rate)
    shared, messages = resolve({**shared_values, "epochs": 1}, source="Setting")
    wanted_epochs = None
    if budget == "equal":
        equal, more = resolve({"epochs": epochs}, source="Setting")
        messages += more
        wanted_epochs = equal.epochs

    configs: list[ExperimentConfig] = []
    lowered: dict[int, list[str]] = {}  # cap → labels of the topologies lowered to it
    for key in keys:
        want = TOPOLOGIES[key].default_epochs if wanted_epochs is None else wanted_epochs
        cap = max_epochs_for(key, shared.sequence_length, shared.units)
        if want > cap:
            lowered.setdefault(cap, []).append(TOPOLOGIES[key].label)
        configs.append(
            ExperimentConfig(
                topology=key,
                sequence_length=shared.sequence_length,
                units=shared.units,
                epochs=min(want, cap),
                learning_rate=shared.learning_rate,
                seed=shared.seed,
            )
        )
    for cap, labels in lowered.items():
        messages.append(
            f"Epochs lowered to {cap:,} for {', '.join(labels)}: the per-run work cap is epochs × "
            f"samples × timesteps × units ≤ {MAX_WORK:,}, so with sequence length "
            f"{shared.sequence_length} and {shared.units} units at most {cap:,} epochs."
        )
    return configs, messages


def tutorial_epochs_text() -> str:
    """The tutorial's epochs per topology, in registry order: "1000 / 500 / 1000 / 1000"."""
    return " / ".join(str(topology.default_epochs) for topology in TOPOLOGIES.values())


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


def train_entry(config: ExperimentConfig, callbacks: Sequence = (), data: tuple | None = None) -> ComparisonEntry:
    """Train one config; an entry that records a failure instead of raising it.

    An `Exception` from training or a callback, or a loss that turns NaN or infinite, becomes
    the entry's `error`. Anything else (`KeyboardInterrupt`, Streamlit's rerun and stop
    signals, which are `BaseException`s) propagates: the caller must see those.
    """
    from lstm_core import engine

    entry = entry_for(config)
    try:
        entry.result = engine.train(config, callbacks=callbacks, data=data)
    except Exception as exc:  # noqa: BLE001 - one topology failing must not stop the others
        logger.warning("Training %s failed", config.topology, exc_info=True)
        entry.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return entry
    entry.error = _non_finite_reason(entry.result)
    return entry


def iter_comparison(
    configs: Iterable[ExperimentConfig],
    callbacks_for: Callable[[ExperimentConfig], Sequence] | None = None,
    data: Mapping[str, tuple] | None = None,
) -> Iterator[ComparisonEntry]:
    """Train the configs in turn, yielding each entry as soon as it is done.

    `callbacks_for(config)` gives that run's callbacks (called just before it starts; an
    exception there fails that entry only). `data` maps a topology key to an (X, y) pair to
    train on instead of the sequence (see `lstm_core.train`). A consumer that stops iterating
    (say, because the user pressed Stop) trains nothing more.
    """
    for config in configs:
        try:
            callbacks = list(callbacks_for(config)) if callbacks_for is not None else []
        except Exception as exc:  # noqa: BLE001
            logger.warning("Preparing %s failed", config.topology, exc_info=True)
            entry = entry_for(config)
            entry.error = f"{type(exc).__name__}: {exc}"
            yield entry
            continue
        yield train_entry(config, callbacks, None if data is None else data.get(config.topology))


def run_comparison(
    configs: Iterable[ExperimentConfig],
    callbacks_for: Callable[[ExperimentConfig], Sequence] | None = None,
    data: Mapping[str, tuple] | None = None,
) -> list[ComparisonEntry]:
    """Every entry of `iter_comparison`, as a list: failed ones included, with their reasons."""
    return list(iter_comparison(configs, callbacks_for=callbacks_for, data=data))


class ComparisonRun:
    """One "Train all": its configs, the entries finished so far, and whether it was interrupted.

    Updated with plain Python only, never through a UI call, so that a run cut short by a UI
    signal can still record what it finished: with Streamlit's fast reruns, every `st.*` call
    and every `st.session_state` access of the old run raises once it has been told to stop,
    while the new run already starts in another thread. The new run waits on `finished` and
    then reads `entries`.
    """

    def __init__(self, configs: Iterable[ExperimentConfig]):
        self.configs: list[ExperimentConfig] = list(configs)
        self.entries: list[ComparisonEntry] = []
        self.interrupted = False
        self.notice: str | None = None  # what the page says about the interruption, once known
        self.finished = threading.Event()

    def record(self, entry: ComparisonEntry) -> None:
        self.entries.append(entry)

    @property
    def not_trained(self) -> list[ExperimentConfig]:
        """The configs with no entry (an interrupted run did not reach them)."""
        done = {entry.config for entry in self.entries}
        return [config for config in self.configs if config not in done]

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the run to end; whether it has."""
        return self.finished.wait(timeout)


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
    "topology", "parameters", "X shape", "y shape", "epochs", "final MSE", "largest abs error",
    "wall time (s)", "first epoch below threshold", "status",
)


def table_rows(entries: Iterable[ComparisonEntry], threshold: float) -> list[dict[str, Any]]:
    """One row per entry, with the keys of `TABLE_COLUMNS`; None where a run has no value.

    "epochs" counts the epochs completed; "first epoch below threshold" is the epoch as text,
    or "not reached" (text, so the column has one type).
    """
    rows = []
    for entry in entries:
        result = entry.result
        reached = first_epoch_below(entry.losses, threshold) if result is not None else None
        rows.append(
            {
                "topology": entry.label,
                "parameters": _parameters(entry),
                "X shape": str(entry.config.x_shape),
                "y shape": str(entry.config.y_shape),
                "epochs": None if result is None else int(result.epochs_completed),
                "final MSE": None if result is None else _finite_or_none(result.final_mse),
                "largest abs error": None if result is None else _finite_or_none(result.max_abs_error),
                "wall time (s)": None if result is None else float(result.seconds),
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


_check_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _model_pair(sequence_length: int, units: int):
    """The two many-to-many models for a shape, built once and reused (their weights are set per
    check): building a Keras model per request would grow a shared server's memory."""
    from lstm_core.model import build_model

    config = ExperimentConfig(topology=TIME_DISTRIBUTED, sequence_length=sequence_length, units=units, epochs=1)
    return build_model(config), build_model(config.replace(topology=PLAIN_DENSE))


def dense_check(sequence_length: int = 5, units: int = 5, seed: int = 7, weights: Sequence | None = None) -> DenseCheck:
    """Copy one set of weights into both many-to-many models, run both on the same X, compare.

    `weights` (as `model.get_weights()` of the TimeDistributed model, e.g. after training)
    defaults to arbitrary weights drawn from `seed`, different from any initial weights, so the
    agreement cannot come from both models starting alike. Raises `ValueError` for settings
    out of range or weights of the wrong shapes.
    """
    from lstm_core.data import frame

    config = ExperimentConfig(topology=TIME_DISTRIBUTED, sequence_length=sequence_length, units=units,
                              seed=seed, epochs=1)
    X, _ = frame(config)
    time_distributed, dense = _model_pair(config.sequence_length, config.units)
    shapes = [tuple(w.shape) for w in time_distributed.weights]
    if weights is None:
        rng = np.random.default_rng(config.seed)
        weights = [rng.uniform(-0.5, 0.5, size=shape).astype(np.float32) for shape in shapes]
    weights = [np.asarray(w, dtype=np.float32) for w in weights]
    if [tuple(w.shape) for w in weights] != shapes:
        raise ValueError(f"weights of shapes {[w.shape for w in weights]} do not fit the model's {shapes}")
    with _check_lock:  # the two models are shared by every session of the process
        time_distributed.set_weights(weights)
        # Copied from one model to the other: the plain Dense model gets exactly these weights.
        dense.set_weights(time_distributed.get_weights())
        out_time_distributed = np.asarray(time_distributed(X, training=False), dtype=np.float64).reshape(-1)
        out_dense = np.asarray(dense(X, training=False), dtype=np.float64).reshape(-1)
        params = (int(time_distributed.count_params()), int(dense.count_params()))
    return DenseCheck(
        sequence_length=config.sequence_length,
        units=config.units,
        seed=config.seed,
        max_abs_difference=float(np.max(np.abs(out_time_distributed - out_dense))),
        time_distributed_parameters=params[0],
        dense_parameters=params[1],
        time_distributed_outputs=tuple(out_time_distributed.tolist()),
        dense_outputs=tuple(out_dense.tolist()),
        inputs=tuple(np.asarray(X, dtype=np.float64).reshape(-1).tolist()),
    )


__all__ = [
    "BUDGETS", "ComparisonEntry", "ComparisonRun", "DenseCheck", "TABLE_COLUMNS", "comparison_configs",
    "dense_check", "entry_for", "entry_from_result", "first_epoch_below", "iter_comparison",
    "max_curve_difference", "run_comparison", "table_rows", "train_entry", "tutorial_epochs_text",
]
