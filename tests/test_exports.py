"""Exports (lstm_core/exports.py): each one read back the way a teacher's tools would read it."""

from __future__ import annotations

import base64
import html.parser
import io
import re

import keras
import numpy as np
import pandas as pd
import pytest

import lstm_core
from lstm_core import ExperimentConfig, compare, exports


@pytest.fixture(scope="module")
def echo_run():
    return lstm_core.train(ExperimentConfig(task="echo", topology="many_to_many", epochs=50))


@pytest.fixture(scope="module")
def delay_run():
    return lstm_core.train(ExperimentConfig(task="delay", topology="many_to_many", epochs=5, num_sequences=40))


def test_loss_csv_reads_back_the_losses(delay_run):
    table = pd.read_csv(io.StringIO(exports.loss_csv(delay_run)))
    assert list(table.columns) == ["epoch", "loss", "val_loss"]
    assert table["epoch"].tolist() == list(range(1, 6))
    np.testing.assert_allclose(table["loss"], delay_run.losses, rtol=1e-6)
    np.testing.assert_allclose(table["val_loss"], delay_run.val_losses, rtol=1e-6)


def test_loss_csv_without_validation_leaves_it_empty(echo_run):
    table = pd.read_csv(io.StringIO(exports.loss_csv(echo_run)))
    assert len(table) == 50 and table["val_loss"].isna().all()


def test_prediction_csv_reads_back_both_splits(delay_run):
    table = pd.read_csv(io.StringIO(exports.prediction_csv(delay_run)))
    n = delay_run.config.sequence_length
    train, validation = table[table.split == "train"], table[table.split == "validation"]
    assert len(train) == delay_run.num_sequences("train") * n
    assert len(validation) == delay_run.num_sequences("validation") * n
    np.testing.assert_allclose(train["prediction"], delay_run.predictions.reshape(-1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(validation["target"], delay_run.val_targets.reshape(-1), rtol=1e-5, atol=1e-7)
    inputs, _, _ = delay_run.sequence(3, "validation")
    rows = validation[validation.sequence == 3].sort_values("position")
    np.testing.assert_allclose(rows["input"], inputs, rtol=1e-5, atol=1e-7)


def test_comparison_table_csv_round_trips():
    rows = [{"topology": "One-to-one", "parameters": 146, "final MSE": 1.5e-3},
            {"topology": "Many-to-one", "parameters": 170, "final MSE": None}]
    table = pd.read_csv(io.StringIO(exports.table_csv(rows)))
    assert table["parameters"].tolist() == [146, 170]
    assert table["final MSE"][0] == pytest.approx(1.5e-3) and np.isnan(table["final MSE"][1])


def test_keras_file_gives_the_same_predictions(echo_run):
    data = exports.model_bytes(echo_run.model)
    assert data[:2] == b"PK"  # a .keras file is a zip
    path = "/tmp/test_exports_model.keras"
    with open(path, "wb") as file:
        file.write(data)
    loaded = keras.models.load_model(path)
    X = echo_run.data.X
    np.testing.assert_allclose(loaded.predict(X, verbose=0), echo_run.model.predict(X, verbose=0), atol=1e-6)
    np.testing.assert_allclose(loaded.predict(X, verbose=0).reshape(-1), echo_run.predictions.reshape(-1), atol=1e-5)


class _Attributes(html.parser.HTMLParser):
    """Collects the src/href of the page's real tags (a script's text, plotly.js's strings, is not parsed)."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.links += [value or "" for name, value in attrs if name in ("src", "href")]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def _outside_requests(page: str) -> list[str]:
    """What the browser would fetch from another host: src/href of tags, url()/@import in <style>."""
    parser = _Attributes()
    parser.feed(page)
    found = [link for link in parser.links if re.match(r"\s*(https?:)?//", link, flags=re.IGNORECASE)]
    found += [s for s in parser.styles if re.search(r"url\(|@import", s)]
    return found


def test_run_report_is_one_offline_file_with_the_figures(delay_run):
    page = exports.run_report(delay_run)
    assert page.count("<script") >= 3 and page.count("Plotly.newPlot") == 3  # loss + two prediction charts
    assert len(page) > 1_000_000  # plotly.js itself is in the file
    assert not _outside_requests(page)
    assert "cdn.plot.ly" not in page.split("Plotly.newPlot")[-1]
    # the figures' data, as Plotly writes numpy arrays (base64 of the values)
    for values in (delay_run.losses, delay_run.val_losses, delay_run.sequence(0, "validation")[2]):
        for dtype in (np.float64, np.float32):
            encoded = base64.b64encode(np.asarray(values, dtype).tobytes()).decode()
            if encoded.replace("/", "\\u002f") in page:  # Plotly escapes "/" inside <script>
                break
        else:
            raise AssertionError(f"values {values} not in the report")
    assert "Target vs prediction, validation sequence 1" in page
    assert f"<td>{delay_run.config.delay}</td>" in page


def test_comparison_report_has_one_panel_per_run_and_no_outside_request():
    configs = [ExperimentConfig(topology=key, epochs=20) for key in ("one_to_one", "many_to_one")]
    results = [lstm_core.train(config) for config in configs]
    rows = compare.table_rows([compare.entry_from_result(r, name=r.config.topology) for r in results], 1e-3)
    page = exports.comparison_report(results, rows)
    assert page.count("Plotly.newPlot") == 3
    assert page.count("<table>") == 1 + 2 * len(results)
    assert not _outside_requests(page)


def test_outside_request_check_catches_a_cdn_script():
    assert _outside_requests('<script src="https://cdn.plot.ly/plotly-2.js"></script>')
    assert _outside_requests("<link rel=stylesheet href=//fonts.example/x.css>")
    assert not _outside_requests('<a href="#top">top</a>')
