"""Failures: the misclassified samples, the shallowest lost first, and for each confusion (true ->
predicted) how often it happens and at which depth the two labels' neighbourhoods come apart."""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import cached, fragments, plotly_view
from app.browser_values import known_int
from app.charts import DARK
from app.sample_grid import pickable_thumbs
from app.separability_chart import clicked_layer
from app.view import View
from core.trajectory import separates_at

ALL = "all"
SHOWN_THUMBS = 48
SHOWN_PAIRS = 40  # confusions listed with their depth (the most frequent first)
PAIR_KEY = "failures_pair_chart"


def filtered(frame: pd.DataFrame, true_class: str = ALL, true_group: str = ALL) -> pd.DataFrame:
    """The failures whose true class and true group are the chosen ones (ALL: any)."""
    keep = pd.Series(True, index=frame.index)
    if true_class != ALL:
        keep &= frame.label_name == true_class
    if true_group != ALL:
        keep &= frame.group_name == true_group
    return frame[keep]


def confusions(path: str, frame: pd.DataFrame, limit: int = SHOWN_PAIRS) -> pd.DataFrame:
    """Each (true -> predicted) pair of `frame` (failures at the catalog's level) with its count and the
    layer from which on the two labels' 10-NN confusion stays at most half its peak (`separate at`):
    'never mixed', or 'mixed to the end' where it does not come down."""
    pairs = (frame.groupby(["true", "answer"]).size().rename("count").reset_index()
             .sort_values(["count", "true", "answer"], ascending=[False, True, True]).head(limit))
    depth = []
    for true, answer in zip(pairs["true"], pairs["answer"]):
        curve = cached.pair_confusion(path, str(true), str(answer))
        at = separates_at(curve["confusion"].to_numpy(float))
        depth.append("never mixed" if at is None else "mixed to the end" if at < 0 else str(curve["name"].iloc[at]))
    return pairs.assign(**{"separate at": depth}).rename(columns={"true": "true", "answer": "predicted"})


def pair_figure(curve: pd.DataFrame, selected: int) -> go.Figure:
    """A pair's 10-NN confusion over depth, the layer where it comes apart marked, the selected ringed."""
    values = curve["confusion"].astype(float).fillna(0.0)
    traces = [{"type": "scatter", "x": [int(p) for p in curve.position], "y": values.round(4).tolist(),
               "mode": "lines+markers", "name": "confusion", "line": {"color": "#ef5b5b"},
               "marker": {"size": 6, "color": "#ef5b5b"},
               "customdata": [[int(i), str(n)] for i, n in zip(curve.layer_id, curve.name)],
               "hovertemplate": "%{customdata[1]}<br>10-NN confusion: %{y:.0%}<extra></extra>"}]
    at = separates_at(values.to_numpy())
    if at is not None and at >= 0:
        traces.append({"type": "scatter", "x": [int(curve.position.iloc[at])], "y": [float(values.iloc[at])],
                       "mode": "markers", "name": "separate", "hoverinfo": "skip", "showlegend": False,
                       "marker": {"size": 13, "symbol": "diamond-open", "color": "#3ccf91", "line": {"width": 2}}})
    row = curve[curve.layer_id == selected]
    if len(row):
        traces.append({"type": "scatter", "x": [int(row.position.iloc[0])],
                       "y": [float(values[row.index[0]])], "mode": "markers", "hoverinfo": "skip",
                       "showlegend": False, "name": "selected layer",
                       "marker": {"size": 14, "color": "rgba(0,0,0,0)", "line": {"width": 2.5, "color": "#ffffff"}}})
    layout = {**DARK, "height": 200, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "showlegend": False,
              "xaxis": {"showticklabels": False, "showgrid": False, "zeroline": False, "title": {"text": "depth →"}},
              "yaxis": {"tickformat": ".0%", "gridcolor": "#252c3b", "rangemode": "tozero"},
              "dragmode": False, "clickmode": "event+select", "hovermode": "closest"}
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def render(view: View, on_layer: Callable[[int], None], on_pin: Callable[[int], None]) -> None:
    """`on_layer(layer_id)`: what a click on the pair chart's point does (select that layer);
    `on_pin(sample_id)`: what a click on a thumbnail does (pin that sample)."""
    path = view.catalog
    level = cached.depth_level(path)
    if level is None:
        st.info("This catalog holds no depth tables (trajectories, settling): rebuild it to see where the "
                "model goes wrong.")
        return
    frame = cached.failures(path)
    st.caption(f"Misclassified at the **{level}** level" +
               (" (every class has one image in this catalog, so mistakes are read by coarse group)"
                if level == "group" else "") +
               f": **{len(frame)}** samples, ordered by the layer from which on their neighbours never vote "
               "for their true label (lost), shallowest first.")
    if frame.empty:
        st.success("No sample is misclassified at this level.")
        return
    left, right = st.columns(2)
    true_class = left.selectbox("True class", [ALL] + sorted(frame.label_name.unique()), key="failures_class")
    true_group = right.selectbox("True group", [ALL] + sorted(frame.group_name.unique()), key="failures_group")
    shown = filtered(frame, true_class, true_group)
    _thumbs(view, shown, on_pin)
    st.markdown("**Confusions** (true → predicted): how often, and the layer from which on the two labels' "
                "neighbourhoods are apart")
    table = confusions(path, shown)
    st.dataframe(table, hide_index=True, width="stretch", key="failures_confusions")
    if len(table) == 0:
        return
    options = [f"{t} → {p}" for t, p in zip(table["true"], table["predicted"])]
    chosen = st.selectbox("Confusion over depth", options, key="failures_pair")
    true, predicted = table.iloc[options.index(chosen) if chosen in options else 0][["true", "predicted"]]
    curve = cached.pair_confusion(path, str(true), str(predicted))
    if int(curve["n"].max() or 0) == 0:
        st.caption("Neither label has a sample in this catalog: nothing to measure.")
        return

    def clicked() -> None:
        layer_id = known_int(clicked_layer(PAIR_KEY), [int(i) for i in curve.layer_id])
        if layer_id is not None:
            on_layer(layer_id)

    with st.container(key="failures_pair_box"):
        plotly_view.draw(pair_figure(curve, view.layer_id), key=PAIR_KEY, on_click=fragments.page_widget(clicked),
                         config={"displayModeBar": False})
    st.caption(f"10-NN confusion of *{true}* and *{predicted}* per layer (input left): the share of their "
               "samples whose 10 nearest others vote for the other label. The green diamond: from here on it "
               "stays at most half its peak. Click a point to open that layer.")


def _thumbs(view: View, frame: pd.DataFrame, on_pin: Callable[[int], None]) -> None:
    ids = [int(i) for i in frame.sample_id[:SHOWN_THUMBS]]
    shown = f"Showing the {len(ids)} lost earliest of {len(frame)}. " if len(ids) < len(frame) else ""
    st.caption(shown + "Click a thumbnail to pin that sample and follow it through the layers (its depth "
               "strip under the map).")
    captions = [f"#{s} {t} → {a} · lost at {lost or '–'}" for s, t, a, lost in
                zip(frame.sample_id, frame.true, frame.answer, frame.lost_at)]
    with st.container(key="failures_thumbs"):
        pickable_thumbs(view.catalog, ids, captions[:len(ids)], "failure-thumbs", "failure_thumbs", on_pin,
                        pinned=view.pinned)
