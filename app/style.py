"""The app's look: style.css, loaded into every page, and the sidebar folded on a narrow window
(style.js: Streamlit folds it only below 768 px, where a 300 px sidebar leaves a 1000 px window's
Explorer too little room)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

CSS_FILE = Path(__file__).with_name("style.css")
THUMBS_CSS_FILE = Path(__file__).with_name("sample_grid.css")  # rows of thumbnails, clickable or not

_fold_sidebar = st.components.v2.component(
    "layerscope.fold_sidebar", js=Path(__file__).with_name("style.js").read_text(encoding="utf-8"))


def load_css() -> None:
    st.html(f"<style>{CSS_FILE.read_text()}{THUMBS_CSS_FILE.read_text()}</style>")
    _fold_sidebar(key="fold_sidebar", height=0)
