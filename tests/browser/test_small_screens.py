"""A projector (1280×720) and a phone (390×844): what must be on screen, and nothing on top of it.

Screenshots of each page at both sizes go to test-artifacts/browser/ for a person to look at.
"""

from __future__ import annotations

import re

import pytest

import harness

PROJECTOR = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}


def _box(page, locator) -> dict:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not rendered"
    return box


def _boxes(page, prefix: str) -> list[dict]:
    """Bounding boxes (in the window) of the charts whose title starts with `prefix`, with the
    title's own box, read in the browser."""
    return page.evaluate(
        """(prefix) => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(el => {
              const t = el.layout && el.layout.title; const text = String((t && (t.text || t)) || '').replace(/<[^>]+>/g, '');
              return text.startsWith(prefix); }).map(el => {
              const r = el.getBoundingClientRect(); const title = el.querySelector('.gtitle');
              const tr = title ? title.getBoundingClientRect() : null;
              const bar = el.querySelector('.modebar'); const br = bar ? bar.getBoundingClientRect() : null;
              return {x: r.x, y: r.y, width: r.width, height: r.height,
                      title: tr && {x: tr.x, y: tr.y, width: tr.width, height: tr.height},
                      modebar: br && br.width > 0 && br.height > 0 ? {x: br.x, y: br.y, width: br.width, height: br.height} : null};
           })""", prefix)


def _overlap(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def _train(page) -> None:
    harness.wait_for_controls(page)
    harness.wait_until_idle(page)
    harness.main_button(page, "Train").click()
    harness.wait_for_text(page, re.compile(r"^epoch 300 / 300 · loss"), timeout=60_000)
    harness.wait_until_idle(page)
    harness.wait_for_figures(page, "(figures, arg, titleOf) => figures.some(f => titleOf(f).startsWith('Target vs prediction'))")
    page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")
    page.wait_for_timeout(500)


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_a_projector_shows_the_loss_and_the_prediction_together(app_server, tabs):
    page = tabs.open(app_server, "/", epochs="300")
    page.set_viewport_size(PROJECTOR)
    _train(page)
    (loss,) = _boxes(page, "Training loss")
    (prediction,) = _boxes(page, "Target vs prediction")
    for name, box in (("loss chart", loss), ("prediction chart", prediction)):
        assert box["y"] >= 0 and box["y"] + box["height"] <= PROJECTOR["height"], f"the {name} is not above the fold: {box}"
        assert box["x"] + box["width"] <= PROJECTOR["width"], f"the {name} is cut on the right: {box}"
    assert not _overlap(loss, prediction)
    page.screenshot(path=str(harness.ARTIFACTS / "projector-1280x720-explorer.png"))
    tabs.assert_clean()


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_a_phone_shows_readable_charts_with_nothing_over_their_titles(app_server, tabs):
    page = tabs.open(app_server, "/", epochs="300")
    page.set_viewport_size(PHONE)
    _train(page)
    charts = _boxes(page, "Training loss") + _boxes(page, "Target vs prediction")
    assert len(charts) == 2
    for box in charts:
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, f"a chart is wider than the phone: {box}"
        assert box["width"] >= 300, f"a chart is too narrow to read: {box}"
        assert box["modebar"] is None or box["title"] is None or not _overlap(box["modebar"], box["title"]), box
    assert not _overlap(charts[0], charts[1])
    page.screenshot(path=str(harness.ARTIFACTS / "phone-390x844-explorer.png"), full_page=False)
    harness.screenshot(page, "phone-390x844-explorer-whole")
    tabs.assert_clean()


@pytest.mark.browser
@pytest.mark.timeout(180)
@pytest.mark.parametrize("size, name", [(PROJECTOR, "projector-1280x720"), (PHONE, "phone-390x844")])
def test_compare_shows_its_chart_first_and_panels_that_fit(app_server, tabs, size, name):
    page = tabs.open(app_server, "/compare", topologies="one_to_one,many_to_one,many_to_many",
                     budget="equal", epochs="100")
    page.set_viewport_size(size)
    train_all = harness.main_button(page, "Train all")
    train_all.wait_for(state="visible", timeout=60_000)
    harness.wait_until_idle(page)
    train_all.click()
    harness.wait_for_text(page, re.compile(r"^Epochs: .*100/100.*100/100.*100/100$"), timeout=90_000)
    harness.wait_until_idle(page)
    page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")
    harness.wait_for_figures(page, "(figures, arg, titleOf) => figures.some(f => titleOf(f).startsWith('Training loss per topology'))")
    page.wait_for_timeout(500)
    (loss,) = _boxes(page, "Training loss per topology")
    assert loss["x"] >= 0 and loss["x"] + loss["width"] <= size["width"] + 1, loss
    if size is PROJECTOR:
        assert loss["y"] + loss["height"] <= size["height"], f"the loss chart is not on the first screen: {loss}"
    panels = page.evaluate("() => Array.from(document.querySelectorAll('[class*=\"st-key-compare_prediction_\"] .js-plotly-plot'))"
                           ".map(el => el.getBoundingClientRect().toJSON())")
    assert len(panels) == 3
    for panel in panels:
        assert panel["x"] >= 0 and panel["x"] + panel["width"] <= size["width"] + 1, panel
    page.screenshot(path=str(harness.ARTIFACTS / f"{name}-compare.png"))
    tabs.assert_clean()
