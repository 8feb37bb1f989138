"""The Explorer's analysis views: separability over depth, neighbours, channels, selections, two layers
side by side, export. Each draws from cached catalog queries (app.state); none recomputes the catalog."""
from __future__ import annotations

import base64
import io
from functools import partial
from html import escape

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from app import state
from core import explain

DARK = {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#11151d", "font": {"color": "#e6e6e6"}}


def _data_url(data: bytes) -> str:
    kind = "png" if data[:4] == b"\x89PNG" else "webp" if data[8:12] == b"WEBP" else "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(data).decode()


def thumbs_html(items: list[tuple[int | None, bytes, str]], testid: str, marked: set[int] | None = None) -> str:
    """A row of thumbnails: (sample_id or None, image bytes, caption); `marked` ones get a green frame
    (same label as the pinned sample)."""
    cells = []
    for sample_id, data, caption in items:
        sid = "" if sample_id is None else f' data-sample-id="{int(sample_id)}"'
        same = marked is not None and sample_id in marked
        css = "ls-thumb ls-same-label" if same else "ls-thumb"
        title = f' title="same label"' if same else ""
        cells.append(f'<figure class="{css}"{sid}{title}><img src="{_data_url(data)}" alt="{escape(caption)}">'
                     f'<figcaption>{escape(caption)}</figcaption></figure>')
    return f'<div class="ls-thumbs" data-testid="{testid}">' + "".join(cells) + "</div>"


def sample_thumbs(path: str, ids: list[int], captions: list[str], testid: str,
                  marked: set[int] | None = None) -> str:
    items = []
    for sample_id, caption in zip(ids, captions):
        data = state.sample_view(path, int(sample_id))["image"]
        if data:
            items.append((int(sample_id), data, caption))
    return thumbs_html(items, testid, marked)


# --- 3. separability over depth ---------------------------------------------------------------------------

def separability_figure(frame: pd.DataFrame, by: str, selected: int) -> go.Figure:
    """Accuracy over depth, the selected layer ringed. Built as a plain dict without plotly's validation
    (it ran on every rerun: about 25 ms of each layer switch)."""
    traces = [{"type": "scatter", "x": [int(v) for v in frame.position], "y": frame.accuracy.round(4).tolist(),
               "mode": "lines+markers", "name": by,
               "customdata": [[int(i), str(n)] for i, n in zip(frame.layer_id, frame.name)],
               "hovertemplate": "%{customdata[1]}<br>10-NN accuracy: %{y:.1%}<extra></extra>",
               "marker": {"size": 7, "color": "#4f8ff7"}, "line": {"color": "#4f8ff7"}}]
    row = frame[frame.layer_id == selected]
    if len(row):
        traces.append({"type": "scatter", "x": [int(row.position.iloc[0])], "y": [float(row.accuracy.iloc[0])],
                       "mode": "markers", "hoverinfo": "skip", "showlegend": False, "name": "selected layer",
                       "marker": {"size": 14, "color": "rgba(0,0,0,0)", "line": {"width": 2.5, "color": "#ff4b4b"}}})
    layout = {**DARK, "height": 170, "margin": {"l": 10, "r": 10, "t": 28, "b": 12}, "showlegend": False,
              "title": {"text": f"Separability: {by} labels", "font": {"size": 12}, "x": 0.01},
              "xaxis": {"showticklabels": False, "showgrid": False},
              "yaxis": {"tickformat": ".0%", "gridcolor": "#252c3b", "rangemode": "tozero"},
              "dragmode": False, "clickmode": "event+select", "hovermode": "closest"}
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def separability_caption(by: str) -> str:
    """One short line under the chart; the details are in its help (separability_help)."""
    return f"10-NN accuracy of the **{by}** labels per layer · click a point to select it"


def separability_help(by: str) -> str:
    text = ("For each layer: leave-one-out 10-nearest-neighbour accuracy of the true labels in the layer's "
            "PCA space, in network order (input left, output right). Higher means the layer separates the "
            "labels better.")
    if by != "class":
        text += (" Shown for the coarse group labels: no class has 2+ samples in this catalog, so the class "
                 "figure says nothing.")
    return text


# --- 2. neighbours of the pinned sample -----------------------------------------------------------------

def render_neighbours(path: str, sample_id: int, layer_id: int, layer_name: str) -> None:
    table = state.samples(path)
    found = state.neighbours(path, layer_id, sample_id)
    if not found:
        st.info("This layer has no stored PCA reference for the pinned sample.")
        return
    label = str(table.set_index("sample_id").label_name.get(sample_id, "?"))
    labels = table.set_index("sample_id").label_name
    same = sum(1 for sid, _ in found if labels.get(sid) == label)
    st.markdown(f"<div data-testid='neighbours-summary'>The {len(found)} nearest neighbours of "
                f"<b>#{sample_id}</b> ({escape(label)}) at <b>{escape(layer_name)}</b> (PCA space): "
                f"<b class='ls-same'>{same} of {len(found)}</b> share its label (green frame).</div>", unsafe_allow_html=True)
    captions = [f"#{sid} {labels.get(sid, '?')} · d={d:.2f}" for sid, d in found]
    st.html(sample_thumbs(path, [sid for sid, _ in found], captions, "neighbour-thumbs",
                          marked={sid for sid, _ in found if labels.get(sid) == label}))


# --- 4. what a channel responds to ----------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=64)
def channel_overlays(path: str, layer_id: int, channel: int) -> list[tuple[int, bytes, str]]:
    """The 9 samples with the highest mean activation at one channel, each with that channel's map over
    its image (one colour scale for the nine: 0 to their highest value)."""
    top = state.channel_top(path, layer_id, channel)
    maps = []
    for sample_id in top.sample_id:
        activation = state.layer_activation(path, int(sample_id), layer_id)
        maps.append(activation[channel] if activation.ndim == 3 else np.full((1, 1), activation[channel]))
    hi = max((float(np.max(m)) for m in maps), default=1.0) or 1.0
    items = []
    for (row, m) in zip(top.itertuples(), maps):
        rgb = np.asarray(Image.open(io.BytesIO(state.sample_view(path, int(row.sample_id))["image"])).convert("RGB"))
        blended = explain.overlay(rgb, np.clip(m.astype(np.float32) / hi, 0, 1))
        buffer = io.BytesIO()
        Image.fromarray(blended).save(buffer, format="JPEG", quality=85)
        items.append((int(row.sample_id), buffer.getvalue(), f"#{int(row.sample_id)} {row.label_name} · {row.mean:.3f}"))
    return items


def heatmap_figure(means: pd.DataFrame, channel: int, by: str) -> go.Figure:
    z = means.to_numpy(dtype=float)
    fig = go.Figure(go.Heatmap(z=np.round(z, 4).tolist(), x=[int(c) for c in means.columns],
                               y=[str(i) for i in means.index], colorscale="Viridis",
                               colorbar={"title": {"text": "mean"}, "thickness": 10},
                               hovertemplate=f"{by} %{{y}}<br>channel %{{x}}: %{{z:.4f}}<extra></extra>"))
    fig.add_vline(x=channel, line={"color": "#ff4b4b", "width": 1.5})
    fig.update_layout(**DARK, height=max(260, min(900, 16 * len(means) + 80)),
                      margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      title={"text": f"Mean activation per {by} × channel (click a column to pick the channel)",
                             "font": {"size": 12}, "x": 0.01},
                      xaxis={"title": "channel"}, yaxis={"autorange": "reversed"}, clickmode="event+select")
    return fig


def _on_heatmap_select() -> None:
    points = _selected_points("class_channel_heatmap")
    if points:
        st.session_state.channel = int(points[0]["x"])


def _selected_points(key: str) -> list[dict]:
    value = st.session_state.get(key)
    if value is None:
        return []
    selection = value.get("selection") if isinstance(value, dict) else getattr(value, "selection", None)
    if not selection:
        return []
    points = selection.get("points") if isinstance(selection, dict) else getattr(selection, "points", None)
    return list(points or [])


def render_channel(path: str, layer: pd.Series, group_only: bool) -> None:
    layer_id, channels = int(layer["layer_id"]), int(layer["channels"])
    means_by = "group" if group_only else st.segmented_control(
        "Heatmap rows", ["class", "group"], default="group", key="heatmap_by") or "group"
    means = state.class_means(path, layer_id, means_by)
    if means.empty:
        st.info(f"{layer['name']} has no per-channel statistics (a vector layer): pick a conv-type layer.")
        return
    if st.session_state.get("channel") is None or not 0 <= int(st.session_state.channel) < channels:
        st.session_state.channel = int(np.argmax(means.to_numpy().mean(axis=0)))
    channel = st.number_input(f"Channel (0–{channels - 1})", min_value=0, max_value=channels - 1, step=1,
                              key="channel")
    st.markdown(f"**The 9 samples that activate channel {channel} of {layer['name']} most** "
                "(the channel's map over each image; one colour scale for the nine)")
    with st.spinner("Computing the channel's maps…"):
        items = channel_overlays(path, layer_id, int(channel))
    st.html(thumbs_html(items, "channel-top"))
    st.plotly_chart(heatmap_figure(means, int(channel), means_by), width="stretch", key="class_channel_heatmap",
                    on_select=_on_heatmap_select, selection_mode="points")
    if group_only:
        st.caption("Rows are coarse groups: every class has a single sample in this catalog.")


# --- 5. selections --------------------------------------------------------------------------------------

def render_selection(path: str, group_only: bool, shown_ids: list[int]) -> None:
    from catalog import insights
    ids = list(st.session_state.get("selection_ids") or [])
    con = state.connection(path)
    if ids:
        summary = insights.selection_summary(con, ids)
        accuracy = "–" if summary["accuracy"] is None else f"{summary['accuracy']:.0%}"
        st.markdown(f"<div data-testid='selection-summary'><b>{summary['n']}</b> samples selected · top-1 "
                    f"accuracy <b>{accuracy}</b> · {len(summary['classes'])} classes</div>", unsafe_allow_html=True)
        counts = pd.DataFrame(list(summary["classes"].items()), columns=["class", "samples"])
        left, right = st.columns([2, 3])
        left.dataframe(counts, hide_index=True, height=260, key="selection_classes")
        table = state.samples(path).set_index("sample_id")
        shown = ids[:24]
        right.html(sample_thumbs(path, shown, [f"#{s} {table.label_name.get(s, '?')}" for s in shown],
                                 "selection-thumbs"))
        st.button("Clear the selection", key="clear_selection", on_click=_clear_selection)
    else:
        st.info("Choose **box** or **lasso** above the data map and drag over points to select them.")
    by = "group" if group_only else st.segmented_control("Confusion matrix of", ["group", "class"],
                                                         default="group", key="confusion_by") or "group"
    scope = ids if ids else shown_ids
    matrix = insights.confusion_matrix(con, by=by, sample_ids=scope)
    st.markdown(f"**Confusion matrix** ({by}, {'the selection' if ids else 'the points on the map'}; "
                "click a cell to highlight its samples on the map)")
    if matrix.empty:
        st.caption("Nothing to count.")
        return
    fig = go.Figure(go.Heatmap(z=matrix.to_numpy().tolist(), x=[str(c) for c in matrix.columns],
                               y=[str(i) for i in matrix.index], colorscale="Blues", showscale=False,
                               text=matrix.to_numpy().tolist(), texttemplate="%{text}",
                               hovertemplate="true %{y} → predicted %{x}: %{z}<extra></extra>"))
    fig.update_layout(**DARK, height=max(260, min(800, 26 * len(matrix) + 120)),
                      margin={"l": 10, "r": 10, "t": 10, "b": 10}, clickmode="event+select",
                      xaxis={"title": "predicted"}, yaxis={"title": "true", "autorange": "reversed"})
    st.plotly_chart(fig, width="stretch", key="confusion_chart", on_select=_on_confusion_select,
                    selection_mode="points")
    st.session_state["_confusion_scope"] = (by, scope)
    if st.session_state.get("highlight_ids"):
        st.caption(f"Highlighted on the map: {len(st.session_state.highlight_ids)} samples "
                   f"({escape(str(st.session_state.get('highlight_label', '')))}).")
        st.button("Clear the highlight", key="clear_highlight", on_click=_clear_highlight)


def _clear_selection() -> None:
    st.session_state.selection_ids = []


def _clear_highlight() -> None:
    st.session_state.highlight_ids = []


def _on_confusion_select() -> None:
    points = _selected_points("confusion_chart")
    if not points:
        return
    by, scope = st.session_state.get("_confusion_scope", ("group", None))
    frame = state.truth(st.session_state.catalog_path)
    if scope:
        frame = frame[frame.sample_id.isin(scope)]
    true_col, pred_col = ("label_name", "class_name") if by == "class" else ("group_name", "predicted_group")
    true, predicted = str(points[0]["y"]), str(points[0]["x"])
    chosen = frame[(frame[true_col] == true) & (frame[pred_col] == predicted)]
    st.session_state.highlight_ids = [int(i) for i in chosen.sample_id]
    st.session_state.highlight_label = f"true {true} → predicted {predicted}"


def selected_ids_from(key: str) -> list[int]:
    ids = []
    for point in _selected_points(key):
        custom = point.get("customdata")
        if custom:
            try:
                ids.append(int(custom[0]))
            except (TypeError, ValueError):
                continue
    return sorted(set(ids))


# --- 9. export ------------------------------------------------------------------------------------------

def export_frame(path: str, layer_id: int, layer_name: str, method: str, requested: float | None) -> pd.DataFrame:
    points = state.embedding(path, layer_id, method, requested).merge(state.samples(path), on="sample_id")
    frame = points[["sample_id", "key", "x", "y", "label_name", "group_name", "pred_name", "confidence", "correct"]].copy()
    frame.insert(0, "layer", layer_name)
    frame.insert(1, "method", method)
    frame.insert(2, "perplexity", points["perplexity"] if method == "tsne" else None)
    return frame


def render_export(path: str, layer_id: int, layer_name: str, method: str, requested: float | None) -> None:
    frame = export_frame(path, layer_id, layer_name, method, requested)
    stem = f"{state.manifest(path).get('name', 'catalog')}-{layer_name}-{method}".replace("/", "_").replace(" ", "_")
    st.markdown(f"The current map: **{len(frame)}** points of **{escape(layer_name)}** ({method}), with labels.")
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    left, right = st.columns(2)
    left.download_button("Download CSV", frame.to_csv(index=False).encode(), file_name=f"{stem}.csv",
                         mime="text/csv", key="export_csv")
    right.download_button("Download Parquet", buffer.getvalue(), file_name=f"{stem}.parquet",
                          mime="application/octet-stream", key="export_parquet")
    st.dataframe(frame.head(20), hide_index=True, key="export_preview")


# --- 6. two layers side by side -------------------------------------------------------------------------

def _on_compare(key: str) -> None:
    st.session_state.compare_ids = selected_ids_from(key)


def render_compare(path: str, table: pd.DataFrame, layer_id: int, method: str, requested: float | None,
                   used: float | None, colour_by: str) -> None:
    from app import datamap
    ids = [int(i) for i in table.layer_id]
    names = dict(zip(ids, table.name))
    maps = [i for i, h in zip(ids, table.height) if int(h) > 1]
    if st.session_state.get("compare_left") not in ids:
        st.session_state.compare_left = maps[len(maps) // 2] if maps else ids[0]
    if st.session_state.get("compare_right") not in ids:
        st.session_state.compare_right = layer_id
    linked = tuple(st.session_state.get("compare_ids") or st.session_state.get("selection_ids") or [])
    st.caption("Select points (box or lasso) on either map: the same samples are ringed on both. "
               f"{len(linked)} linked samples." + (" " if linked else ""))
    if linked:
        st.button("Clear the linked samples", key="clear_compare",
                  on_click=lambda: st.session_state.update(compare_ids=[], selection_ids=[]))
    columns = st.columns(2)
    for column, side in zip(columns, ("left", "right")):
        with column:
            chosen = st.selectbox(f"{side.title()} layer", ids, format_func=lambda i: f"{i}: {names[i]}",
                                  key=f"compare_{side}")
            title = datamap.method_title(str(names[chosen]), method, used, requested)
            spec = state.datamap_spec(path, chosen, method, requested, colour_by, title, None, "all",
                                      linked or None, None, "lasso", 420)
            key = f"compare_{side}_chart"
            with st.container(key=f"compare_{side}_box"):
                st.plotly_chart(datamap.figure({**spec, "layout": {**spec["layout"], "showlegend": False}}),
                                width="stretch", key=key, on_select=partial(_on_compare, key),
                                selection_mode=("box", "lasso"), config={"displaylogo": False})
