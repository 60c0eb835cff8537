"""Reading a finished run: why it stopped, how much it learned, and what to try next. Pure.

The pages draw what these functions return; every decision (which message, which hint) is
made here, from the numbers of a `TrainingResult`-like object (`config`, `losses`, `targets`,
`predictions`, `stop_reason`, `epochs_completed`), so each case has a unit test.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from lstm_core.tasks import TASKS

# Why a run ended early (`TrainingResult.stop_reason`, written by the engine).
STOPPED = "stopped"
NON_FINITE_LOSS = "non_finite_loss"

# Who or what stopped a run (the page knows; the engine only sees `stop_training`).
STOP_BUTTON = "stop_button"  # the page's own Stop button
SETTING_CHANGED = "setting_changed"  # a control was changed during the run
PAGE_SWITCHED = "page_switched"  # the learner went to another page during the run
HEADER_STOP = "header_stop"  # Streamlit's Stop in the page header (or the tab was closed)

_CAUSE_TEXT = {
    STOP_BUTTON: "you pressed Stop",
    SETTING_CHANGED: "a setting changed during the run",
    PAGE_SWITCHED: "you switched to another page during the run",
    HEADER_STOP: "the run was stopped from Streamlit's Stop in the page header",
}

# A run "barely moved" when its loss fell by less than this fraction of the first loss.
BARELY_MOVED_FRACTION = 0.2
# Predictions count as one flat value when they vary by less than this fraction of the targets'
# range; "at the mean" when that value is within this fraction of the range from the mean.
FLAT_FRACTION = 0.1
MEAN_FRACTION = 0.15


def page_text(exc: BaseException) -> str | None:
    """The text an error carries for the page (`page_text`, e.g. engine.ShapeLimitReached), if
    any: other errors' own texts may hold server paths and never reach the page."""
    text = getattr(exc, "page_text", None)
    return text if isinstance(text, str) and text else None


def cause_text(cause: str | None) -> str:
    """Why a run was interrupted, as the end of a sentence ("because …")."""
    return _CAUSE_TEXT.get(cause, "the run was interrupted")


def describe_stop(result, cause: str | None = None) -> tuple[str, str] | None:
    """(level, message) explaining why a run ended early, or None when it ran to the end.

    `level` is "error" or "info" (a Streamlit alert kind); `cause` is one of the causes above
    (who stopped a run whose `stop_reason` is "stopped").
    """
    config = result.config
    done = result.epochs_completed
    if result.stop_reason == NON_FINITE_LOSS:
        smaller = max(config.learning_rate / 10, 1e-5)
        return (
            "error",
            f"The loss became NaN or infinite after epoch {done:,}, so training stopped there. The "
            f"curve up to that point is kept, and the predictions come from the last weights that "
            f"gave a finite loss. Try a smaller learning rate than {config.learning_rate:g} (for "
            f"example {smaller:g}).",
        )
    if result.stop_reason == STOPPED:
        return (
            "info",
            f"Training stopped after epoch {done:,} of {config.epochs:,} because {cause_text(cause)}. "
            "The partial curve and the predictions of that moment are kept; press Train to start again.",
        )
    return None


@dataclasses.dataclass(frozen=True)
class LossFall:
    """How far a loss curve fell: first and last loss, their ratio and the fall in percent."""

    first: float
    last: float

    @property
    def factor(self) -> float:
        """first / last: 10 means the loss is ten times smaller (inf when it reached 0)."""
        if self.last <= 0:
            return math.inf
        return self.first / self.last

    @property
    def percent(self) -> float:
        """How much of the first loss is gone, in percent (negative when the loss rose)."""
        return 100.0 * (self.first - self.last) / self.first if self.first > 0 else 0.0

    def text(self) -> str:
        """"loss 0.215 → 0.198: 1.09× lower (−8 %)", the summary shown beside a loss chart."""
        head = f"loss {self.first:.3g} → {self.last:.3g}"
        if self.last > self.first:
            return f"{head}: it rose by {self.last / self.first - 1:.0%}".replace("%", " %")
        if self.factor == math.inf:
            return f"{head}: down to zero"
        factor = f"{self.factor:,.0f}×" if self.factor >= 100 else f"{self.factor:.3g}×"
        # Never round a fall of 99.99 % up to a "100 %" that would mean zero loss.
        percent = f"{self.percent:.4g}" if self.percent > 99 else f"{self.percent:.3g}"
        return f"{head}: {factor} lower (−{percent} %)"


def loss_fall(losses) -> LossFall | None:
    """The fall from the first to the last finite loss; None with fewer than two finite losses."""
    values = np.asarray(losses, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return None
    return LossFall(float(values[0]), float(values[-1]))


def plateau_at_the_mean(result) -> float | None:
    """The one value the network predicts everywhere when it predicts (about) the targets' mean.

    That is what a network that gave up learns: the constant that minimises the squared error.
    Returns that value (the mean of the predictions), or None when the predictions follow the
    targets or sit somewhere else.
    """
    targets = np.asarray(result.targets, dtype=np.float64).reshape(-1)
    predictions = np.asarray(result.predictions, dtype=np.float64).reshape(-1)
    if targets.size < 2 or predictions.size != targets.size or not np.all(np.isfinite(predictions)):
        return None
    spread = float(np.ptp(targets))
    if spread <= 0:
        return None
    flat = float(np.ptp(predictions)) < FLAT_FRACTION * spread
    at_mean = abs(float(predictions.mean()) - float(targets.mean())) < MEAN_FRACTION * spread
    return float(predictions.mean()) if flat and at_mean else None


def barely_moved(result) -> bool:
    """Whether the loss fell by less than `BARELY_MOVED_FRACTION` of its first value."""
    fall = loss_fall(result.losses)
    return fall is not None and fall.last > (1 - BARELY_MOVED_FRACTION) * fall.first


def learning_hint(result) -> str | None:
    """What to try when a finished run learned little; None when it learned, or was cut short.

    Two cases, checked in this order:
    - plateau at the mean: every prediction is about the targets' mean (0.4 for the tutorial's
      sequence): the gates saturated, typically from too large a learning rate;
    - barely moved: the loss fell by less than a fifth: too small a learning rate or too few
      epochs (or, with a large rate, the same saturation).
    """
    if result.stop_reason is not None or result.epochs_completed < 2:
        return None
    if result.config.topology in TASKS[result.config.task].cannot_solve:
        return None  # no setting helps: the verdict says why (the task registry's note)
    rate = result.config.learning_rate
    mean = plateau_at_the_mean(result)
    if mean is not None:
        advice = (
            f"learning rate {rate:g} is large: the gates saturate and the network settles on the "
            "mean. Try 0.01 or smaller"
            if rate >= 0.05
            else "try another seed, more epochs or more units"
        )
        return (
            f"The network predicts about {mean:.2f} at every position: the mean of the sequence, the "
            f"best single value for a network that stopped learning. {advice[0].upper()}{advice[1:]}."
        )
    if barely_moved(result):
        fall = loss_fall(result.losses)
        if rate >= 0.05:
            advice = f"learning rate {rate:g} is large enough to saturate the gates: try 0.01 or smaller"
        else:
            advice = (
                f"learning rate {rate:g} moves the weights very little per step: try a larger one "
                "(0.001 to 0.01) or more epochs"
            )
        return f"The loss barely moved ({fall.text()}). {advice[0].upper()}{advice[1:]}."
    return None


__all__ = [
    "BARELY_MOVED_FRACTION", "HEADER_STOP", "LossFall", "NON_FINITE_LOSS", "PAGE_SWITCHED",
    "SETTING_CHANGED", "STOPPED", "STOP_BUTTON", "barely_moved", "cause_text", "describe_stop",
    "learning_hint", "loss_fall", "plateau_at_the_mean",
]
