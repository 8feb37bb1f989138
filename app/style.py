"""The app's look: style.css, loaded into every page."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

CSS_FILE = Path(__file__).with_name("style.css")


def load_css() -> None:
    st.html(f"<style>{CSS_FILE.read_text()}</style>")
