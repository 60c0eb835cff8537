"""Shared test set-up: the project root on sys.path, quiet TensorFlow."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# No shape is compiled ahead in the background under a test that counts compiled shapes;
# tests/test_prefetch.py turns it on for itself, and the browser tests' servers have it on.
os.environ["LSTM_DASHBOARD_PREFETCH"] = "0"


def pytest_configure(config):
    # As .streamlit/config.toml does for the server: AppTest sessions compile the page in
    # parallel threads, and ast.parse (used only for "magic") races in CPython 3.11.7.
    from streamlit import config as streamlit_config

    streamlit_config.set_option("runner.magicEnabled", False)
