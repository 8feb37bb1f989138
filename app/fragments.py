"""Widgets outside every fragment, changed in a fragment's run.

Streamlit's browser sends the widget changes of one moment as one message, and when one of them is a
fragment's trigger (the map's hover reaching the inspector, a zoom reaching the map's pictures, the
gallery's poll) the message runs only that fragment: a tab clicked then would show its name and nothing
under it, a control would hold a value the page was not drawn with. A widget outside the fragments takes
`page_widget` as its on_change (on_click): its callbacks run before the fragment does, and a whole-page
run takes the fragment's place.

Not a widget whose value the server itself sets as the person works (the sidebar's layer select follows a
map click, the channel input a gallery tile): a message the browser sent before it had the new value
carries the old one back, and a whole-page run would show the old layer or channel again.
"""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx


def in_fragment_run() -> bool:
    """Whether this run is a fragment's (a widget callback may ask it)."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def run_page_if_fragment() -> None:
    """In a widget's callback: run the whole page instead when this run is a fragment's (st.rerun from a
    callback takes the place of the run under way)."""
    if in_fragment_run():
        st.rerun(scope="app")


def page_widget(callback: Callable[..., None] | None = None) -> Callable[..., None]:
    """The on_change (on_click) of a widget outside every fragment: `callback` (if any, with the widget's
    args), then `run_page_if_fragment`."""
    def changed(*args, **kwargs) -> None:
        if callback is not None:
            callback(*args, **kwargs)
        run_page_if_fragment()
    return changed
