"""The landscape: final loss over a grid of units × learning rate, one heatmap per topology.

`resolve_settings` turns a URL's (or the controls') values into a `LandscapeSettings`, never
raising: the run settings (task, cell, epochs, seed) go through `lstm_core.resolve`, the one
place that clamps; the grid's own lists (units, learning rates, topologies) drop bad entries
with a message each. `columns` splits the grid into columns of one shape (one topology and one
units value: only the learning rate differs); `train_columns` trains the columns of one topology
together, as one vectorised population (`population.train_many`, which compiles every units value
of it at the widest one's width: one compile per topology, not per column). A `Landscape` keeps every finished cell's per-epoch
loss history (validation MSE where the task holds sequences out, else the training loss), so
the grid at any earlier epoch is read from the histories, with no retraining.
`landscape_figure` draws it: heatmaps side by side on one shared, logarithmic colour scale.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from lstm_core.config import FIELDS, ExperimentConfig, resolve, unknown_message
from lstm_core.topologies import TOPOLOGIES

DEFAULT_UNITS = (2, 4, 8, 16, 32)
DEFAULT_LEARNING_RATES = (1e-4, 1e-3, 1e-2, 1e-1)
DEFAULT_EPOCHS = 500
# At most this many values per axis: 12 × 12 × 8 topologies is already ~1,000 runs.
MAX_AXIS_VALUES = 12
# The colour scale stops here (losses this small are float32 round-off; see plots.LOSS_FLOOR).
LOSS_FLOOR = 1e-7
# The URL keys of the grid's own settings; the run settings use lstm_core's field names.
RUN_FIELDS = ("task", "cell", "epochs", "seed")
URL_KEYS = ("task", "cell", "topologies", "units", "learning_rates", "epochs", "seed")
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def default_topologies() -> tuple[str, ...]:
    """The tutorial's topologies."""
    return tuple(key for key, topology in TOPOLOGIES.items() if getattr(topology, "tutorial", True))


@dataclasses.dataclass(frozen=True)
class LandscapeSettings:
    """A grid: every topology × units × learning rate, each trained with the same run settings.

    Attributes:
        task, cell, epochs, seed: as in `ExperimentConfig` (checked by `lstm_core.resolve`).
        topologies: registry keys, one heatmap each, in order.
        units: the rows, ascending. learning_rates: the columns, ascending.
    """

    task: str = ExperimentConfig.task
    cell: str = ExperimentConfig.cell
    topologies: tuple[str, ...] = dataclasses.field(default_factory=default_topologies)
    units: tuple[int, ...] = DEFAULT_UNITS
    learning_rates: tuple[float, ...] = DEFAULT_LEARNING_RATES
    epochs: int = DEFAULT_EPOCHS
    seed: int = ExperimentConfig.seed

    @property
    def size(self) -> int:
        return len(self.topologies) * len(self.units) * len(self.learning_rates)

    def config(self, topology: str, units: int, learning_rate: float) -> ExperimentConfig:
        """The run of one cell (the task's defaults for everything the grid does not set)."""
        return ExperimentConfig(task=self.task, cell=self.cell, topology=topology, units=units,
                                learning_rate=learning_rate, epochs=self.epochs, seed=self.seed)

    def configs(self) -> list[ExperimentConfig]:
        return [config for _, _, column in columns(self) for config in column]

    def to_query_params(self) -> dict[str, str]:
        """The grid as URL parameters; `resolve_settings` reads them back to equal settings."""
        return {
            "task": self.task,
            "cell": self.cell,
            "topologies": ",".join(self.topologies),
            "units": ",".join(str(value) for value in self.units),
            # repr: the shortest text that reads back to the same float (1e-05, 0.0003).
            "learning_rates": ",".join(repr(float(value)) for value in self.learning_rates),
            "epochs": str(self.epochs),
            "seed": str(self.seed),
        }


# --------------------------------------------------------------------------- reading settings


def _short(value: Any, limit: int = 30) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("`", "'").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parts(raw: Any) -> list[str]:
    """A list from "2, 4; 8" (commas, semicolons or spaces) or from a list of values."""
    if isinstance(raw, str):
        return [part for part in raw.replace(";", ",").replace(" ", ",").split(",") if part.strip()]
    try:
        return [str(part) for part in raw]
    except TypeError:
        return [str(raw)]


def _number_list(name: str, raw: Any, kind: type, default: tuple, source: str, messages: list[str]) -> tuple:
    """The valid, distinct values of a list setting in ascending order; a message per dropped entry."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if raw is not None:
            messages.append(f"{source} `{name}` is empty; using {', '.join(f'{v:g}' for v in default)}.")
        return default
    field = FIELDS["units" if name == "units" else "learning_rate"]
    kept, bad, outside = [], [], []
    for part in _parts(raw)[:1000]:
        text = part.strip()
        try:
            if len(text) > 30:
                raise ValueError("too long")
            number = float(text)
            if not math.isfinite(number) or (kind is int and not number.is_integer()):
                raise ValueError("not a number of the kind")
        except (ValueError, OverflowError):
            bad.append(text)
            continue
        if not field.minimum <= number <= field.maximum:
            outside.append(text)
            continue
        kept.append(kind(number))
    what = "whole number" if kind is int else "number"
    if bad:
        messages.append(f"{source} `{name}`: ignored {', '.join(f'`{_short(b)}`' for b in bad[:8])} "
                        f"(not a {what}).")
    if outside:
        messages.append(f"{source} `{name}`: ignored {', '.join(f'`{_short(o)}`' for o in outside[:8])} "
                        f"(outside {field.minimum:g}–{field.maximum:g}).")
    values = tuple(sorted(set(kept)))
    if len(values) > MAX_AXIS_VALUES:
        messages.append(f"{source} `{name}`: {len(values)} values; the grid keeps the first {MAX_AXIS_VALUES}.")
        values = values[:MAX_AXIS_VALUES]
    if not values:
        messages.append(f"{source} `{name}` holds no usable value; using {', '.join(f'{v:g}' for v in default)}.")
        return default
    return values


def _topology_list(raw: Any, source: str, messages: list[str]) -> tuple[str, ...]:
    if raw is None:
        return default_topologies()
    parts = [part.strip() for part in _parts(raw) if part.strip()]
    bad = [part for part in parts if part not in TOPOLOGIES]
    if bad:
        messages.append(f"{source} `topologies`: ignored {', '.join(f'`{_short(b)}`' for b in bad[:8])} "
                        f"(not a topology; allowed: {', '.join(TOPOLOGIES)}).")
    return tuple(dict.fromkeys(part for part in parts if part in TOPOLOGIES))


def resolve_settings(values: Mapping[str, Any], source: str = "URL parameter") -> tuple[LandscapeSettings, list[str]]:
    """The nearest valid grid to `values` (strings, numbers or lists), and a message per change made.

    Never raises. An empty topology list stays empty (the page asks for one); epochs are lowered
    to what the per-run work cap allows for the grid's largest cell (one epochs for the whole
    grid, so that the epoch slider means the same everywhere).
    """
    messages: list[str] = []
    unknown = sorted(set(map(str, values)) - set(URL_KEYS) - set(FIELDS))
    if unknown:
        messages.append(unknown_message(unknown, source))
    topologies = _topology_list(values.get("topologies"), source, messages)
    units = _number_list("units", values.get("units"), int, DEFAULT_UNITS, source, messages)
    rates = _number_list("learning_rates", values.get("learning_rates"), float, DEFAULT_LEARNING_RATES, source,
                         messages)

    run_values = {name: values[name] for name in RUN_FIELDS if values.get(name) not in (None, "")}
    run_values.setdefault("epochs", DEFAULT_EPOCHS)
    base, run_messages = resolve({**run_values, "topology": topologies[0] if topologies else ExperimentConfig.topology},
                                 source=source)
    # The work cap's own message is replaced by the grid's (below), which names the cell that limits it.
    messages += [message for message in run_messages if "work cap" not in message]
    epochs = base.epochs
    requested = epochs
    limiting = None
    for topology in topologies:
        config, _ = resolve({"task": base.task, "cell": base.cell, "topology": topology, "units": max(units),
                             "epochs": requested, "seed": base.seed}, source=source)
        if config.epochs < epochs:
            epochs, limiting = config.epochs, topology
    if limiting is not None:
        messages.append(f"{source} `epochs={requested:,}` is more than the per-run work cap allows for "
                        f"{TOPOLOGIES[limiting].label} with {max(units)} units; the grid uses {epochs:,}.")
    settings = LandscapeSettings(task=base.task, cell=base.cell, topologies=topologies, units=units,
                                 learning_rates=rates, epochs=epochs, seed=base.seed)
    return settings, messages


# --------------------------------------------------------------------------- training


def columns(settings: LandscapeSettings) -> list[tuple[str, int, list[ExperimentConfig]]]:
    """(topology, units, one config per learning rate): the grid's columns, in order (a topology's
    columns train together: `train_columns`)."""
    return [(topology, units, [settings.config(topology, units, rate) for rate in settings.learning_rates])
            for topology in settings.topologies for units in settings.units]


def pending_groups(settings: LandscapeSettings, skip: Callable[[str, int], bool] = lambda t, u: False
                   ) -> list[tuple[str, list[int]]]:
    """(topology, its units values not skipped), in grid order: what `train_columns` trains as
    one population each."""
    groups = []
    for topology in settings.topologies:
        units = [value for value in settings.units if not skip(topology, value)]
        if units:
            groups.append((topology, units))
    return groups


def _train_group(configs: list[ExperimentConfig], progress) -> list:
    try:
        from lstm_core.population import train_many
    except ImportError:  # an engine without populations: one run after another
        train_many = None
    if train_many is not None:
        return train_many(configs, progress=progress)
    from lstm_core.engine import train

    results = []
    for index, config in enumerate(configs):
        results.append(train(config))
        if progress is not None:
            progress(index + 1, len(configs))
    return results


def train_columns(settings: LandscapeSettings, skip: Callable[[str, int], bool] = lambda t, u: False,
                  progress: Callable[[int, int], None] | None = None) -> Iterator[tuple[str, int, list]]:
    """Train the grid one topology at a time (its columns as one population, `pending_groups`);
    yields (topology, units, results in learning-rate order) per column, in grid order.

    skip(topology, units): columns already done (a resumed grid). progress(done, total): inside
    a topology's group, as `train_many` reports it (epochs of the group).
    """
    for topology, units_values in pending_groups(settings, skip):
        configs = [settings.config(topology, units, rate) for units in units_values for rate in settings.learning_rates]
        results = _train_group(configs, progress)
        per_column = len(settings.learning_rates)
        for index, units in enumerate(units_values):
            yield topology, units, results[index * per_column:(index + 1) * per_column]


def history_of(result) -> np.ndarray:
    """A run's per-epoch loss the landscape shows: validation MSE where the task has held-out data."""
    history = result.val_losses if len(result.val_losses) else result.losses
    return np.asarray(history, dtype=np.float64)


@dataclasses.dataclass
class Landscape:
    """The finished cells of a grid: (topology, units, learning rate) → per-epoch loss history.

    A history shorter than `settings.epochs` belongs to a run that stopped on a non-finite loss:
    from then on the cell reads `inf` ("diverged"). A cell not trained yet reads NaN.
    """

    settings: LandscapeSettings
    histories: dict = dataclasses.field(default_factory=dict)
    validation: bool | None = None

    def add(self, topology: str, units: int, results: Sequence) -> None:
        for rate, result in zip(self.settings.learning_rates, results):
            self.histories[(topology, units, rate)] = history_of(result)
            if self.validation is None:
                self.validation = bool(len(result.val_losses))

    def has_column(self, topology: str, units: int) -> bool:
        return all((topology, units, rate) in self.histories for rate in self.settings.learning_rates)

    @property
    def done(self) -> int:
        return len(self.histories)

    @property
    def complete(self) -> bool:
        return self.done == self.settings.size

    @property
    def metric(self) -> str:
        return "validation MSE" if self.validation else "training loss"

    def values_at(self, topology: str, epoch: int | None = None) -> np.ndarray:
        """[units, learning rates] of the loss after `epoch` epochs (default: the last)."""
        epoch = self.settings.epochs if epoch is None else int(epoch)
        if not 1 <= epoch <= self.settings.epochs:
            raise ValueError(f"epoch {epoch} is outside 1–{self.settings.epochs}")
        grid = np.full((len(self.settings.units), len(self.settings.learning_rates)), np.nan)
        for row, units in enumerate(self.settings.units):
            for column, rate in enumerate(self.settings.learning_rates):
                history = self.histories.get((topology, units, rate))
                if history is None:
                    continue
                grid[row, column] = history[epoch - 1] if epoch <= len(history) else np.inf
        return grid

    def colour_range(self) -> tuple[float, float] | None:
        """log10 of the smallest and largest finite loss over every epoch of every cell (None: none yet).

        Fixed over the epochs, so that moving the epoch slider changes colours only where losses change.
        """
        finite = [h[np.isfinite(h)] for h in self.histories.values()]
        finite = [h for h in finite if len(h)]
        if not finite:
            return None
        values = np.concatenate(finite)
        low = math.log10(max(float(values.min()), LOSS_FLOOR))
        high = math.log10(max(float(values.max()), LOSS_FLOOR))
        if high - low < 1e-6:
            low, high = low - 0.5, high + 0.5
        return low, high


# --------------------------------------------------------------------------- figure and clicks


def lr_label(rate: float) -> str:
    return f"{rate:g}"


def _power_text(exponent: int) -> str:
    return "10" + str(exponent).translate(_SUPERSCRIPT)


def _cell_text(value: float) -> str:
    if np.isnan(value):
        return "…"
    if np.isinf(value):
        return "diverged"
    return f"{value:.2g}"


def landscape_figure(landscape: Landscape, epoch: int | None = None, height: int = 380):
    """One heatmap per topology, side by side, coloured by log10 of the loss on one shared scale.

    Each heatmap has an invisible marker on every cell (trace `2 i + 1` for topology i) that
    carries the hover text and the click: its customdata is [topology index, units, learning rate].
    """
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    settings = landscape.settings
    epoch = settings.epochs if epoch is None else int(epoch)
    titles = [TOPOLOGIES[key].label for key in settings.topologies] or [""]
    figure = make_subplots(rows=1, cols=max(len(settings.topologies), 1), subplot_titles=titles,
                           shared_yaxes=True, horizontal_spacing=0.04)
    x_labels = [lr_label(rate) for rate in settings.learning_rates]
    y_labels = [str(units) for units in settings.units]
    colour = landscape.colour_range()
    for index, topology in enumerate(settings.topologies):
        values = landscape.values_at(topology, epoch)
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = np.where(np.isfinite(values), np.log10(np.maximum(values, LOSS_FLOOR)), np.nan)
        text = [[_cell_text(value) for value in row] for row in values]
        figure.add_trace(go.Heatmap(z=shown, x=x_labels, y=y_labels, coloraxis="coloraxis", text=text,
                                    texttemplate="%{text}", hoverinfo="skip", name=topology,
                                    xgap=1, ygap=1), row=1, col=index + 1)
        grid_x = [x for _ in y_labels for x in x_labels]
        grid_y = [y for y in y_labels for _ in x_labels]
        customdata = [[index, units, rate] for units in settings.units for rate in settings.learning_rates]
        hover = [f"{TOPOLOGIES[topology].label}<br>units {units}, learning rate {lr_label(rate)}<br>"
                 f"{landscape.metric} after epoch {epoch:,}: {_cell_text(values[r, c])}<br>click: open in the Explorer"
                 for r, units in enumerate(settings.units) for c, rate in enumerate(settings.learning_rates)]
        figure.add_trace(go.Scatter(x=grid_x, y=grid_y, mode="markers", customdata=customdata, hovertext=hover,
                                    hoverinfo="text", name=f"{topology} cells", showlegend=False,
                                    marker={"size": 28, "symbol": "square", "color": "rgba(0,0,0,0)"}),
                         row=1, col=index + 1)
        figure.update_xaxes(type="category", title_text="learning rate", row=1, col=index + 1)
    figure.update_yaxes(type="category", title_text="units", row=1, col=1)
    coloraxis = {"colorscale": "Viridis", "colorbar": {"title": {"text": "loss"}}}
    if colour is not None:
        low, high = colour
        ticks = list(range(math.ceil(low), math.floor(high) + 1)) or [round((low + high) / 2, 2)]
        coloraxis.update(cmin=low, cmax=high)
        coloraxis["colorbar"].update(tickvals=ticks, ticktext=[_power_text(int(t)) if float(t).is_integer()
                                                               else f"{10 ** t:.2g}" for t in ticks])
    figure.update_layout(
        title=f"{landscape.metric.capitalize()} after epoch {epoch:,} of {settings.epochs:,} (log colour scale)",
        coloraxis=coloraxis, height=height, margin={"l": 50, "r": 20, "t": 80, "b": 50},
        clickmode="event+select", dragmode=False,
    )
    return figure


def config_for_point(settings: LandscapeSettings, point: Mapping[str, Any]) -> ExperimentConfig | None:
    """The run of a clicked cell (a Plotly selection point), or None if it names no cell of the grid."""
    custom = point.get("customdata")
    try:
        if custom is not None and len(custom) == 3:
            index, units, rate = int(custom[0]), int(custom[1]), float(custom[2])
        else:
            index = int(point.get("curve_number", -1)) // 2
            units, rate = int(point["y"]), float(point["x"])
        topology = settings.topologies[index]
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    matches = [candidate for candidate in settings.learning_rates if math.isclose(candidate, rate, rel_tol=1e-9)]
    if units not in settings.units or not matches or index < 0:
        return None
    return settings.config(topology, units, matches[0])
