"""The app's frame: the same app from any URL, and a guard that turns failures into messages.

Streamlit puts an app with a `pages/` folder in "pages directory" mode until `st.navigation`
runs: on a freshly started server whose first request is a page's URL (a shared link to
/compare), Streamlit runs that page's file alone, under a navigation it builds from the
folder, without the entry script's page config and safeguards. So every page file ends with
`shell.page(draw, name)`: inside the app's own navigation it draws the page; run any other
way it runs the app's entry (dashboard.main: page config, safeguards, the real navigation),
which then runs this page again, now inside the navigation.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Sequence

import streamlit as st

from app import controls, runs
from lstm_core import diagnosis

TITLE = "LSTM explorer"
ICON = "🔁"
PRESENTER_PATH = "present"  # pages/present.py's URL path

_logger = logging.getLogger(__name__)
# Set while the app's navigation runs a page in this thread (each session's script run has
# its own thread): how a page file tells "inside the app" from "run alone by Streamlit".
_inside = threading.local()


def run(pages: Sequence) -> None:
    """The app's entry: page config, safeguards, the navigation, then the page of the URL."""
    st.set_page_config(page_title=TITLE, page_icon=ICON, layout="wide")
    navigation = st.navigation(list(pages))
    # `?present=1` on any page's URL (a link for the projector) opens the presenter page.
    presenter = next((page for page in pages if page.url_path == PRESENTER_PATH), None)
    if st.query_params.get("present") == "1" and presenter is not None and navigation.url_path != PRESENTER_PATH:
        st.switch_page(presenter, query_params=st.query_params.to_dict())  # e.g. a preset= to show
    _inside.active = True
    try:
        navigation.run()
    finally:
        _inside.active = False


def inside_app() -> bool:
    """Whether this script run is inside the app's own navigation (see the module docstring)."""
    return getattr(_inside, "active", False)


def page(draw: Callable[[], None], name: str) -> None:
    """The last line of every page file: draw the page inside the app, else enter the app."""
    if not inside_app():
        import dashboard  # the entry; importing it runs nothing (its main() is for `streamlit run`)

        dashboard.main()
        return
    controls.note_page(name)
    runs.note_page_visit(name)
    guarded(draw, name)


def guarded(draw: Callable[[], None], name: str) -> None:
    """Draw; an unexpected error becomes a short message (the server log has the traceback)."""
    try:
        draw()
    except Exception as exc:  # noqa: BLE001 - Streamlit's rerun/stop signals are not Exceptions
        _logger.exception("The %s page failed", name)
        st.error(failure_message(exc, "this page"), icon="⚠️")


def failure_message(exc: BaseException, what: str) -> str:
    """What a learner reads when something fails: the kind of error and what to try, no paths.

    The exception's own text may hold server file paths and source lines (TensorFlow's do), so
    it never reaches the page; the server log has it. An exception with a `page_text` (written
    for the page, e.g. lstm_core.engine.ShapeLimitReached) is shown as it is.
    """
    explained = diagnosis.page_text(exc)
    if explained is not None:
        return explained
    return (
        f"Something went wrong in {what} ({type(exc).__name__}). Press the button again or change a "
        "setting; if it keeps happening, tell whoever runs the server (its log has the details)."
    )
