"""What the pages say about a finished run: its title, and the sequence they show."""

from __future__ import annotations

import lstm_core
from lstm_core import TOPOLOGIES


def run_title(config) -> str:
    """What a chart title says about the run: topology, cell and task."""
    cell = lstm_core.CELLS[config.cell].label
    return f"{TOPOLOGIES[config.topology].label} ({cell}) · {lstm_core.TASKS[config.task].label}"


def shown_sequence(result) -> tuple:
    """(targets, predictions, what they are) of the sequence a page shows: the first held-out
    one when the task has some (what matters is unseen data), else the first training one."""
    if getattr(result, "data", None) is None:
        return result.targets, result.predictions, ""
    split = "validation" if result.has_validation else "train"
    _, targets, predictions = result.sequence(0, split)
    if split == "validation":
        return targets, predictions, " · first held-out sequence"
    return targets, predictions, " · first training sequence" if result.num_sequences(split) > 1 else ""
