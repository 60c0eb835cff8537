"""app.controls' reliance on Streamlit internals: fail here, not in a classroom, when a new
Streamlit version changes them."""

from __future__ import annotations

import dataclasses
import pathlib

import streamlit
from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext

from app import controls


def test_streamlit_flags_back_and_forward_reruns():
    """`controls.history_navigation` reads the flag the frontend sets on popstate; both ends must
    still carry it (tests/browser/test_keeping_up.py's Back test checks it end to end)."""
    assert "is_history_navigation" in {field.name for field in dataclasses.fields(ScriptRunContext)}
    bundles = pathlib.Path(streamlit.__file__).parent / "static" / "static" / "js"
    assert any("isHistoryNavigation" in path.read_text(errors="ignore") for path in bundles.glob("index.*.js"))


def test_outside_a_script_run_nothing_is_a_history_navigation():
    assert controls.history_navigation() is False
