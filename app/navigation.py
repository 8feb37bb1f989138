"""The app's pages as one navigation, so that an entrypoint outside the repository root can serve them.

`streamlit run Home.py` finds `pages/` beside Home.py by itself. Community Cloud needs an entrypoint in
its own folder (`deploy/`, where its dependency file is found first), so that entrypoint lists the
pages explicitly; page links then go through `link`, which names a page relative to whichever
entrypoint is running.
"""
from __future__ import annotations

import os

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from catalog.paths import REPO_ROOT

PAGES = ("Home.py", "pages/1_Explorer.py", "pages/2_SQL.py", "pages/3_About.py", "pages/4_Compare_models.py")


def run_pages() -> None:
    """Serve every page (Home first) from an entrypoint anywhere in the repository."""
    pages = [st.Page(REPO_ROOT / page, default=page == PAGES[0]) for page in PAGES]
    st.navigation(pages).run()


def link(page: str) -> str:
    """`page` (relative to the repository root) as st.page_link wants it: relative to the entrypoint."""
    ctx = get_script_run_ctx()
    if ctx is None or not ctx.main_script_path:
        return page
    return os.path.relpath(REPO_ROOT / page, os.path.dirname(os.path.abspath(ctx.main_script_path)))
