"""Compare layers: two data maps side by side, with the samples selected on either ringed on both."""
from __future__ import annotations

from dataclasses import replace
from functools import partial

import pandas as pd
import streamlit as st

from app import cached, datamap, fragments, palette
from app.browser_values import known_ids
from app.charts import selected_sample_ids
from app.view import View


def _on_select(key: str) -> None:
    # only the catalog's ids, and no more than it has: the selection comes from the browser
    st.session_state.compare_ids = known_ids(selected_sample_ids(key),
                                             cached.sample_ids(st.session_state.catalog_path)) or []


def _clear_linked() -> None:
    st.session_state.update(compare_ids=[], selection_ids=[])


def render(view: View, table: pd.DataFrame) -> None:
    """`table`: the catalog's layers. The left map starts at a middle spatial layer, the right at the view's."""
    ids = [int(i) for i in table.layer_id]
    names = dict(zip(ids, table.name))
    maps = [i for i, h in zip(ids, table.height) if int(h) > 1]
    if st.session_state.get("compare_left") not in ids:
        st.session_state.compare_left = maps[len(maps) // 2] if maps else ids[0]
    if st.session_state.get("compare_right") not in ids:
        st.session_state.compare_right = view.layer_id
    linked = tuple(st.session_state.get("compare_ids") or st.session_state.get("selection_ids") or [])
    st.caption("Select points (box or lasso) on either map: the same samples are ringed on both. "
               f"{len(linked)} linked samples.")
    if linked:
        st.button("Clear the linked samples", key="clear_compare", on_click=fragments.page_widget(_clear_linked))
    specs = []
    for column, side in zip(st.columns(2), ("left", "right")):
        with column:
            chosen = st.selectbox(f"{side.title()} layer", ids, format_func=lambda i: f"{i}: {names[i]}",
                                  key=f"compare_{side}")
            side_view = replace(view, layer_id=chosen, pinned=None, show="all")
            spec = datamap.figure_spec(side_view, str(names[chosen]), highlight=linked or None,
                                       dragmode="lasso", height=420)
            specs.append(spec)
            key = f"compare_{side}_chart"
            with st.container(key=f"compare_{side}_box"):
                datamap.draw({**spec, "layout": {**spec["layout"], "showlegend": False}}, key=key,
                             config=datamap.LINKED_CONFIG, on_select=fragments.page_widget(partial(_on_select, key)))
    _shared_legend(specs[0], view.colour_by)


MARKS = {"pinned", "highlighted", "your image"}  # traces that ring or star points: not colours of the legend


def legend_entries(spec: dict) -> list[tuple[str, str, int]]:
    """(name, colour, count) of each colour on a data map: both maps show the same samples, coloured the
    same way, so one map's colours are the legend of both."""
    if spec.get("html_legend"):
        return list(spec["html_legend"])
    return [(trace["name"], trace["marker"]["color"], len(trace["x"])) for trace in spec["data"]
            if trace.get("name") not in MARKS and isinstance(trace.get("marker", {}).get("color"), str)]


def _shared_legend(spec: dict, colour_by: str) -> None:
    entries = legend_entries(spec)
    with st.container(key="compare_legend"):
        if entries:
            st.html(palette.legend_html(entries, f"{colour_by} (both maps)"))
        else:
            st.caption(f"Colour: {colour_by}, on the scale beside each map (both maps share it).")
