"""The data map: a plotly scatter of one layer's embedding, and a bridge that reports hover/click.

The scatter is Streamlit's own plotly chart (WebGL above a few hundred points). The bridge is a
small components-v2 element with no visible UI: its script finds the chart's plotly graph in the
page and forwards `plotly_hover` and `plotly_click` as trigger values, so hovering reruns only the
fragment that holds the bridge (the inspector), never the whole page.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import cached
from app.markup import escape
from app.view import SHOW_FILTERS, View
from core import imagenet

COLOUR_BY = {
    "class": "label_name", "coarse group": "group_name", "predicted class": "pred_name",
    "correct or not": "correct_text", "confidence": "confidence",
}
WEBGL_FROM = 300
MAX_TRACES = 40  # up to this many categories: one trace each, with plotly's own (clickable) legend
# One colour per coarse group, always the same one: twelve from well-known qualitative sets (Okabe-Ito,
# Tableau 10, Kelly's) and a violet they lack, picked so that every pair is far apart in CIELAB (delta-E
# at least 23) and each stands out on the dark plot (contrast at least 4:1).
GROUP_COLOURS = dict(zip(imagenet.GROUPS, (
    "#56B4E9",  # fish: sky blue
    "#F0E442",  # birds: yellow
    "#008856",  # amphibians & reptiles: green
    "#CC79A7",  # invertebrates: reddish purple
    "#E15759",  # dogs: red
    "#F38400",  # other mammals: orange
    "#4E79A7",  # vehicles: steel blue
    "#76B7B2",  # devices: teal
    "#FF9DA7",  # clothing: pink
    "#C2B280",  # household: buff
    "#8DB600",  # sports: yellow-green
    "#848482",  # structures & scenes: grey
    "#9D7AE0",  # food & plants: violet
)))
PALETTE = list(GROUP_COLOURS.values()) + ["#A1CAF1", "#B07AA1", "#9C755F"]
CORRECT_COLOURS = {"correct": "#3ccf91", "wrong": "#ef5b5b"}
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
    # the channel does not change the map: left out of the cache key, so picking one costs nothing here
    return _cached_spec(replace(view, channel=None), layer_name, layer_kind, highlight, marker, dragmode, height)


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_spec(view: View, layer_name: str, layer_kind: str | None, highlight: tuple[int, ...] | None,
                 marker: tuple[float, float, str] | None, dragmode: str, height: int) -> dict:
    """Colours and axis ranges come from every point of the map, whatever the show filter keeps."""
    title = method_title(layer_name, view.method, view.perplexity_used, view.perplexity_requested, kind=layer_kind)
    variance = (cached.reference(view.catalog, view.layer_id).get("explained_variance_ratio")
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
    Built as a plain dict (plotly's validation costs ~1 ms per trace, and a class legend may have
    hundreds); `figure()` wraps it without validating again.
    """
    column = COLOUR_BY[colour_by]
    kind = "scattergl" if len(points) >= WEBGL_FROM else "scatter"
    hover = ("#%{customdata[0]} %{customdata[1]}<br>true: %{customdata[2]}<br>"
             "predicted: %{customdata[3]} (%{customdata[4]:.0%})<extra></extra>")
    custom = np.stack([points.sample_id.to_numpy().astype(object), points.key.to_numpy(),
                       points.label_name.to_numpy(), points.pred_name.to_numpy(),
                       np.round(points.confidence.to_numpy().astype(float), 3).astype(object)], axis=1)
    x = np.round(points.x.to_numpy().astype(float), 3)
    y = np.round(points.y.to_numpy().astype(float), 3)
    correct = points.correct.to_numpy().astype(bool)
    traces = []
    correct_of_trace = []  # per trace: which of its points are correct predictions (None: always shown)
    legend = None
    if column == "confidence":
        traces.append({"type": kind, "x": x.tolist(), "y": y.tolist(), "mode": "markers", "name": "confidence",
                       "customdata": custom.tolist(), "hovertemplate": hover,
                       "marker": {"size": 7, "color": points.confidence.astype(float).round(3).tolist(),
                                  "colorscale": "Viridis", "cmin": 0, "cmax": 1,
                                  "colorbar": {"title": {"text": "confidence"}, "thickness": 12, "len": 0.8}}})
        correct_of_trace.append(correct.tolist())
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
            # hundreds of traces (and plotly legend entries) cost a second per redraw: one trace with
            # per-point colours, and the legend drawn as HTML beside the plot
            traces.append({"type": kind, "x": x.tolist(), "y": y.tolist(), "mode": "markers", "name": colour_by,
                           "customdata": custom.tolist(), "hovertemplate": hover, "showlegend": False,
                           "marker": {"size": 7, "color": [colours[v] for v in values], "line": {"width": 0}}})
            correct_of_trace.append(correct.tolist())
            counts = pd.Series(values).value_counts()
            legend = [(c, colours[c], int(counts[c])) for c in categories]
            categories = []
        for category in categories:
            mask = values == category
            traces.append({"type": kind, "x": x[mask].tolist(), "y": y[mask].tolist(), "mode": "markers",
                           "name": category, "customdata": custom[mask].tolist(), "hovertemplate": hover,
                           "marker": {"size": 7, "color": colours[category], "line": {"width": 0}}})
            correct_of_trace.append(correct[mask].tolist())
    if pinned is not None and (points.sample_id == pinned).any():
        i = int(np.flatnonzero(points.sample_id.to_numpy() == pinned)[0])
        traces.append({"type": "scatter", "x": [x[i]], "y": [y[i]], "mode": "markers", "name": "pinned",
                       "hoverinfo": "skip", "showlegend": False,
                       "marker": {"size": 16, "color": "rgba(0,0,0,0)", "line": {"width": 2.5, "color": "#ff4b4b"}}})
        correct_of_trace.append([bool(correct[i])])
    if highlight:
        mask = points.sample_id.isin(list(highlight)).to_numpy()
        if mask.any():
            traces.append({"type": "scatter", "x": x[mask].tolist(), "y": y[mask].tolist(), "mode": "markers",
                           "name": "highlighted", "hoverinfo": "skip", "showlegend": False,
                           "customdata": custom[mask].tolist(),
                           "marker": {"size": 12, "color": "rgba(0,0,0,0)",
                                      "line": {"width": 2, "color": "#ffffff"}}})
            correct_of_trace.append(correct[mask].tolist())
    if marker is not None:
        mx, my, label = marker
        traces.append({"type": "scatter", "x": [round(float(mx), 3)], "y": [round(float(my), 3)],
                       "mode": "markers+text", "name": "your image", "text": [label], "textposition": "top center",
                       "textfont": {"color": "#ffd166", "size": 12}, "showlegend": False,
                       "hovertemplate": f"{label}<extra></extra>",
                       "marker": {"size": 20, "symbol": "star", "color": "#ffd166",
                                  "line": {"width": 1.5, "color": "#000000"}}})
        correct_of_trace.append(None)
    x_range, y_range = axis_ranges([x] + ([[marker[0]]] if marker else []), [y] + ([[marker[1]]] if marker else []))
    layout = {
        "title": {"text": title, "x": 0.01, "font": {"size": 15}}, "height": height,
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#11151d",
        "margin": {"l": 10, "r": 10, "t": 58 if "<br>" in title else 40, "b": 10},
        "hovermode": "closest", "dragmode": dragmode,
        "uirevision": title.split(" · ")[0], "font": {"color": "#e6e6e6"},
        "legend": {"font": {"size": 10}, "itemsizing": "constant", "tracegroupgap": 0,
                   "title": {"text": colour_by}},
        "xaxis": {"showticklabels": False, "zeroline": False, "showgrid": False, "range": x_range},
        "yaxis": {"showticklabels": False, "zeroline": False, "showgrid": False, "range": y_range},
    }
    spec = {"data": traces, "layout": layout, "html_legend": legend, "correct": correct_of_trace}
    return keep_shown(with_axis_titles(spec, axes), show)


SHOWN = {"correct": True, "incorrect": False}


def keep_shown(spec: dict, show: str = "all") -> dict:
    """The figure with only correct or only incorrect predictions drawn ("all": unchanged).

    Each trace keeps its colour, name and the layout keeps its axis ranges: points are hidden, not
    re-coloured or re-framed. Needs the per-trace "correct" lists that `figure_dict` stores.
    """
    wanted = SHOWN.get(show)
    if wanted is None or spec.get("correct") is None:
        return spec
    traces = []
    for trace, correct in zip(spec["data"], spec["correct"]):
        if correct is None:
            traces.append(trace)
            continue
        keep = [i for i, c in enumerate(correct) if c == wanted]
        traces.append(_subset(trace, keep, len(correct)))
    correct = [c if c is None else [v for v in c if v == wanted] for c in spec["correct"]]
    return {**spec, "data": traces, "correct": correct}


def _subset(trace: dict, keep: list[int], n: int) -> dict:
    """The trace with only the points at `keep`: every per-point list (x, y, customdata, colours)."""
    out = dict(trace)
    if not keep and trace.get("showlegend", True):
        # one gap instead of no points: plotly keeps the legend entry, so the legend (and with it the
        # plot's width) stays as it was
        return {**out, "x": [None], "y": [None], "customdata": [], "text": []}
    for name in ("x", "y", "customdata", "text"):
        if isinstance(trace.get(name), list) and len(trace[name]) == n:
            out[name] = [trace[name][i] for i in keep]
    marker = trace.get("marker")
    if isinstance(marker, dict) and isinstance(marker.get("color"), list) and len(marker["color"]) == n:
        out["marker"] = {**marker, "color": [marker["color"][i] for i in keep]}
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


def figure(spec: dict, show: str = "all", axes: tuple[str, str] | None = None) -> go.Figure:
    """The plotly figure of a `figure_dict` spec, optionally filtered (`keep_shown`) and with axis titles."""
    spec = with_axis_titles(keep_shown(spec, show), axes)
    return go.Figure({"data": spec["data"], "layout": spec["layout"]}, _validate=False)


def category_colours(categories: list[str]) -> dict[str, str]:
    if len(categories) <= len(PALETTE):
        return {c: PALETTE[i] for i, c in enumerate(categories)}
    n = len(categories)  # spread hues, alternating lightness so neighbours differ
    return {c: f"hsl({(i * 360 / n):.0f},{70 if i % 2 else 55}%,{62 if i % 2 else 50}%)"
            for i, c in enumerate(categories)}


def legend_html(entries: list[tuple[str, str, int]], title: str) -> str:
    items = "".join(f'<span class="ls-leg"><i style="background:{colour}"></i>{escape(name)}'
                    f'{f" ({count})" if count > 1 else ""}</span>' for name, colour, count in entries)
    return (f'<div class="ls-legend" data-testid="class-legend"><b>{escape(title)}</b> '
            f'({len(entries)}): {items}</div>')


_BRIDGE_JS = """
export default function(component) {
  const { data, setTriggerValue, parentElement } = component;
  const selector = data.selector;
  // This script runs again on every rerun of the inspector (every hover), while the element and the
  // plot survive: what must outlive one run (the last id sent, the timers, the handlers bound to the
  // plot) lives on the element, and each run replaces the previous run's, so plotly calls one handler.
  const mine = parentElement.__lsBridge = parentElement.__lsBridge || {last: null, timer: null, unhover: null};
  const idOf = (ev) => {
    const p = ev && ev.points && ev.points[0];
    if (!p || !p.customdata) return null;
    return Number(p.customdata[0]);
  };
  // the same point on another map (a new layer or method) is news again
  const mapOf = () => { const gd = document.querySelector(selector);
                        return gd && gd.layout && gd.layout.title ? String(gd.layout.title.text) : ''; };
  const onHover = (ev) => {
    const id = idOf(ev);
    clearTimeout(mine.unhover);
    if (id === null) return;
    const seen = id + ' @ ' + mapOf();
    if (seen === mine.last) return;
    mine.last = seen;
    window.__lsHoverAt = performance.now();
    setTriggerValue('hover', id);
  };
  // leaving a point: report "no hover" unless the pointer lands on another point right away (moving
  // from one point to the next fires unhover then hover)
  const onUnhover = () => {
    clearTimeout(mine.unhover);
    mine.unhover = setTimeout(() => {
      if (mine.last === null) return;
      mine.last = null;
      setTriggerValue('unhover', true);
    }, 150);
  };
  const onClick = (ev) => {
    const id = idOf(ev);
    if (id === null) return;
    setTriggerValue('click', id);
  };
  const handlers = {plotly_hover: onHover, plotly_unhover: onUnhover, plotly_click: onClick};
  const unbind = (gd) => {
    if (!gd || !gd.__lsHandlers || !gd.removeListener) return;
    Object.entries(gd.__lsHandlers).forEach(([name, fn]) => gd.removeListener(name, fn));
    gd.__lsHandlers = null;
  };
  const bind = () => {
    const gd = document.querySelector(selector);
    if (!gd || !gd._ev || typeof gd.on !== 'function' || gd.__lsHandlers === handlers) return;
    unbind(gd);
    Object.entries(handlers).forEach(([name, fn]) => gd.on(name, fn));
    gd.__lsHandlers = handlers;
  };
  clearInterval(mine.timer);
  bind();
  mine.timer = setInterval(bind, 200);
  const timer = mine.timer;
  return () => {
    if (mine.timer !== timer) return;  // a later run has taken over
    clearInterval(timer);
    unbind(document.querySelector(selector));
  };
}
"""

_bridge = st.components.v2.component("layerscope.plot_bridge", js=_BRIDGE_JS)


def bridge(container_key: str, key: str, on_hover=None, on_click=None, on_unhover=None):
    """Mount the bridge for the plotly chart inside st.container(key=container_key).

    Its result has `hover` (a sample id), `click` (a sample id) and `unhover` (True once the pointer
    has left the points), each set for the one run that follows the event.
    """
    callbacks = {"on_hover_change": on_hover or (lambda: None), "on_click_change": on_click or (lambda: None),
                 "on_unhover_change": on_unhover or (lambda: None)}
    return _bridge(data={"selector": f".st-key-{container_key} .js-plotly-plot"}, key=key, height=0,
                   **callbacks)
