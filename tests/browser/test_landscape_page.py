"""The Landscape page in a real browser: a shared grid link entered first on a fresh server
trains the grid, fills one heatmap per topology, and a click on a cell opens that run in the
Explorer with the cell's settings."""

from __future__ import annotations

import re

import pytest

import harness

GRID = {
    "task": "echo",
    "topologies": "many_to_one,many_to_many",
    "units": "2,5",
    "learning_rates": "0.01,0.1",
    "epochs": "40",
    "seed": "3",
}


def _cell_values(page) -> list[list]:
    """Each heatmap's z values as drawn (None where a cell is empty or not finite)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(el =>
               (el._fullData || []).filter(t => t.type === 'heatmap').flatMap(t => t.z.flatMap(row =>
                   Array.from(row).map(v => Number.isFinite(v) ? v : null))))"""
    )


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_a_grid_link_on_a_fresh_server_trains_and_a_cell_opens_in_the_explorer(unprimed_server, tabs):
    page = tabs.open(unprimed_server("landscape-first"), "/landscape", **GRID)
    harness.check_app_frame(page)
    train = harness.main_button(page, "Train grid")
    train.wait_for(state="visible", timeout=60_000)
    # The grid came from the link, and the page wrote it back to the URL unchanged.
    harness.wait_for_query(page, GRID)
    harness.expect(page.get_by_text("8 runs of 40 epochs.")).to_be_visible()
    train.click()
    harness.wait_for_text(page, re.compile(r"^8 of 8 runs · "), timeout=150_000)
    harness.wait_until_idle(page, timeout=60_000)
    values = _cell_values(page)
    assert len(values) == 8, values  # two heatmaps of 2 units × 2 learning rates
    assert all(isinstance(value, (int, float)) for value in values), values  # every cell filled, finite
    assert page.locator(harness.FAILURE_SELECTOR).count() == 0
    harness.screenshot(page, "landscape-page-grid")

    # A click on a cell of the second heatmap (many-to-many): its invisible markers carry the click.
    chart = page.locator(".st-key-landscape_chart .js-plotly-plot")
    points = chart.locator(".scatterlayer .trace").nth(1).locator("path.point")
    harness.expect(points).to_have_count(4)
    box = points.nth(3).bounding_box()  # the last cell: units 5, learning rate 0.1
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    harness.main_button(page, "Train").wait_for(state="visible", timeout=30_000)
    harness.wait_for_query(page, {"topology": "many_to_many", "units": "5", "learning_rate": "0.1",
                                  "epochs": "40", "seed": "3"})
    assert page.locator(harness.EXCEPTION_SELECTOR).count() == 0
    tabs.assert_clean()
