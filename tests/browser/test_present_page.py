"""The Presenter page on a projector: a fresh server entered at `/?present=1&preset=delay` shows
that preset's story, pressed at 1280×720 both runs' charts and the loss fit the window with no
scrolling, their tick text is at least 16 px as the browser computes it, and the Presenter-mode
toggle gives the sidebar back.

The screenshot is test-artifacts/browser/present-1280x720.png.
"""

from __future__ import annotations

import re

import pytest

import harness

PROJECTOR = {"width": 1280, "height": 720}
MIN_TICK_PX = 16

_CHARTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => {
  const r = el.getBoundingClientRect();
  const t = el.layout && el.layout.title;
  const ticks = Array.from(el.querySelectorAll('.xtick text, .ytick text'));
  return {title: String((t && (t.text || t)) || '').replace(/<[^>]+>/g, ' ').trim(),
          x: r.x, y: r.y, width: r.width, height: r.height,
          ticks: ticks.length,
          tickPx: ticks.map(text => parseFloat(getComputedStyle(text).fontSize))};
})"""

_SCROLL_JS = """() => { const main = document.querySelector('[data-testid="stMain"]');
  return {scroll: main.scrollHeight, client: main.clientHeight, doc: document.documentElement.scrollHeight}; }"""


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_a_preset_on_a_projector_fits_one_screen_in_large_type(unprimed_server, tabs):
    # A fresh server whose very first request is the presenter link (no priming tab), with the
    # story the teacher put the class on.
    page = tabs.open(unprimed_server("present"), "/", present="1", preset="delay")
    page.set_viewport_size(PROJECTOR)
    button = harness.main_button(page, "Memory: delay")
    button.wait_for(state="visible", timeout=60_000)
    page.wait_for_function("() => window.location.pathname === '/present'", timeout=15_000)
    harness.wait_for_query(page, {"preset": "delay"})
    harness.expect(page.get_by_text("Press Memory: delay to train it.")).to_be_visible()
    # The page's style hides the sidebar once it is drawn: wait for it, do not sample it (a
    # loaded CI machine once looked a moment too early).
    harness.expect(page.get_by_test_id("stSidebar")).to_be_hidden(timeout=15_000)

    button.click()
    harness.wait_for_text(page, re.compile(r"not learned"), timeout=150_000)
    harness.wait_until_idle(page)
    harness.wait_for_figures(page, "(figures) => figures.length === 3 && figures.every(f => f.traces.every(t => t.y.length > 0))")
    page.mouse.move(0, 0)
    page.wait_for_timeout(500)
    page.screenshot(path=str(harness.ARTIFACTS / "present-1280x720.png"))

    charts = page.evaluate(_CHARTS_JS)
    assert [c["title"].split(" ")[0] for c in charts] == ["Training", "One-to-one", "Many-to-many"], charts
    for chart in charts:
        assert chart["x"] >= 0 and chart["x"] + chart["width"] <= PROJECTOR["width"], f"cut at a side: {chart}"
        assert chart["y"] >= 0 and chart["y"] + chart["height"] <= PROJECTOR["height"], f"below the fold: {chart}"
        assert chart["ticks"] >= 4 and min(chart["tickPx"]) >= MIN_TICK_PX, f"{chart['title']}: ticks {chart['tickPx']}"
    for left, right in zip(charts, charts[1:]):
        assert left["x"] + left["width"] <= right["x"] + 1, f"charts overlap: {left} {right}"
    scroll = page.evaluate(_SCROLL_JS)
    assert scroll["scroll"] <= scroll["client"] + 2 and scroll["doc"] <= PROJECTOR["height"] + 2, f"the page scrolls: {scroll}"
    story = page.get_by_text(re.compile(r"^It sees one value per sample")).first
    box = story.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PROJECTOR["height"], f"the explanation is below the fold: {box}"
    assert float(story.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 20

    # Leaving presenter mode: the Explorer, with its sidebar back.
    page.get_by_test_id("stMainBlockContainer").get_by_text("Presenter mode", exact=True).click()
    harness.wait_for_controls(page, timeout=60_000)
    harness.expect(page.get_by_test_id("stSidebar")).to_be_visible(timeout=15_000)
    tabs.assert_clean()
