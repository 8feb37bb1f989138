"""Channel: what one channel responds to (the 9 samples that drive it hardest, its map over each) and a
class x channel heatmap of mean activations (a click on a column picks the channel)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import cached, fragments, plotly_view, settings, state
from app.browser_values import as_int
from app.charts import DARK, cell_overlay, selected_points
from app.markup import thumbs_html
from core.pictures import overlay_jpeg

HEATMAP_KEY = "class_channel_heatmap"


@st.cache_data(show_spinner=False, max_entries=64)
def channel_overlays(path: str, layer_id: int, channel: int) -> list[tuple[int, bytes, str]]:
    """The 9 samples with the highest mean activation at one channel, each with that channel's map over
    its image (one colour scale for the nine: 0 to their highest value). The maps not on disk yet come
    from one batched forward of those samples, not one forward each."""
    top = cached.channel_top(path, layer_id, channel)
    activations = state.layer_activations(path, [int(s) for s in top.sample_id], layer_id)  # one forward
    maps = [a[channel] if a.ndim == 3 else np.full((1, 1), a[channel]) for a in activations]
    hi = max((float(np.max(m)) for m in maps), default=1.0) or 1.0
    items = []
    for row, channel_map in zip(top.itertuples(), maps):
        image = cached.sample_view(path, int(row.sample_id))["image"]
        picture = overlay_jpeg(image, np.clip(channel_map.astype(np.float32) / hi, 0, 1))
        caption = f"mean {row.mean:.3f} · #{int(row.sample_id)} {row.label_name}"  # the number first: captions clip
        items.append((int(row.sample_id), picture, caption))
    return items


MAX_OVERLAY_CELLS = 40000  # beyond this, the click layer keeps every k-th row (any row picks the column)
ROW_PX = 20  # a heatmap row's height: room for its label in the axis' 12 px font
MAX_LABELLED_ROWS = 39  # the rows that fit 900 px at ROW_PX: up to here every row is labelled


def heatmap_figure(means: pd.DataFrame, channel: int, by: str) -> go.Figure:
    """Rows x channels of mean activation, with an invisible layer of clickable cells on top (a click
    anywhere in a column picks that channel)."""
    z = np.round(means.to_numpy(dtype=float), 4)
    columns, rows = [int(c) for c in means.columns], [str(i) for i in means.index]
    fig = go.Figure(go.Heatmap(z=z.tolist(), x=columns, y=rows, colorscale="Viridis", hoverinfo="skip",
                               colorbar={"title": {"text": "mean activation"}, "thickness": 10}))
    fig.add_trace(_column_picker(z, columns, rows, by))
    fig.add_vline(x=channel, line={"color": "#ff4b4b", "width": 1.5})
    every_row = len(rows) <= MAX_LABELLED_ROWS  # one label a row, each row tall enough for its label
    yaxis = {"autorange": "reversed", **({"tickmode": "linear", "dtick": 1} if every_row else {})}
    fig.update_layout(**DARK, height=max(260, min(900, ROW_PX * len(means) + 110)),
                      margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      title={"text": f"Mean activation per {by} × channel (click a column to pick the channel)",
                             "font": {"size": 12}, "x": 0.01},
                      xaxis={"title": "channel"}, yaxis=yaxis, clickmode="event+select",
                      hovermode="closest", dragmode=False)
    return fig


def _column_picker(z: np.ndarray, columns: list[int], rows: list[str], by: str) -> dict:
    stride = max(1, int(np.ceil(len(rows) * len(columns) / MAX_OVERLAY_CELLS)))
    kept = range(0, len(rows), stride)
    x = [c for _ in kept for c in columns]
    y = [rows[r] for r in kept for _ in columns]
    values = [float(v) for r in kept for v in z[r]]
    return cell_overlay(x, y, values, f"{by} %{{y}}<br>channel %{{x}}: mean %{{customdata:.4f}}"
                        "<br>click: pick this channel<extra></extra>")


def _on_heatmap_select() -> None:
    points = selected_points(HEATMAP_KEY)
    channel = as_int(points[0].get("x")) if points and isinstance(points[0], dict) else None
    if channel is not None:  # its range is checked against the layer when the tab is drawn
        fragments.set_widget("channel", channel)


def _strongest(means: pd.DataFrame) -> int:
    """The channel most active on average over the heatmap's rows: the tab's first channel."""
    return int(np.argmax(means.to_numpy().mean(axis=0)))


def _heatmap_rows(group_only: bool) -> str:
    return "group" if group_only else st.session_state.get("heatmap_by") or "group"


def warm(path: str, layer: pd.Series, group_only: bool) -> None:
    """Owner mode: have the activations worker compute the nine maps this tab would show first at this
    layer (the channel chosen, else the most active one), a moment after the Explorer asks (once a pin's
    gallery is shown), so that the tab's first open finds them computed. Public mode leaves the model to
    the visitor's asking."""
    if not settings.builds_allowed():
        return
    layer_id, channels = int(layer["layer_id"]), int(layer["channels"])
    rows, asked = _heatmap_rows(group_only), st.session_state.get("channel")  # this run's, read now

    def first_nine() -> list[int] | None:
        means = cached.class_means(path, layer_id, rows)
        if means.empty:
            return None
        channel = int(asked) if asked is not None and 0 <= int(asked) < channels else _strongest(means)
        return [int(s) for s in cached.channel_top(path, layer_id, channel).sample_id]

    state.warm_layer_activations(path, layer_id, first_nine)


def _keep_channel_in_range(means: pd.DataFrame, channels: int, layer_name: str) -> None:
    """No channel yet: the most active one. One the layer lacks (from a link, or kept from a wider
    layer): the most active one too, and the page says so instead of rewriting it silently."""
    asked = st.session_state.get("channel")
    if asked is not None and 0 <= int(asked) < channels:
        return
    strongest = _strongest(means)
    fragments.set_widget("channel", strongest)
    if asked is not None:
        st.warning(f"Channel {int(asked)} does not exist at {layer_name} (channels 0–{channels - 1}); "
                   f"showing channel {strongest}, the most active one.", icon=":material/warning:")


def render(path: str, layer: pd.Series, group_only: bool) -> None:
    layer_id, channels = int(layer["layer_id"]), int(layer["channels"])
    means_by = "group" if group_only else st.segmented_control(
        "Heatmap rows", ["class", "group"], default="group", key="heatmap_by") or "group"
    means = cached.class_means(path, layer_id, means_by)
    if means.empty:
        st.info(f"{layer['name']} has no per-channel statistics (a vector layer): pick a conv-type layer.")
        return
    _keep_channel_in_range(means, channels, str(layer["name"]))
    # persist_state: the input comes back with the tab showing the channel the page draws (a fragment
    # rerun asked for while the run closing the tab goes on keeps the value on the server, not in the browser)
    channel = st.number_input(f"Channel (0–{channels - 1})", min_value=0, max_value=channels - 1, step=1,
                              key="channel", persist_state="session",
                              on_change=fragments.server_set_widget("channel"))
    fragments.drawn("channel")
    st.markdown(f"**The 9 samples that activate channel {channel} of {layer['name']} most** "
                "(the channel's map over each image; one colour scale for the nine). The number under each "
                "is the channel's **mean activation** over that image.")
    with st.spinner("Computing the channel's maps…"):
        items = channel_overlays(path, layer_id, int(channel))
    st.html(thumbs_html(items, "channel-top"))
    with st.container(key="class_channel_box"):
        plotly_view.draw(heatmap_figure(means, int(channel), means_by), key=HEATMAP_KEY, on_click=fragments.page_widget(_on_heatmap_select))
    if group_only:
        st.caption("Rows are coarse groups: every class has a single sample in this catalog.")
