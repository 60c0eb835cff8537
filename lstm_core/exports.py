"""Exports of a run or a comparison that open offline: CSV text, a `.keras` file, a one-file HTML report.

Pure (no Streamlit): the pages hand these bytes or text to a download button. The HTML
report inlines Plotly's JavaScript once, so it opens in a classroom without a network: it
loads nothing from outside (no `<script src=…>`, no `<link href=…>` to another host).
"""

from __future__ import annotations

import html
import os
import tempfile
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from lstm_core import plots
from lstm_core.config import FIELDS
from lstm_core.topologies import TOPOLOGIES

LOSS_COLUMNS = ("epoch", "loss", "val_loss")
PREDICTION_COLUMNS = ("split", "sequence", "position", "input", "target", "prediction")


# --------------------------------------------------------------------------- CSV


def loss_table(result) -> pd.DataFrame:
    """One row per completed epoch: epoch (from 1), training loss, validation loss (empty without one)."""
    losses = np.asarray(result.losses, dtype=np.float64)
    val = np.full(len(losses), np.nan)
    val_losses = np.asarray(result.val_losses, dtype=np.float64)
    val[: len(val_losses)] = val_losses[: len(losses)]
    return pd.DataFrame({"epoch": np.arange(1, len(losses) + 1), "loss": losses, "val_loss": val},
                        columns=list(LOSS_COLUMNS))


def loss_csv(result) -> str:
    return loss_table(result).to_csv(index=False)


def prediction_table(result) -> pd.DataFrame:
    """One row per (split, sequence, position): the input, the target and the final prediction."""
    rows = []
    splits = ("train", "validation") if result.has_validation else ("train",)
    for split in splits:
        for index in range(result.num_sequences(split)):
            inputs, targets, predictions = result.sequence(index, split)
            for position in range(len(targets)):
                rows.append((split, index, position, float(inputs[position]) if position < len(inputs) else np.nan,
                             float(targets[position]), float(predictions[position])))
    return pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS))


def prediction_csv(result) -> str:
    return prediction_table(result).to_csv(index=False)


def table_csv(rows: Sequence[Mapping]) -> str:
    """A comparison table (a list of dict rows, as `lstm_core.compare.table_rows` gives) as CSV."""
    return pd.DataFrame(list(rows)).to_csv(index=False)


# --------------------------------------------------------------------------- the model


def model_bytes(model) -> bytes:
    """The trained model as the bytes of a `.keras` file (`keras.models.load_model` reads it back)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        with open(path, "rb") as file:
            return file.read()


def model_filename(config) -> str:
    return f"{config.task}_{config.topology}_{config.cell}_seed{config.seed}.keras"


# --------------------------------------------------------------------------- HTML


def settings_rows(config) -> list[tuple[str, str]]:
    """(setting, value) for the settings that matter to the config's task."""
    return [(name, str(getattr(config, name))) for name in FIELDS if config.applies(name)]


def run_figures(result, title: str = "") -> list:
    """The loss curve (training, and validation where there is one) and the first sequence's target vs prediction."""
    color = TOPOLOGIES[result.config.topology].color
    series = [("training", color)] + ([("validation", "#7f7f7f")] if result.has_validation else [])
    loss = plots.loss_figure(series, title=f"{title}Loss".strip())
    plots.set_losses(loss, 0, np.asarray(result.losses))
    if result.has_validation:
        plots.set_losses(loss, 1, np.asarray(result.val_losses))
    figures = [loss]
    splits = ("train", "validation") if result.has_validation else ("train",)
    for split in splits:
        _, targets, predictions = result.sequence(0, split)
        name = "training sequence 1" if split == "train" else "validation sequence 1"
        figures.append(plots.prediction_figure(targets, predictions, title=f"{title}Target vs prediction, {name}",
                                               color=color))
    return figures


class _Figures:
    """Writes figures to HTML, Plotly's JavaScript inlined with the first one only.

    Under each figure, PNG and SVG buttons save it as an image: Plotly.downloadImage renders
    it in the reader's browser, so the images need nothing on the server and no network.
    """

    def __init__(self):
        self.first = True
        self.count = 0

    def __call__(self, figure) -> str:
        self.count += 1
        div_id = f"figure-{self.count}"
        text = figure.to_html(include_plotlyjs=self.first, full_html=False, div_id=div_id,
                              config={"displaylogo": False})
        self.first = False
        buttons = "".join(
            f"<button type=\"button\" onclick=\"Plotly.downloadImage('{div_id}', "
            f"{{format: '{kind}', filename: '{div_id}', width: 1000, height: 500}})\">Save as {kind.upper()}</button> "
            for kind in IMAGE_FORMATS)
        return f"{text}<p class=\"save\">{buttons}</p>"


# What a report's figures can be saved as, from the reader's browser.
IMAGE_FORMATS = ("png", "svg")


def _table(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


_STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
          "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}")


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>")


def _summary_rows(result) -> list[tuple[str, str]]:
    rows = [("epochs completed", str(result.epochs_completed)), ("final training MSE", _cell(result.final_mse))]
    if result.has_validation:
        rows.append(("final validation MSE", _cell(result.val_mse)))
    rows.append(("seconds", f"{result.seconds:.3f}"))
    return rows


def run_report(result, title: str = "LSTM explorer: a run") -> str:
    """One self-contained HTML page: settings, results, loss curve and target vs prediction."""
    write = _Figures()
    config = result.config
    parts = [f"<p>{html.escape(TOPOLOGIES[config.topology].label)}, task {html.escape(config.task)}, "
             f"cell {html.escape(config.cell)}</p>",
             "<h2>Settings</h2>", _table(("setting", "value"), settings_rows(config)),
             "<h2>Results</h2>", _table(("measure", "value"), _summary_rows(result)),
             "<h2>Charts</h2>", *(write(figure) for figure in run_figures(result))]
    return _page(title, "".join(parts))


def comparison_report(results: Sequence, rows: Sequence[Mapping] | None = None,
                      title: str = "LSTM explorer: a comparison") -> str:
    """One self-contained HTML page for several runs: one loss chart, a panel per run, the table."""
    write = _Figures()
    loss = plots.loss_figure([(TOPOLOGIES[r.config.topology].label, TOPOLOGIES[r.config.topology].color)
                              for r in results], title="Training loss")
    for index, result in enumerate(results):
        plots.set_losses(loss, index, np.asarray(result.losses))
    parts = ["<h2>Loss</h2>", write(loss)]
    if rows:
        parts += ["<h2>Table</h2>", _table(list(rows[0].keys()), [list(row.values()) for row in rows])]
    for result in results:
        label = TOPOLOGIES[result.config.topology].label
        parts += [f"<h2>{html.escape(label)}</h2>", _table(("setting", "value"), settings_rows(result.config)),
                  _table(("measure", "value"), _summary_rows(result))]
        parts += [write(figure) for figure in run_figures(result, title=f"{label}: ")[1:]]
    return _page(title, "".join(parts))
