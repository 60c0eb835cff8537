"""What the pages say about a run: its title, the sequence they show, and frames to replay it."""

from __future__ import annotations

import dataclasses

import numpy as np

import lstm_core
from lstm_core import TOPOLOGIES


def run_title(config) -> str:
    """What a chart title says about the run: topology, cell and task."""
    cell = lstm_core.CELLS[config.cell].label
    return f"{TOPOLOGIES[config.topology].label} ({cell}) · {lstm_core.TASKS[config.task].label}"


def shown_split(result) -> str:
    """The split a page shows: the held-out sequences when the task has some (what matters is
    unseen data), else the training ones."""
    return "validation" if result.has_validation else "train"


def shown_sequence(result, index: int = 0) -> tuple:
    """(targets, predictions, what they are) of the sequence a page shows (`index` of the shown
    split, clamped to the sequences there are)."""
    if getattr(result, "data", None) is None:
        return result.targets, result.predictions, ""
    split = shown_split(result)
    count = result.num_sequences(split)
    index = min(max(int(index), 0), count - 1)
    _, targets, predictions = result.sequence(index, split)
    if split == "validation":
        return targets, predictions, f" · held-out sequence {index + 1} of {count}"
    return targets, predictions, f" · training sequence {index + 1} of {count}" if count > 1 else ""


@dataclasses.dataclass(frozen=True)
class WatchedSequence:
    """One sequence of a config's data, framed for its topology, to draw predictions of while
    training: `model(X)` flattened gives its predictions, position by position."""

    X: np.ndarray
    targets: np.ndarray
    index: int
    split: str
    inputs: np.ndarray | None = None  # the sequence as the task drew it, before framing

    def predictions(self, model) -> np.ndarray | None:
        """The model's predictions for this sequence (None if the model's output does not fit)."""
        output = np.asarray(model(self.X, training=False), dtype=np.float64).reshape(-1)
        return output if output.size == self.targets.size else None


def watched_sequence(config, index: int = 0) -> WatchedSequence:
    """The sequence `shown_sequence` will show once the config's run is done (same split, same index)."""
    data = lstm_core.tasks.make_data(config)
    split = "validation" if data.has_validation else "train"
    inputs, targets = (data.val_inputs, data.val_targets) if split == "validation" else (data.train_inputs,
                                                                                          data.train_targets)
    index = min(max(int(index), 0), len(targets) - 1)
    X, _ = TOPOLOGIES[config.topology].frame(inputs[index:index + 1], targets[index:index + 1])
    return WatchedSequence(np.asarray(X, dtype=np.float32), np.asarray(targets[index], dtype=np.float64), index,
                           split, np.asarray(inputs[index], dtype=np.float64))


@dataclasses.dataclass(frozen=True)
class ReplayFrame:
    """How a run stood after `epoch` epochs: the real losses up to then and the predictions that
    the weights kept at that epoch (a snapshot) give for the shown sequence."""

    epoch: int
    losses: np.ndarray
    val_losses: np.ndarray
    predictions: np.ndarray


def replay_frames(result, index: int = 0) -> list[ReplayFrame]:
    """One frame per weight snapshot of the run (epoch 0, …, the last completed epoch): nothing
    is interpolated, each frame is the run as it was."""
    split = shown_split(result)
    count = result.num_sequences(split)
    index = min(max(int(index), 0), count - 1)
    n = len(result.sequence(index, split)[1])
    frames = []
    for snapshot in result.snapshots:
        predictions = np.asarray(result.predictions_at(snapshot, split), dtype=np.float64).reshape(-1, n)[index]
        frames.append(ReplayFrame(snapshot.epoch, np.asarray(result.losses[:snapshot.epoch]),
                                  np.asarray(result.val_losses[:snapshot.epoch]), predictions))
    return frames
