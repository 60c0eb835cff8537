"""Streamlit code shared by the pages: the app's frame, controls, live charts and the run handle.

Not pages (Streamlit lists every file in pages/ as a page): dashboard.py is the entry and
names the pages; pages/*.py draw one page each with the pieces here; lstm_core computes.

- `shell`: entering the app from any URL, the page guard (plain messages, no tracebacks).
- `patches`: the one change to Streamlit's behaviour (Keras state kept between runs).
- `imports`: the heavy modules, imported in one place and in a safe order.
- `controls`: settings widgets from lstm_core's field table, kept across pages and in the URL.
- `live`: the progress line and loss chart updated while a run streams its losses.
- `runs`: the one handle for a run that a rerun may interrupt, used by every page.
"""

from app import imports as _imports
from app import patches as _patches

# Both happen once per process, on the first import of this package by any page, before any
# page starts TensorFlow's background import or finishes its first run.
_imports.preload()
_patches.keep_keras_state_between_runs()
