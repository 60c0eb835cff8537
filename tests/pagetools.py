"""Helpers for AppTest page tests: start the app, read Plotly figures back from the page."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")


def app(query: dict[str, str] | None = None, timeout: float = 120) -> AppTest:
    """A fresh AppTest session of the dashboard (main page), optionally with URL parameters."""
    at = AppTest.from_file(DASHBOARD, default_timeout=timeout)
    if query:
        at.query_params.update(query)
    return at


def decode(values) -> np.ndarray:
    """A Plotly array from the page's JSON: a list, or numpy's {"dtype", "bdata"} base64 form."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
    return np.asarray(values, dtype=np.float64)


def figures(at: AppTest) -> list[dict]:
    """Every Plotly figure on the page, as the JSON the browser receives."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def traces(figure: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name → (x, y) of each trace of a figure."""
    return {trace.get("name"): (decode(trace["x"]), decode(trace["y"])) for trace in figure["data"]}


def figure_titled(at: AppTest, prefix: str) -> dict:
    """The one figure whose title starts with `prefix`."""
    found = [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith(prefix)]
    assert len(found) == 1, f"expected one figure titled {prefix!r}, found {len(found)}"
    return found[0]


def click(at: AppTest, label: str) -> AppTest:
    buttons = [b for b in at.button if b.label == label]
    assert buttons, f"no button labelled {label!r}; buttons: {[b.label for b in at.button]}"
    buttons[0].click()
    return at.run()


def url_params(at: AppTest) -> dict[str, str]:
    """The page's URL query parameters as a flat dict of strings."""
    return {key: value if isinstance(value, str) else value[-1] for key, value in at.query_params.items()}
