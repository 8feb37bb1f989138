"""Selection: what the points selected on the data map (box or lasso, or a whole cluster picked here)
hold, and a confusion matrix whose cells highlight their samples on the map."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import cached, datamap, fragments, plotly_view
from app.charts import DARK, DARK_BLUES, cell_overlay, selected_points
from app.markup import counted, escape, sample_thumbs
from app.view import View
from catalog import insights, pictures

CONFUSION_KEY = "confusion_chart"
SHOWN_THUMBS = 24
CLUSTER_PICK_KEY = "cluster_pick"


def render(view: View, group_only: bool) -> None:
    _cluster_picker(view)
    ids = list(st.session_state.get("selection_ids") or [])
    con = cached.connection(view.catalog)
    if ids:
        _summary(view.catalog, con, ids)
    else:
        st.info("Choose **box** or **lasso** above the data map and drag over points to select them, or pick "
                "a cluster above.")
    by = "group" if group_only else st.segmented_control("Confusion matrix of", ["group", "class"],
                                                         default="group", key="confusion_by") or "group"
    scope = ids if ids else [int(i) for i in datamap.shown_points(view).sample_id]
    matrix = insights.confusion_matrix(con, by=by, sample_ids=scope, truth=cached.truth(view.catalog))
    st.markdown(f"**Confusion matrix** ({by}, {'the selection' if ids else 'the points on the map'}; "
                "click a cell to highlight its samples on the map)")
    if matrix.empty:
        st.caption("Nothing to count.")
        return
    with st.container(key="confusion_box"):
        plotly_view.draw(confusion_figure(matrix), key=CONFUSION_KEY, on_click=fragments.page_widget(_on_confusion_select))
    st.session_state["_confusion_scope"] = (by, scope)
    if st.session_state.get("highlight_ids"):
        st.caption(f"Highlighted on the map: {counted(len(st.session_state.highlight_ids), 'sample')} "
                   f"({escape(str(st.session_state.get('highlight_label', '')))}).")
        st.button("Clear the highlight", key="clear_highlight", on_click=fragments.page_widget(_clear_highlight))


def cluster_choice(row) -> str:
    """How the picker lists a cluster: its number, name (majority label and purity) and size."""
    return f"#{int(row.cluster)} {row.label} · {float(row.purity):.0%} pure · {counted(int(row.size), 'point')}"


def _cluster_picker(view: View) -> None:
    """The current map's clusters (HDBSCAN, largest first): picking one selects all its members."""
    clusters = cached.clusters(view.catalog, view.layer_id, view.method, view.perplexity_requested)
    if clusters.empty:
        return
    choices = {int(row.cluster): cluster_choice(row) for row in clusters.itertuples()}
    st.selectbox("Select a whole cluster of this map", list(choices), index=None, format_func=choices.get,
                 key=CLUSTER_PICK_KEY, placeholder="Choose a cluster (its majority label, purity and size)",
                 on_change=fragments.page_widget(_on_cluster_pick), args=(view, choices))


def _on_cluster_pick(view: View, choices: dict[int, str]) -> None:
    """A cluster picked: its members become the selection (the map rings them), and the picker is ready
    for the next one."""
    cluster = st.session_state.get(CLUSTER_PICK_KEY)
    if cluster not in choices:
        return
    members = pictures.cluster_of_points(cached.connection(view.catalog), view.layer_id, view.method,
                                         view.perplexity_requested)
    ids = sorted(int(i) for i in members.sample_id[members.cluster == int(cluster)])
    st.session_state.selection_ids = ids
    st.session_state.selection_named = (datamap.selection_revision(tuple(ids)), choices[cluster])
    st.session_state[CLUSTER_PICK_KEY] = None


def _summary(path: str, con, ids: list[int]) -> None:
    summary = insights.selection_summary(con, ids, truth=cached.truth(path))
    accuracy = "–" if summary["accuracy"] is None else f"{summary['accuracy']:.0%}"
    n, noun = counted(summary["n"], "sample").split(" ", 1)
    revision, name = st.session_state.get("selection_named") or (None, "")
    of_cluster = (f" (cluster {escape(name.split(' · ')[0])})"
                  if revision == datamap.selection_revision(tuple(sorted(ids))) else "")
    st.markdown(f"<div data-testid='selection-summary'><b>{n}</b> {noun} selected{of_cluster} · top-1 "
                f"accuracy <b>{accuracy}</b> · {counted(len(summary['classes']), 'class', 'classes')}</div>",
                unsafe_allow_html=True)
    counts = pd.DataFrame(list(summary["classes"].items()), columns=["class", "samples"])
    left, right = st.columns([2, 3])
    left.dataframe(counts, hide_index=True, height=260, key="selection_classes")
    labels = cached.samples(path).set_index("sample_id").label_name
    shown = ids[:SHOWN_THUMBS]
    if len(shown) < len(ids):
        right.caption(f"Showing {len(shown)} of {len(ids)} selected samples (the first by id).")
    right.html(sample_thumbs(path, shown, [f"#{s} {labels.get(s, '?')}" for s in shown], "selection-thumbs"))
    st.button("Clear the selection", key="clear_selection", on_click=fragments.page_widget(_clear_selection))


def confusion_figure(matrix: pd.DataFrame) -> go.Figure:
    """Counts on the app's dark look (empty cells in the plot's own colour), with an invisible clickable
    marker on every non-empty cell: a click selects that cell's samples."""
    counts = matrix.to_numpy()
    columns, rows = [str(c) for c in matrix.columns], [str(i) for i in matrix.index]
    text = [[str(v) if v else "" for v in row] for row in counts.tolist()]
    fig = go.Figure(go.Heatmap(z=counts.tolist(), x=columns, y=rows, colorscale=DARK_BLUES, showscale=False,
                               text=text, texttemplate="%{text}", hoverinfo="skip"))
    filled = [(r, c) for r in range(len(rows)) for c in range(len(columns)) if counts[r, c]]
    fig.add_trace(cell_overlay([columns[c] for _, c in filled], [rows[r] for r, _ in filled],
                               [int(counts[r, c]) for r, c in filled],
                               "true %{y} → predicted %{x}: %{customdata}<br>click: highlight these samples"
                               "<extra></extra>"))
    fig.update_layout(**DARK, height=max(260, min(800, 26 * len(matrix) + 120)),
                      margin={"l": 10, "r": 10, "t": 10, "b": 10}, clickmode="event+select", dragmode=False,
                      hovermode="closest", xaxis={"title": "predicted"},
                      yaxis={"title": "true", "autorange": "reversed"})
    return fig


def _clear_selection() -> None:
    st.session_state.selection_ids = []


def _clear_highlight() -> None:
    st.session_state.highlight_ids = []


def _on_confusion_select() -> None:
    """A cell clicked: highlight its samples (true label of the row, predicted of the column) on the map."""
    points = selected_points(CONFUSION_KEY)
    if not points or not isinstance(points[0], dict) or points[0].get("x") is None or points[0].get("y") is None:
        return
    by, scope = st.session_state.get("_confusion_scope", ("group", None))
    frame = cached.truth(st.session_state.catalog_path)
    if scope:
        frame = frame[frame.sample_id.isin(scope)]
    true_col, pred_col = ("label_name", "class_name") if by == "class" else ("group_name", "predicted_group")
    true, predicted = str(points[0]["y"]), str(points[0]["x"])
    chosen = frame[(frame[true_col] == true) & (frame[pred_col] == predicted)]
    st.session_state.highlight_ids = [int(i) for i in chosen.sample_id]
    st.session_state.highlight_label = f"true {true} → predicted {predicted}"
