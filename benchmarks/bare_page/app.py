"""The least a Streamlit page can be: a title and one components-v2 element, whose script notes when it
ran (window.__bareScriptRan, the page's clock). benchmarks/first_looks.py `--floor` times it: no chart of
any Streamlit page can be drawn before its element's script runs."""
from pathlib import Path

import streamlit as st

st.title("A bare page")
st.components.v2.component("bare.mark", js=Path(__file__).with_name("mark.js").read_text(encoding="utf-8"))(
    key="mark", height=0)
