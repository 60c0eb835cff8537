"""Seed robustness: one configuration trained with many seeds, and what the spread says.

"Did this topology win, or was it one lucky seed?" A single run cannot answer that. Here a
config is repeated over N seeds (each seed draws its own initial weights and, for the random
tasks, its own sequences), trained (as one vectorised population per shape where
`lstm_core.population.train_many` can), and summarised: the success rate (score below the
task's `solved_below`: the validation MSE, or the training MSE where the task has no held-out
data), the final errors of every seed, the median loss curve with a quantile band, and the best
and worst seed. Pure (no Streamlit): the Compare page draws what this returns.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator, Sequence

import numpy as np

from lstm_core.config import ExperimentConfig

DEFAULT_SEEDS = 20
MIN_SEEDS, MAX_SEEDS = 2, 100
# The band drawn around the median curve.
BAND = (0.25, 0.75)


def seed_configs(config: ExperimentConfig, count: int = DEFAULT_SEEDS, first_seed: int = 0) -> list[ExperimentConfig]:
    """`count` copies of `config`, with seeds first_seed, first_seed + 1, …; ValueError for count < 1."""
    if count < 1:
        raise ValueError(f"count={count}: at least one seed is needed")
    return [config.replace(seed=first_seed + index) for index in range(count)]


def seed_count(value) -> tuple[int, str | None]:
    """The number of seeds nearest to `value` within MIN_SEEDS–MAX_SEEDS, and a message if it changed."""
    try:
        number = float(value)
        if number != number:  # NaN
            raise ValueError
    except (TypeError, ValueError):
        return DEFAULT_SEEDS, f"Seeds per topology: {value!r} is not a number; using {DEFAULT_SEEDS}."
    count = int(min(max(round(number), MIN_SEEDS), MAX_SEEDS))
    if count != number:
        return count, f"Seeds per topology: {number:g} is outside {MIN_SEEDS}–{MAX_SEEDS} or not whole; using {count}."
    return count, None


def quantile_curves(curves: Sequence[Sequence[float]], quantiles: Sequence[float] = (BAND[0], 0.5, BAND[1])
                    ) -> np.ndarray:
    """Per-epoch quantiles over curves of possibly different lengths: shape (len(quantiles), longest).

    At each epoch only the curves that reached it count (a run stopped early, or whose loss turned
    NaN, adds nothing after its end); non-finite values are ignored. An epoch no curve reached
    with a finite value is NaN.
    """
    longest = max((len(curve) for curve in curves), default=0)
    table = np.full((len(curves), longest), np.nan)
    for row, curve in enumerate(curves):
        values = np.asarray(curve, dtype=np.float64).reshape(-1)
        table[row, :values.size] = np.where(np.isfinite(values), values, np.nan)
    result = np.full((len(quantiles), longest), np.nan)
    reached = np.any(np.isfinite(table), axis=0)
    if reached.any():
        result[:, reached] = np.nanquantile(table[:, reached], quantiles, axis=0)
    return result


@dataclasses.dataclass(frozen=True)
class SeedSummary:
    """One configuration over N seeds.

    Attributes:
        topology: the topology key (every config of the summary has it).
        seeds: the seeds, in the order trained.
        scores: each seed's final score (validation MSE, else training MSE); inf for a run
            whose score is not finite (it diverged: counted as the worst, never as solved).
        solved: whether each seed's score is below `threshold`.
        threshold: the task's `solved_below`.
        median, low, high: the median loss curve and the band (`BAND` quantiles) per epoch; the
            validation curves where the task has held-out data, else the training curves.
        curve_kind: "validation" or "training": which losses the curves are.
    """

    topology: str
    seeds: tuple[int, ...]
    scores: np.ndarray
    solved: np.ndarray
    threshold: float
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    curve_kind: str

    @property
    def count(self) -> int:
        return len(self.seeds)

    @property
    def solved_count(self) -> int:
        return int(np.sum(self.solved))

    @property
    def success_rate(self) -> float:
        return self.solved_count / self.count if self.count else 0.0

    @property
    def best_index(self) -> int:
        """The index of the seed with the lowest score (the first of equals)."""
        return int(np.argmin(self.scores))

    @property
    def worst_index(self) -> int:
        """The index of the seed with the highest score (a diverged run is the worst)."""
        return int(np.argmax(self.scores))

    @property
    def best_seed(self) -> int:
        return self.seeds[self.best_index]

    @property
    def worst_seed(self) -> int:
        return self.seeds[self.worst_index]

    def rate_text(self) -> str:
        """"17 of 20 seeds solved (85 %)"."""
        return f"{self.solved_count} of {self.count} seeds solved ({100 * self.success_rate:.0f} %)"


def score_of(result) -> float:
    """A run's final score; inf when it is not finite (NaN loss), so that it sorts as the worst."""
    score = float(result.score)
    return score if np.isfinite(score) else float("inf")


def summarise(results: Sequence) -> SeedSummary:
    """The summary of runs of one configuration that differ only in their seed.

    ValueError for no results, or results of different topologies or tasks (they would not
    be one configuration's spread).
    """
    results = list(results)
    if not results:
        raise ValueError("no results to summarise")
    first = results[0].config
    for result in results:
        if (result.config.topology, result.config.task) != (first.topology, first.task):
            raise ValueError("summarise takes the runs of one topology on one task (one config, many seeds)")
    scores = np.array([score_of(result) for result in results], dtype=np.float64)
    threshold = float(first.solved_below)
    validation = bool(results[0].has_validation)
    curves = [result.val_losses if validation else result.losses for result in results]
    low, median, high = quantile_curves(curves, (BAND[0], 0.5, BAND[1]))
    return SeedSummary(
        topology=first.topology,
        seeds=tuple(int(result.config.seed) for result in results),
        scores=scores,
        solved=scores < threshold,
        threshold=threshold,
        median=median,
        low=low,
        high=high,
        curve_kind="validation" if validation else "training",
    )


def train_seeds(configs: Sequence[ExperimentConfig],
                progress: Callable[[int, int], None] | None = None) -> Iterator[list]:
    """Train the configs, one group of configs sharing a shape at a time, yielding each group's
    results (in the configs' order within the group) as soon as it is done.

    A group is trained as one population with `lstm_core.population.train_many` (each member
    equals `engine.train` alone to float round-off). `progress(done, total)` counts finished
    member-epochs over all groups; an exception it raises (a page's stop signal) ends the
    training there, losing only the group in progress. A consumer that stops iterating trains
    nothing more.
    """
    from lstm_core import population

    groups: dict[tuple, list[ExperimentConfig]] = {}
    for config in configs:
        groups.setdefault(config.shape_key, []).append(config)
    total = sum(config.epochs for config in configs)
    done_before = 0
    for group in groups.values():
        members = len(group)
        group_epochs = sum(config.epochs for config in group)

        def report(done: int, _total: int, base=done_before, members=members, group_epochs=group_epochs) -> None:
            if progress is not None:
                progress(base + min(done * members, group_epochs), total)

        results = population.train_many(group, progress=report if progress is not None else None)
        done_before += group_epochs
        yield results


# --------------------------------------------------------------------------- figures


def _label(summary: SeedSummary) -> str:
    from lstm_core.topologies import TOPOLOGIES

    return TOPOLOGIES[summary.topology].label


def _color(summary: SeedSummary) -> str:
    from lstm_core.topologies import TOPOLOGIES

    return TOPOLOGIES[summary.topology].color


def spread_figure(summaries: Sequence[SeedSummary], height: int = 360):
    """Every seed's final score as a point (a box behind them) per topology, on a log axis, with
    the task's `solved_below` as a dotted line: a point under it is a seed that solved the task.
    A diverged seed (inf) is left out of the points (the rate text counts it)."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for summary in summaries:
        finite = np.isfinite(summary.scores)
        figure.add_trace(go.Box(
            y=summary.scores[finite], name=_label(summary), boxpoints="all", jitter=0.4, pointpos=0,
            marker={"color": _color(summary), "size": 7}, line={"color": _color(summary)},
            text=[f"seed {seed}" for seed, keep in zip(summary.seeds, finite) if keep],
            hovertemplate="%{text}: %{y:.3g}<extra></extra>", showlegend=False,
        ))
    kind = summaries[0].curve_kind if summaries else "validation"
    figure.update_layout(title=f"Final {kind} MSE of every seed<br><sup>dotted line: solved below "
                               f"{summaries[0].threshold:g}</sup>" if summaries else "Final MSE of every seed",
                         yaxis_type="log", yaxis_title=f"{kind} MSE, log scale", height=height,
                         margin={"l": 60, "r": 20, "t": 65, "b": 45})
    figure.update_yaxes(exponentformat="power")
    if summaries:
        figure.add_hline(y=summaries[0].threshold, line_dash="dot", line_color="#888888", line_width=1)
    return figure


def band_figure(summaries: Sequence[SeedSummary], height: int = 360):
    """The median loss curve per topology with its `BAND` quantile band shaded, on a log axis."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for summary in summaries:
        epochs = np.arange(1, len(summary.median) + 1)
        color = _color(summary)
        figure.add_trace(go.Scatter(x=epochs, y=summary.high, mode="lines", line={"width": 0, "color": color},
                                    showlegend=False, hoverinfo="skip", name=f"{_label(summary)} {BAND[1]:.0%}"))
        figure.add_trace(go.Scatter(x=epochs, y=summary.low, mode="lines", line={"width": 0, "color": color},
                                    fill="tonexty", fillcolor=_transparent(color), showlegend=False, hoverinfo="skip",
                                    name=f"{_label(summary)} {BAND[0]:.0%}"))
        figure.add_trace(go.Scatter(x=epochs, y=summary.median, mode="lines", line={"width": 2, "color": color},
                                    name=f"{_label(summary)} (median)"))
    kind = summaries[0].curve_kind if summaries else "validation"
    figure.update_layout(title=f"Median {kind} loss over the seeds<br><sup>band: {BAND[0]:.0%} to "
                               f"{BAND[1]:.0%} of the seeds</sup>",
                         xaxis_title="epoch", yaxis_type="log", yaxis_title=f"{kind} MSE, log scale", height=height,
                         margin={"l": 60, "r": 20, "t": 65, "b": 45}, legend={"orientation": "h", "y": -0.25})
    figure.update_yaxes(exponentformat="power")
    return figure


def _transparent(color: str, alpha: float = 0.2) -> str:
    """'#1f77b4' → 'rgba(31,119,180,0.2)'."""
    value = color.lstrip("#")
    red, green, blue = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha})"


__all__ = ["MAX_SEEDS", "MIN_SEEDS", "band_figure", "seed_count", "spread_figure", "BAND", "DEFAULT_SEEDS", "SeedSummary", "quantile_curves", "score_of", "seed_configs", "summarise",
           "train_seeds"]
