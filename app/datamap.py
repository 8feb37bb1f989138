"""The data map: a plotly scatter of one layer's embedding (Streamlit's own chart, WebGL above a few
hundred points), with colours, axis ranges and titles that stay put whatever the show filter keeps.

Its colours are in app/palette.py; hover and click reach the inspector through app/plot_bridge.py.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import replace
from html import escape

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import cached, cluster_names, plotly_view
from app.palette import CORRECT_COLOURS, GROUP_COLOURS, category_colours
from app.view import SHOW_FILTERS, View
from core import imagenet

COLOUR_BY = {
    "class": "label_name", "coarse group": "group_name", "predicted class": "pred_name",
    "correct or not": "correct_text", "confidence": "confidence",
}
WEBGL_FROM = 300
RING_THIN_FROM = 500  # highlighted samples from which their rings are drawn thin (a big selection stays readable)
MAX_TRACES = 40  # up to this many categories: one trace each, with plotly's own (clickable) legend
MAX_COLOURS = 48  # beyond MAX_TRACES: one trace per colour, at most this many (each trace costs a redraw ~2 ms)
RANGE_PAD = 0.04  # share of the span added on each side of the points
OUTPUT_NOTE = "probabilities: most points sit near the corners of the simplex"


def method_title(layer_name: str, method: str, used: float | None, requested: float | None,
                 kind: str | None = None) -> str:
    """The map's title; for the output layer a second line says why its map looks collapsed."""
    if method == "pca":
        text = f"{layer_name} · PCA"
    else:
        text = f"{layer_name} · t-SNE · perplexity {used:g}"
        if requested is not None and used is not None and abs(used - requested) > 1e-6:
            text += f" (asked {requested:g}, capped for N)"
    if kind == "output":
        text += f"<br><sup>{OUTPUT_NOTE}</sup>"
    return text


def axis_titles(method: str, variance=None) -> tuple[str, str]:
    """Axis titles: the principal components with their share of the variance, or t-SNE's two
    dimensions (whose values mean nothing, so the ticks stay hidden)."""
    if method != "pca":
        return "t-SNE 1", "t-SNE 2"
    shares = [float(v) for v in (variance if variance is not None else [])]
    first = f"PC1 ({shares[0]:.0%} of variance)" if len(shares) > 0 else "PC1"
    second = f"PC2 ({shares[1]:.0%})" if len(shares) > 1 else "PC2"
    return first, second


def axis_ranges(xs: list[np.ndarray], ys: list[np.ndarray]) -> tuple[list[float], list[float]]:
    """Fixed x and y ranges around all these points, so filtering never rescales the map."""
    def span(values: list[np.ndarray]) -> list[float]:
        flat = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values]) if values else np.zeros(1)
        low, high = (float(flat.min()), float(flat.max())) if flat.size else (0.0, 0.0)
        pad = (high - low) * RANGE_PAD or 1.0
        return [round(low - pad, 3), round(high + pad, 3)]
    return span(xs), span(ys)


def map_points(view: View) -> pd.DataFrame:
    """Every sample of the view's map (its layer, method and perplexity), with its sample columns."""
    return cached.embedding(view.catalog, view.layer_id, view.method, view.perplexity_requested).merge(
        cached.samples(view.catalog), on="sample_id")


def shown_points(view: View) -> pd.DataFrame:
    """The samples the view's show filter keeps on its map."""
    points = map_points(view)
    wanted = SHOW_FILTERS[view.show]
    return points if wanted is None else points[points.correct == wanted]


def figure_spec(view: View, layer_name: str, layer_kind: str | None = None,
                highlight: tuple[int, ...] | None = None,
                marker: tuple[float, float, str] | None = None, dragmode: str = "pan", height: int = 500) -> dict:
    """The data map's figure dict for a view: `highlight` rings samples, `marker` is a starred point
    (the user's image), `dragmode` is plotly's ('pan', 'select', 'lasso')."""
    # the channel, the pictures (app/map_pictures.py) and the cluster names (layout annotations added to
    # the cached spec) do not change the figure's points: left out of the cache key
    spec = _cached_spec(replace(view, channel=None, cluster_names=True, pictures=True), layer_name, layer_kind,
                        highlight, marker, dragmode, height)
    if not view.cluster_names:
        return spec
    return cluster_names.with_names(spec, cached.clusters(view.catalog, view.layer_id, view.method,
                                                          view.perplexity_requested))


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_spec(view: View, layer_name: str, layer_kind: str | None, highlight: tuple[int, ...] | None,
                 marker: tuple[float, float, str] | None, dragmode: str, height: int) -> dict:
    """Colours and axis ranges come from every point of the map, whatever the show filter keeps."""
    title = method_title(layer_name, view.method, view.perplexity_used, view.perplexity_requested, kind=layer_kind)
    variance = (cached.reference(view.catalog, view.layer_id).explained_variance_ratio
                if view.method == "pca" else None)
    return figure_dict(map_points(view), view.colour_by, title, view.pinned, height=height, highlight=highlight,
                       marker=marker, dragmode=dragmode, show=view.show, axes=axis_titles(view.method, variance))


def figure_dict(points: pd.DataFrame, colour_by: str, title: str, pinned: int | None,
                height: int = 520, highlight: tuple[int, ...] | None = None,
                marker: tuple[float, float, str] | None = None, dragmode: str = "pan",
                show: str = "all", axes: tuple[str, str] | None = None) -> dict:
    """points: sample_id, x, y and the sample columns of the whole map; one trace per category.

    Colours and axis ranges come from all the points, and `show` ("all", "correct", "incorrect")
    only hides points (see `keep_shown`), so a filtered map keeps its colours and its frame.
    Every per-point value is a numpy array (float32 coordinates, int32 sample ids, numeric colours):
    plotly sends those to the browser as base64 typed arrays, a few bytes a point, where JSON lists of
    numbers and strings cost ten times more to send and parse at 50,000 points. The hover label is
    therefore the sample id and the trace's name (the inspector shows the rest), not a string per point.
    Built as a plain dict (plotly's validation costs ~1 ms per trace); `figure()` wraps it as is.
    """
    column = COLOUR_BY[colour_by]
    kind = "scattergl" if len(points) >= WEBGL_FROM else "scatter"
    ids = points.sample_id.to_numpy().astype(np.int32)
    # customdata[0] is the sample id (the bridge, the selection and the benchmarks read it): one column,
    # so that plotly.js hands each point a one-value row
    custom = ids.reshape(-1, 1)
    x = points.x.to_numpy().astype(np.float32)
    y = points.y.to_numpy().astype(np.float32)
    correct = points.correct.to_numpy().astype(bool)
    size = marker_size(len(points))
    text = hover_text(points) if len(points) <= HOVER_TEXT_UP_TO else None

    def hover(mask, template: str) -> dict:
        """The hover of the points at `mask`: their class and prediction where the map is small enough."""
        return {"customdata": custom[mask], "hovertemplate": template} if text is None else {
            "customdata": custom[mask], "text": text[mask], "hovertemplate": HOVER_TEXT}

    traces = []
    correct_of_trace = []  # per trace: which of its points are correct predictions (None: always shown)
    legend = None
    if column == "confidence":
        traces.append({"type": kind, "x": x, "y": y, "mode": "markers", "name": "confidence",
                       **hover(slice(None), HOVER_ID),
                       "marker": {"size": size, "color": points.confidence.to_numpy().astype(np.float32),
                                  "colorscale": "Viridis", "cmin": 0, "cmax": 1,
                                  "colorbar": {"title": {"text": "confidence"}, "thickness": 12, "len": 0.8}}})
        correct_of_trace.append(correct)
    else:
        if column == "correct_text":
            values = np.where(correct, "correct", "wrong")
            colours = CORRECT_COLOURS
            categories = [c for c in ("correct", "wrong") if (values == c).any()]
        elif column == "group_name":
            values = points[column].astype(str).to_numpy()
            categories = [g for g in imagenet.GROUPS if (values == g).any()]
            categories += sorted(set(values) - set(categories))
            colours = {**category_colours(categories), **GROUP_COLOURS}
        else:
            values = points[column].astype(str).to_numpy()
            categories = sorted(set(values))
            colours = category_colours(categories)
        if len(categories) > MAX_TRACES:
            # hundreds of legend entries cost a second per redraw, and a colour per point costs plotly a
            # string per point: one trace per colour (at most MAX_COLOURS; beyond that, categories
            # MAX_COLOURS apart in the legend's order share one), no plotly legend, the legend as HTML
            slots = min(len(categories), MAX_COLOURS)
            slot_colours = category_colours([str(i) for i in range(slots)])
            colours = {c: slot_colours[str(i % slots)] for i, c in enumerate(categories)}
            slot = pd.Categorical(values, categories=categories).codes.astype(np.int64) % slots
            for k in range(slots):
                mask = slot == k
                if mask.any():
                    traces.append({"type": kind, "x": x[mask], "y": y[mask], "mode": "markers",
                                   "name": f"{colour_by} {k + 1}", **hover(mask, HOVER_ID), "showlegend": False,
                                   "marker": {"size": size, "color": slot_colours[str(k)], "line": {"width": 0}}})
                    correct_of_trace.append(correct[mask])
            counts = pd.Series(values).value_counts()
            legend = [(c, colours[c], int(counts[c])) for c in categories]
            categories = []
        for category in categories:
            mask = values == category
            traces.append({"type": kind, "x": x[mask], "y": y[mask], "mode": "markers",
                           "name": category, **hover(mask, HOVER_NAMED),
                           "marker": {"size": size, "color": colours[category], "line": {"width": 0}}})
            correct_of_trace.append(correct[mask])
    shapes = []
    if pinned is not None and (ids == pinned).any():
        i = int(np.flatnonzero(ids == pinned)[0])
        if SHOWN.get(show) in (None, bool(correct[i])):
            shapes.append(pinned_ring(float(x[i]), float(y[i])))
    if highlight:
        mask = np.isin(ids, np.asarray(highlight, dtype=np.int64))
        if mask.any():
            traces.append({"type": kind if mask.sum() >= WEBGL_FROM else "scatter", "x": x[mask], "y": y[mask],
                           "mode": "markers", "name": "highlighted", "hoverinfo": "skip", "showlegend": False,
                           "customdata": custom[mask],
                           "marker": {"size": size + 5, "color": "rgba(0,0,0,0)",
                                      "line": {"width": 2 if mask.sum() < RING_THIN_FROM else 1, "color": "#ffffff"}}})
            correct_of_trace.append(correct[mask])
    annotations = []
    if marker is not None:
        mx, my, label = marker
        # the trace hovers; the star and its label are drawn by a layout shape and annotation, which lie
        # above the map's pictures (app/map_pictures.js draws them under the shapes) where a trace lies under them
        traces.append({"type": "scatter", "x": [round(float(mx), 3)], "y": [round(float(my), 3)],
                       "mode": "markers", "name": "your image", "showlegend": False,
                       "hovertemplate": f"{escape(label)}<extra></extra>",
                       "marker": {"size": 20, "symbol": "star", "color": "rgba(0,0,0,0)"}})
        correct_of_trace.append(None)
        shapes.append(star(float(mx), float(my)))
        annotations.append({"x": round(float(mx), 3), "y": round(float(my), 3), "xref": "x", "yref": "y",
                            "text": escape(label), "showarrow": False, "yanchor": "bottom", "yshift": 11,
                            "font": {"color": "#ffd166", "size": 12}, "bgcolor": "rgba(14,17,23,0.7)",
                            "name": "your image"})
    x_range, y_range = axis_ranges([x] + ([[marker[0]]] if marker else []), [y] + ([[marker[1]]] if marker else []))
    layout = {
        "title": {"text": title, "x": 0.01, "font": {"size": 15}}, "height": height,
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#11151d",
        "margin": {"l": 10, "r": 10, "t": 58 if "<br>" in title else 40, "b": 10},
        "hovermode": "closest", "dragmode": dragmode, "shapes": shapes, "annotations": annotations,
        "uirevision": title.split(" · ")[0], "font": {"color": "#e6e6e6"},
        # a new highlight drops plotly's own selection state (its dimming, its box) kept across updates
        # of the mounted plot: the rings are the selection shown
        "selectionrevision": selection_revision(highlight),
        "legend": {"font": {"size": 10}, "itemsizing": "constant", "tracegroupgap": 0,
                   "title": {"text": colour_by}},
        "xaxis": {"showticklabels": False, "zeroline": False, "showgrid": False, "range": x_range},
        "yaxis": {"showticklabels": False, "zeroline": False, "showgrid": False, "range": y_range},
    }
    spec = {"data": traces, "layout": layout, "html_legend": legend, "correct": correct_of_trace}
    return keep_shown(with_axis_titles(spec, axes), show)


def selection_revision(highlight: tuple[int, ...] | None) -> str:
    ids = np.asarray(highlight or (), dtype=np.int64)
    return f"{len(ids)}-{zlib.crc32(ids.tobytes()):08x}"


def pinned_ring(x: float, y: float) -> dict:
    """The pinned sample's ring: a layout shape, 16 px across whatever the zoom, not a trace, so that
    pinning another sample changes the layout only and plotly redraws the ring, not 50,000 points."""
    r = 8
    return {"type": "circle", "xref": "x", "yref": "y", "xsizemode": "pixel", "ysizemode": "pixel",
            "xanchor": round(x, 4), "yanchor": round(y, 4), "x0": -r, "x1": r, "y0": -r, "y1": r,
            "line": {"color": "#ff4b4b", "width": 2.5}, "layer": "above", "name": "pinned"}


def star(x: float, y: float, outer: float = 11.0) -> dict:
    """The uploaded image's five-pointed star at (x, y): a layout shape `outer` px in radius whatever the
    zoom, drawn above the map's pictures."""
    corners = []
    for k in range(10):
        radius = outer if k % 2 == 0 else outer * 0.42
        angle = math.pi / 2 + k * math.pi / 5
        corners.append(f"{radius * math.cos(angle):.2f},{radius * math.sin(angle):.2f}")
    return {"type": "path", "xref": "x", "yref": "y", "xsizemode": "pixel", "ysizemode": "pixel",
            "xanchor": round(x, 4), "yanchor": round(y, 4), "path": "M" + "L".join(corners) + "Z",
            "fillcolor": "#ffd166", "line": {"color": "#000000", "width": 1.5}, "layer": "above",
            "name": "your image"}


HOVER_NAMED = "#%{customdata[0]} · %{fullData.name}<extra></extra>"  # the trace's name is the category
HOVER_ID = "#%{customdata[0]}<extra></extra>"
HOVER_TEXT = "#%{customdata[0]} · %{text}<extra></extra>"
# Up to this many points each carries its hover text (true class, group, prediction): a few dozen bytes a
# point, so a big map keeps the id and the colour's category, and the inspector shows the rest.
HOVER_TEXT_UP_TO = 2000


def hover_text(points: pd.DataFrame) -> np.ndarray:
    """`tench (fish)<br>predicted goldfish, 62% · wrong` for each point, as an array of strings."""
    verdict = np.where(points.correct.to_numpy().astype(bool), "correct", "wrong")
    return np.array([f"{escape(str(label))} ({escape(str(group))})<br>predicted {escape(str(pred))}, "
                     f"{float(conf):.0%} · {ok}" for label, group, pred, conf, ok in
                     zip(points.label_name, points.group_name, points.pred_name, points.confidence, verdict)],
                    dtype=object)


def marker_size(n: int) -> int:
    """Smaller dots for bigger maps: 50,000 dots of 7 px would hide one another (and cost the browser's
    software WebGL twice the time to fill)."""
    return 7 if n <= 2000 else 5 if n <= 10000 else 4


SHOWN = {"correct": True, "incorrect": False}


def keep_shown(spec: dict, show: str = "all") -> dict:
    """The figure with only correct or only incorrect predictions drawn ("all": unchanged).

    Each trace keeps its colour, name and the layout keeps its axis ranges: points are hidden, not
    re-coloured or re-framed. Needs the per-trace "correct" arrays that `figure_dict` stores.
    """
    wanted = SHOWN.get(show)
    if wanted is None or spec.get("correct") is None:
        return spec
    traces = []
    for trace, correct in zip(spec["data"], spec["correct"]):
        if correct is None:
            traces.append(trace)
            continue
        keep = np.flatnonzero(np.asarray(correct, dtype=bool) == wanted)
        traces.append(_subset(trace, keep, len(correct)))
    correct = [c if c is None else np.asarray(c, dtype=bool)[np.asarray(c, dtype=bool) == wanted]
               for c in spec["correct"]]
    return {**spec, "data": traces, "correct": correct}


def _subset(trace: dict, keep: np.ndarray, n: int) -> dict:
    """The trace with only the points at `keep`: every per-point array (x, y, customdata, colours)."""
    out = dict(trace)
    if not len(keep) and trace.get("showlegend", True):
        # one gap instead of no points: plotly keeps the legend entry, so the legend (and with it the
        # plot's width) stays as it was
        return {**out, "x": [None], "y": [None], "customdata": [], "text": []}
    for name in ("x", "y", "customdata", "text"):
        if isinstance(trace.get(name), (list, np.ndarray)) and len(trace[name]) == n:
            out[name] = np.asarray(trace[name])[keep]
    marker = trace.get("marker")
    if isinstance(marker, dict) and isinstance(marker.get("color"), (list, np.ndarray)) and len(marker["color"]) == n:
        out["marker"] = {**marker, "color": np.asarray(marker["color"])[keep]}
    return out


def with_axis_titles(spec: dict, axes: tuple[str, str] | None) -> dict:
    """The figure with these x and y axis titles (and room for them); None: unchanged."""
    if not axes:
        return spec
    layout = spec["layout"]
    small = {"size": 11, "color": "#9aa4b5"}
    return {**spec, "layout": {
        **layout, "margin": {**layout["margin"], "l": 28, "b": 28},
        "xaxis": {**layout["xaxis"], "title": {"text": axes[0], "font": small, "standoff": 4}},
        "yaxis": {**layout["yaxis"], "title": {"text": axes[1], "font": small, "standoff": 4}}}}


# box and lasso are the "Drag to" control's, zoom steps the wheel's: a short modebar that leaves the title
# readable. A double click returns to the map's own ranges, never to plotly's autorange: plotly's default
# toggles between the two, so two quick clicks on points moved every point under the pointer.
CONFIG = {"displaylogo": False, "scrollZoom": True, "doubleClick": "reset",
          "modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"]}
# two maps side by side whose box or lasso selections are linked (Compare layers, Compare models): the
# mode bar's select and lasso tools, no scroll zoom (the page scrolls over them), a double click back to
# the map's own ranges
LINKED_CONFIG = {"displaylogo": False, "doubleClick": "reset"}
KEY = "datamap_chart"  # the Explorer's data map
# what Streamlit's chart theme gave the map, said here since the mounted chart draws the figure as is
MOUNTED_LAYOUT = {"font": {"color": "#e6e6e6", "family": '"Source Sans Pro", "Source Sans", sans-serif'},
                  "hoverlabel": {"font": {"family": '"Source Sans Pro", "Source Sans", sans-serif'}},
                  "modebar": {"bgcolor": "rgba(0,0,0,0)", "color": "#9aa4b5", "activecolor": "#e6e6e6"}}


def draw(spec: dict, key: str = KEY, map_id: str | None = None, config: dict | None = None,
         on_select=None) -> None:
    """The data map, in a chart that stays mounted (app/plotly_view.py): a layer switch, a pin or a
    selection updates the plot where it is; Streamlit's own chart where plotly.js cannot be served.
    `map_id` names the map in its layout's meta (the map's pictures are made for one map); `config` is
    plotly's (CONFIG unless given); `on_select` runs on a box or lasso selection (its ids:
    `app.charts.selected_sample_ids(key)`); a selection made another way (the plot bridge) is counted
    with `plotly_view.count_answered(key)`, so that each one, even of the samples already ringed, drops
    plotly's own outline and dimming."""
    layout = {**spec["layout"], **MOUNTED_LAYOUT, **({"meta": {"map": map_id}} if map_id else {})}
    config = CONFIG if config is None else config
    if not plotly_view.chart({"data": spec["data"], "layout": layout}, key=key, height=layout["height"],
                             config=config, on_select=on_select, lead=True):
        st.plotly_chart(figure(spec), width="stretch", key=key, config=config,
                        **plotly_view.fallback_events(None, on_select))


def figure(spec: dict, show: str = "all", axes: tuple[str, str] | None = None) -> go.Figure:
    """The plotly figure of a `figure_dict` spec, optionally filtered (`keep_shown`) and with axis titles."""
    spec = with_axis_titles(keep_shown(spec, show), axes)
    return go.Figure({"data": spec["data"], "layout": spec["layout"]}, _validate=False)
