"""What the plotly charts beside the data map share: their dark look and reading a chart's selection."""
from __future__ import annotations

import streamlit as st

from app.plotly_view import clicked_points, selected_ids

DARK = {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#11151d", "font": {"color": "#e6e6e6"}}


def selected_points(key: str) -> list[dict]:
    """The points selected on the chart with this widget key ([] before any selection): clicked on the
    mounted chart (app/plotly_view.py, checked there), or selected on Streamlit's own.

    Streamlit hands the selection back as a dict or as an attribute object depending on the path
    (callback or return value), so both are read."""
    clicked = clicked_points(key)
    if clicked is not None:
        return clicked
    value = st.session_state.get(key)
    if value is None:
        return []
    selection = value.get("selection") if isinstance(value, dict) else getattr(value, "selection", None)
    if not selection:
        return []
    points = selection.get("points") if isinstance(selection, dict) else getattr(selection, "points", None)
    return list(points or [])


def selected_sample_ids(key: str) -> list[int]:
    """The sample ids (customdata: the id, or a row that starts with it) of the points selected on a
    data-map chart, sorted, once each: as the mounted chart reported them (app/plotly_view.py), or read
    from Streamlit's chart's selected points."""
    reported = selected_ids(key)
    if reported is not None:
        return reported
    ids = []
    for point in selected_points(key):
        if not isinstance(point, dict):  # the browser may send anything
            continue
        custom = point.get("customdata")
        if isinstance(custom, (list, tuple)):
            custom = custom[0] if custom else None
        elif isinstance(custom, dict):  # a typed-array row, as JSON writes it: {"0": id}
            custom = custom.get("0")
        try:
            ids.append(int(custom))
        except (TypeError, ValueError):
            continue
    return sorted(set(ids))

# a dark sequential scale that starts at the plot background, so that empty cells do not glare white
DARK_BLUES = [[0.0, "#11151d"], [0.15, "#1b2a44"], [0.5, "#2f5fa8"], [1.0, "#8ec5ff"]]
OVERLAY_FROM_GL = 2000  # overlay points from which the overlay is drawn with WebGL


def cell_overlay(x: list, y: list, customdata: list, hovertemplate: str) -> dict:
    """Invisible markers, one per heatmap cell, drawn on top of a heatmap so that a click on a cell is
    reported: plotly's heatmaps emit no selection events (all Streamlit's on_select reports), and the
    heatmaps here skip hover (the markers carry the hover text), so they report no click either."""
    return {"type": "scattergl" if len(x) >= OVERLAY_FROM_GL else "scatter", "x": x, "y": y, "mode": "markers",
            "customdata": customdata, "hovertemplate": hovertemplate, "showlegend": False, "name": "cells",
            "marker": {"size": 12, "color": "rgba(0,0,0,0)", "line": {"width": 0}},
            "selected": {"marker": {"opacity": 0}}, "unselected": {"marker": {"opacity": 0}}}
