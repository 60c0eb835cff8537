"""The LSTM explorer: pick a task and a topology, train it live, see what it learned and why.

Run with `make run` (or `streamlit run dashboard.py`). This file is the app's entry: the list
of pages. pages/explorer.py and pages/compare.py draw them; app/ holds what they share.
A page file entered on its own (a fresh server whose first request is that page's URL) runs
`main()` too (app/shell.py says why), so every URL gives this same app.
"""

from __future__ import annotations

import streamlit as st

from app import shell


def pages() -> list:
    return [
        st.Page("pages/explorer.py", title="Explorer", icon="🔁", default=True),
        st.Page("pages/compare.py", title="Compare topologies", icon="⚖️"),
        st.Page("pages/lessons.py", title="Lessons", icon="🎓"),
        st.Page("pages/inside.py", title="Inside the network", icon="🔬"),
        st.Page("pages/landscape.py", title="Landscape", icon="🗺️"),
        st.Page("pages/present.py", title="Presenter", icon="📽️"),
    ]


def main() -> None:
    shell.run(pages())


if __name__ == "__main__":
    main()
