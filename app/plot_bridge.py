"""The bridge that reports hover, click and unhover on the data map's plotly chart.

A small components-v2 element with no visible UI: its script (`plot_bridge.js` beside this file)
finds the chart's plotly graph in the page and forwards `plotly_hover`, `plotly_click`,
`plotly_unhover` and `plotly_selected` as trigger values, so hovering reruns only the fragment that
holds the bridge (the inspector), never the whole page, and a box selection sends its sample ids only.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

_BRIDGE_JS = Path(__file__).with_name("plot_bridge.js").read_text(encoding="utf-8")

_bridge = st.components.v2.component("layerscope.plot_bridge", js=_BRIDGE_JS)


def bridge(container_key: str, key: str, on_hover=None, on_click=None, on_unhover=None, on_select=None):
    """Mount the bridge for the plotly chart inside st.container(key=container_key).

    Its result has `hover` (a sample id), `click` (a sample id), `unhover` (True once the pointer
    has left the points), `select` (the sample ids of a box or lasso selection, sorted; [] when it
    is cleared) and `drawn` (True once a page, when the chart is first drawn), each set for the one
    run that follows the event.
    """
    callbacks = {"on_hover_change": on_hover or (lambda: None), "on_click_change": on_click or (lambda: None),
                 "on_unhover_change": on_unhover or (lambda: None), "on_select_change": on_select or (lambda: None),
                 "on_drawn_change": lambda: None}
    return _bridge(data={"selector": f".st-key-{container_key} .js-plotly-plot"}, key=key, height=0,
                   **callbacks)
