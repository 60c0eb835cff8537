"""Fault injection for tests: a NaN in the loss the engine reports, the weights left untouched.

Adam's bounded steps keep the echo runs finite even at the largest learning rate, so the
handling of a non-finite loss (stop at once, keep the history, rewind the weights, tell the
user) is driven by replacing one reported loss value with NaN.
"""

from __future__ import annotations

import numpy as np

from lstm_core import engine


def nan_loss_at(monkeypatch, bad_epoch: int) -> None:
    """From now on (for this test), the loss of global epoch `bad_epoch` comes back as NaN."""
    original_run = engine._CompiledShape.run

    def run_with_a_nan_loss(self, state, config, num_epochs, data, snapshot_at=()):
        new_state, losses, val_losses = original_run(self, state, config, num_epochs, data, snapshot_at)
        index = bad_epoch - state.epochs_done
        if 0 <= index < num_epochs:
            losses = losses.copy()
            losses[index] = np.nan
        return new_state, losses, val_losses

    monkeypatch.setattr(engine._CompiledShape, "run", run_with_a_nan_loss)
