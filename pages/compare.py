"""The side-by-side topology comparison page (in progress)."""

import streamlit as st

st.title("⚖️ Compare topologies")
st.info("Coming soon.")
