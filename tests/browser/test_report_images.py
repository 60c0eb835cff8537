"""The HTML report's figures save as PNG and SVG in a real browser, offline (issue 13's exports).

The report is opened from a file with every http(s) request refused, as on a machine without
a network: the images are rendered by the plotly.js inlined in the report.
"""

from __future__ import annotations

import pytest

import lstm_core
from lstm_core import ExperimentConfig, exports


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_report_figures_save_as_png_and_svg_offline(request, browser, tmp_path):
    result = lstm_core.train(ExperimentConfig(task="delay", topology="many_to_many", sequence_length=4,
                                              num_sequences=8, epochs=20))
    report = tmp_path / "report.html"
    report.write_text(exports.run_report(result), encoding="utf-8")

    context = browser.new_context(accept_downloads=True)
    request.addfinalizer(context.close)
    outside = []

    def refuse(route):
        outside.append(route.request.url)
        route.abort()

    context.route("http*://**", refuse)
    page = context.new_page()
    page.goto(report.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    saved = {}
    for kind in exports.IMAGE_FORMATS:
        with page.expect_download(timeout=30_000) as download_info:
            page.get_by_role("button", name=f"Save as {kind.upper()}").first.click()
        download = download_info.value
        assert download.suggested_filename == f"figure-1.{kind}"
        saved[kind] = (tmp_path / download.suggested_filename)
        download.save_as(saved[kind])
    assert saved["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = saved["svg"].read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg") and "loss (MSE)" in svg  # the loss chart, as vectors
    assert page.get_by_role("button", name="Save as SVG").count() == 3  # one per figure
    assert outside == []
