"""lstm_core.plots: downsampled loss lines, clean log ticks, the clipping note."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_core import plots


def test_short_histories_are_drawn_whole():
    x, y = plots.display_points([0.3, 0.2, 0.1])
    assert list(x) == [1, 2, 3] and list(y) == [0.3, 0.2, 0.1]


def test_long_histories_keep_each_buckets_extremes_and_the_last_epoch():
    rng = np.random.default_rng(0)
    losses = np.geomspace(0.3, 1e-4, 20_000) * rng.uniform(0.5, 1.5, 20_000)
    losses[12_345] = 5.0  # a spike must survive the downsampling
    x, y = plots.display_points(losses, max_points=800)
    assert len(x) <= 800 and x[-1] == 20_000 and y[-1] == losses[-1]
    assert 12_346 in x and y.max() == 5.0 and y.min() == losses.min()
    np.testing.assert_array_equal(y, losses[x - 1])  # the points drawn are real epochs' losses
    assert np.all(np.diff(x) > 0)


def test_log_axis_ticks_are_decades_in_superscript():
    axis, note = plots.loss_axis([np.geomspace(0.3, 2e-5, 100)])
    assert note is None
    assert axis["ticktext"] == ["10⁻⁵", "10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "10⁰"]
    assert axis["tickvals"] == pytest.approx([1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    low, high = axis["range"]
    assert low < np.log10(2e-5) and high > np.log10(0.3)


def test_a_loss_within_one_decade_gets_plain_values_not_digits():
    axis, _ = plots.loss_axis([np.linspace(0.215, 0.198, 50)])
    assert axis["ticktext"] == ["0.19", "0.2", "0.21", "0.22"]
    low, high = axis["range"]
    assert all(low <= np.log10(tick) <= high for tick in axis["tickvals"])


def test_a_curve_far_below_the_others_is_clipped_with_a_note():
    axis, note = plots.loss_axis([np.geomspace(0.3, 1e-13, 100), np.geomspace(0.3, 1e-3, 100)])
    assert axis["range"][0] > -7.5 and "10⁻⁷" in note and "1.0e-13" in note


def test_linear_axis_is_plotly_automatic():
    axis, note = plots.loss_axis([[0.3, 0.1]], log_y=False)
    assert axis["type"] == "linear" and axis["autorange"] and note is None
