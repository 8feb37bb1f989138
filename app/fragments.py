"""Widgets outside every fragment, changed in a fragment's run.

Streamlit's browser sends the widget changes of one moment as one message, and when one of them is a
fragment's trigger (the map's hover reaching the inspector, a zoom reaching the map's pictures, the
gallery's poll) the message runs only that fragment: a tab clicked then would show its name and nothing
under it, a control would hold a value the page was not drawn with. A widget outside the fragments takes
`page_widget` as its on_change (on_click): its callbacks run before the fragment does, and a whole-page
run takes the fragment's place.

A widget whose value the server itself sets as the person works (the sidebar's layer select follows a
map click, the channel input a gallery tile or a heatmap column) takes `server_set_widget` instead: a
message the browser sent before it had the server's value (for the channel input, any message until a
page run draws it again) carries the old value back as a change, and would show the old layer or channel
at the next page run. The server's value is remembered (`set_widget`) and put back, in a fragment's run
or before a page run has drawn the widget with it (`drawn`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


SERVER_SET = "_server_set_widgets"  # widget key -> [the value the server last gave it, drawn with it since]


def set_widget(key: str, value: Any) -> None:
    """Give a widget a value from the server (before it is drawn in this run, or from a fragment's run
    for a widget outside it), remembered for `server_set_widget` until the page draws it (`drawn`)."""
    st.session_state[key] = value
    st.session_state.setdefault(SERVER_SET, {})[key] = [value, False]


def drawn(key: str) -> None:
    """After the widget is drawn (a page run): the browser gets the server's value with this run."""
    if key in st.session_state.get(SERVER_SET, {}):
        st.session_state[SERVER_SET][key][1] = True


def server_set_widget(key: str, callback: Callable[[], None] | None = None) -> Callable[[], None]:
    """The on_change of a widget outside every fragment that the server also sets (`set_widget`). A
    change in a fragment's run, or before the page has drawn the widget with the server's value, is the
    browser's value from before the server's: the widget gets the server's back and nothing else
    happens. Otherwise the change is the person's: `callback`, then (a fragment's run of a widget the
    server has not set yet) the whole page, as with `page_widget`."""
    def changed() -> None:
        remembered = st.session_state.setdefault(SERVER_SET, {})
        if key in remembered and (in_fragment_run() or not remembered[key][1]):
            st.session_state[key] = remembered[key][0]
            return
        remembered[key] = [st.session_state[key], True]
        if callback is not None:
            callback()
        run_page_if_fragment()
    return changed
