"""The activation gallery of the pinned sample at the selected layer (its grid: `gallery.js`, `gallery.css`)."""
from __future__ import annotations

import base64
from concurrent import futures
import hashlib
import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import cached, fragments, layer_map, plotly_view, settings, state
from app.browser_values import channel_in

log = logging.getLogger(__name__)

THUMB_MAX = 96
INLINE_WAIT_S = 1.0  # how long a run waits for a forward before it shows the gallery later (the map answers)
POLL_S = 0.5
RETRY = "retry_activations"
PINNED_BY_HAND = "_pinned_by_hand"  # the sample a click on the map pinned last (see `pinned_by_hand`)
# the forward this session asked for or waits on, ((path, sample_id), Future): app.state forgets a job once
# it ends, so its failure is read here, and dropped once shown
JOB = "_activations_job"


def pinned_by_hand(path: str, sample_id: int, layer_id: int) -> None:
    """A person pinned this sample: in owner mode its gallery is computed at once, without the button,
    its forward begun now, before the page's rerun reaches the gallery (public mode keeps the button: a
    visitor's pin never starts the model by itself)."""
    st.session_state[PINNED_BY_HAND] = int(sample_id)
    if settings.builds_allowed():
        _hold(path, sample_id, state.begin_activations(path, sample_id, layer_id))


def _hold(path: str, sample_id: int, job: futures.Future | None) -> None:
    """Keep `job`, the sample's forward, for this session's gallery to wait on and report."""
    if job is not None:
        st.session_state[JOB] = ((path, int(sample_id)), job)


def _held(path: str, sample_id: int) -> futures.Future | None:
    """The sample's forward this session holds, while it runs or once it failed (a finished one's maps
    are in the cache, or evicted since: a new forward computes them)."""
    held = st.session_state.get(JOB)
    if not held or held[0] != (path, int(sample_id)):
        return None
    job = held[1]
    return job if not job.done() or job.exception() is not None else None


def value_range(maps: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(maps, [0.5, 99.5])
    if hi <= lo:
        lo, hi = float(maps.min()), float(maps.max()) + 1e-6
    return float(lo), float(hi)


def _viridis(u8: np.ndarray) -> np.ndarray:
    return cv2.applyColorMap(u8, cv2.COLORMAP_VIRIDIS)  # BGR, as imencode expects


def thumbnails(maps: np.ndarray, lo: float, hi: float) -> list[str]:
    """One PNG data URL per channel, on a scale shared by the whole layer.

    The colours are looked up once for the whole layer (the channels stacked into one image): one call
    a channel cost ~1.4 ms each, most of a 1280-channel layer's gallery."""
    scaled = np.clip((maps - lo) / (hi - lo), 0, 1)
    u8 = np.uint8(np.round(scaled * 255))
    if max(u8.shape[1:]) > THUMB_MAX:
        u8 = np.stack([cv2.resize(channel, (THUMB_MAX, THUMB_MAX), interpolation=cv2.INTER_AREA) for channel in u8])
    channels, height, width = u8.shape
    coloured = _viridis(np.ascontiguousarray(u8).reshape(channels * height, width)).reshape(channels, height, width, 3)
    urls = []
    for tile in coloured:
        ok, png = cv2.imencode(".png", tile)
        urls.append("data:image/png;base64," + base64.b64encode(png.tobytes()).decode())
    return urls


class _NotComputed(LookupError):
    """The activations are not on disk yet (raised, so that the cache never stores a miss)."""


def gallery_items(path: str, sample_id: int, layer_id: int) -> dict | None:
    """The thumbnails of one sample's layer, or None while its activations are not computed.

    Only hits are cached: a miss is asked again next run, so computing one visitor's activations never
    needs to clear the cache that every other visitor shares.
    """
    try:
        return _gallery_items(path, sample_id, layer_id)
    except _NotComputed:
        return None


@st.cache_data(show_spinner=False, max_entries=64)
def _gallery_items(path: str, sample_id: int, layer_id: int) -> dict:
    maps = state.cached_activation(path, sample_id, layer_id)
    if maps is None:
        raise _NotComputed(sample_id, layer_id)
    if maps.ndim != 3:
        return {"kind": "vector", "values": maps.reshape(-1)}
    lo, hi = value_range(maps)
    stats = cached.channel_stats(path, sample_id, layer_id)
    scores = (stats.set_index("channel").score.reindex(range(len(maps))).to_numpy()
              if len(stats) else maps.std(axis=(1, 2)))
    return {"kind": "map", "lo": lo, "hi": hi, "urls": thumbnails(maps, lo, hi),
            "scores": np.nan_to_num(scores).tolist(), "shape": list(maps.shape)}


_CSS = Path(__file__).with_name("gallery.css").read_text(encoding="utf-8")

_JS = Path(__file__).with_name("gallery.js").read_text(encoding="utf-8")

_grid = st.components.v2.component("layerscope.gallery", css=_CSS, js=_JS)


def grid(items: dict, order: list[int], key: str):
    n = len(order)
    cell = 74 if n <= 48 else 58 if n <= 200 else 46
    payload = [{"c": int(c), "s": float(items["scores"][c]), "src": items["urls"][c]} for c in order]
    digest = hashlib.sha1((key + ",".join(map(str, order)) + str(items["lo"]) + str(items["hi"])).encode())
    return _grid(data={"items": payload, "lo": items["lo"], "hi": items["hi"], "cell": cell, "compact": cell < 60,
                       "key": digest.hexdigest()[:12]}, key=key, on_channel_change=lambda: None)


def channel_figure(channel_map: np.ndarray, title: str, lo: float, hi: float) -> go.Figure:
    """One channel's map on the colour scale of its gallery tile (the layer's `value_range`), its axes
    ending at the map's edges."""
    height, width = channel_map.shape
    fig = go.Figure(go.Heatmap(z=channel_map, colorscale="Viridis", zmin=lo, zmax=hi,
                               colorbar={"title": {"text": "activation"}},
                               hovertemplate="x %{x}, y %{y}: activation %{z:.4f}<extra></extra>"))
    fig.update_layout(title=title, template="plotly_dark", height=520, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(range=[-0.5, width - 0.5], constrain="domain"),
                      yaxis=dict(range=[height - 0.5, -0.5], scaleanchor="x", constrain="domain"),
                      paper_bgcolor="rgba(0,0,0,0)")
    return fig


def vector_figure(values: np.ndarray, title: str) -> go.Figure:
    """All neurons of a dense layer as a near-square grid; hover shows neuron index and value."""
    n = len(values)
    cols = int(np.ceil(np.sqrt(n * 2)))
    rows = int(np.ceil(n / cols))
    z = np.full(rows * cols, np.nan, dtype=np.float64)
    z[:n] = values
    index = np.arange(rows * cols).reshape(rows, cols)
    fig = go.Figure(go.Heatmap(z=z.reshape(rows, cols), customdata=index, colorscale="Viridis",
                               hovertemplate="neuron %{customdata}: %{z:.4f}<extra></extra>", xgap=1, ygap=1))
    fig.update_layout(title=title, template="plotly_dark", height=360, margin=dict(l=10, r=10, t=40, b=10),
                      paper_bgcolor="rgba(0,0,0,0)", xaxis=dict(showticklabels=False),
                      yaxis=dict(autorange="reversed", showticklabels=False))
    return fig


@st.dialog("Channel", width="large")
def channel_dialog(path: str, sample_id: int, layer_name: str, layer_id: int, channel: int) -> None:
    maps = state.cached_activation(path, sample_id, layer_id)
    if maps is None or maps.ndim != 3:
        st.warning("The activations of this sample are not computed yet.")
        return
    lo, hi = value_range(maps)
    plotly_view.draw(channel_figure(maps[channel], f"#{sample_id} · {layer_name} · channel {channel}", lo, hi),
                     key="channel_heatmap")
    st.caption("Colour: **activation**, the layer's raw output at each position of this channel, on the "
               "gallery's scale for the whole layer (its 0.5th to 99.5th percentile) (the tile's "
               "score is entropy × mean |activation| over these positions; the Channel tab's numbers are the "
               "channel's mean activation per image). Drag to zoom, double-click to reset.")


def order_of(items: dict, sort: str) -> list[int]:
    n = len(items["scores"])
    if sort == "score":
        return [int(i) for i in np.argsort(-np.asarray(items["scores"]), kind="stable")]
    return list(range(n))


@st.fragment(run_every=POLL_S)
def await_activations(path: str, sample_id: int) -> None:
    """Asks every POLL_S whether the sample's forward has ended; then the page runs again and shows it."""
    if not state.activations_job_running(path, sample_id):
        st.rerun()


def render(path: str, sample_id: int, layer: pd.Series) -> bool:
    """The sample's activations at the layer; False where they are not shown (not computed yet, still
    computing, failed)."""
    layer_id, name = int(layer["layer_id"]), str(layer["name"])
    st.markdown(f"**Activations** of #{sample_id} at **{name}** "
                f"<span class='ls-muted'>({layer_map.kind_and_shape(layer)})</span>",
                unsafe_allow_html=True)
    with st.spinner(f"Loading the activations of #{sample_id} at {name}…"):
        items = gallery_items(path, sample_id, layer_id)
    if items is None:
        slot = st.empty()
        # owner mode computes a sample pinned by hand at once; a forward already asked for is waited for
        # (or, this session's, its failure shown)
        held = _held(path, sample_id)
        wanted = (held is not None or state.has_activations_job(path, sample_id) or bool(st.session_state.get(RETRY))
                  or (settings.builds_allowed() and st.session_state.get(PINNED_BY_HAND) == sample_id))
        if not wanted:
            with slot.container():
                st.caption("Full activation maps are not stored in the catalog; one forward pass computes "
                           "them (all layers of this sample, cached on disk).")
                wanted = st.button("Compute activations", key="compute_activations", type="primary")
        if not wanted:
            return False
        slot.empty()
        job = held if held is not None else state.activations_job(path, sample_id)
        _hold(path, sample_id, job)
        with st.spinner("Running the model on this image…"):
            finished = not futures.wait([job], timeout=INLINE_WAIT_S).not_done
        if not finished:
            st.caption(f"Computing the activations of #{sample_id} (one forward pass); the map answers "
                       "meanwhile, and the gallery shows once they are in.")
            await_activations(path, sample_id)
            return False
        if job.exception() is not None:
            st.session_state.pop(JOB, None)  # reported: a click on "Try again" starts a new forward
            log.error("computing the activations of #%s failed", sample_id, exc_info=job.exception())
            st.error(f"The activations could not be computed: {job.exception()}")
            st.button("Try again", key=RETRY)
            return False
        items = gallery_items(path, sample_id, layer_id)
        if items is None:
            st.error("The activations could not be computed.")
            return False
    if items["kind"] == "vector":
        plotly_view.draw(vector_figure(items["values"], f"{name}: {len(items['values'])} neurons"),
                         key="vector_heatmap")
        return True
    sort = st.segmented_control("Sort channels by", ["score", "index"], default="score", key="gallery_sort",
                                help="score = entropy × mean |activation| of the channel over this image: "
                                     "high for channels that respond strongly over a spread-out area")
    order = order_of(items, sort or "score")
    with st.container(height=560, key="gallery_box"):
        result = grid(items, order, key="gallery_grid")
    channel = channel_in(getattr(result, "channel", None), len(items["scores"]))  # a tile of this grid
    if channel is not None:
        fragments.set_widget("channel", channel)  # the Channel view and the URL follow the gallery
        channel_dialog(path, sample_id, name, layer_id, channel)
    return True
