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

COLOUR_BY = {
    "class": "label_name", "coarse group": "group_name", "predicted class": "pred_name",
    "correct or not": "correct_text", "confidence": "confidence",
}
WEBGL_FROM = 300
MAX_TRACES = 40  # up to this many categories: one trace each, with plotly's own (clickable) legend
PALETTE = ["#4f8ff7", "#f29e4c", "#3ccf91", "#ef5b5b", "#a77bf3", "#f4d35e", "#2ec4d6", "#ff7eb6",
           "#9ccc65", "#c0a080", "#7986cb", "#e57373", "#4db6ac", "#ffb74d", "#ba68c8", "#90a4ae"]


def method_title(layer_name: str, method: str, used: float | None, requested: float | None) -> str:
    """The map's title: layer, method and, for t-SNE, the perplexity used (and asked, when capped)."""
    if method == "pca":
        return f"{layer_name} · PCA"
    text = f"{layer_name} · t-SNE · perplexity {used:g}"
    if requested is not None and used is not None and abs(used - requested) > 1e-6:
        text += f" (asked {requested:g}, capped for N)"
    return text


def shown_points(view: View) -> pd.DataFrame:
    """The samples on the view's map (its layer, method and perplexity, its show filter), with their
    coordinates and sample columns."""
    shown = cached.embedding(view.catalog, view.layer_id, view.method, view.perplexity_requested).merge(
        cached.samples(view.catalog), on="sample_id")
    wanted = SHOW_FILTERS[view.show]
    return shown if wanted is None else shown[shown.correct == wanted]


def figure_spec(view: View, layer_name: str, highlight: tuple[int, ...] | None = None,
                marker: tuple[float, float, str] | None = None, dragmode: str = "pan", height: int = 500) -> dict:
    """The data map's figure dict for a view: `highlight` rings samples, `marker` is a starred point
    (the user's image), `dragmode` is plotly's ('pan', 'select', 'lasso')."""
    # the channel does not change the map: left out of the cache key, so picking one costs nothing here
    return _cached_spec(replace(view, channel=None), layer_name, highlight, marker, dragmode, height)


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_spec(view: View, layer_name: str, highlight: tuple[int, ...] | None,
                 marker: tuple[float, float, str] | None, dragmode: str, height: int) -> dict:
    title = method_title(layer_name, view.method, view.perplexity_used, view.perplexity_requested)
    return figure_dict(shown_points(view), view.colour_by, title, view.pinned, height=height, highlight=highlight,
                       marker=marker, dragmode=dragmode)


def figure_dict(points: pd.DataFrame, colour_by: str, title: str, pinned: int | None,
                height: int = 520, highlight: tuple[int, ...] | None = None,
                marker: tuple[float, float, str] | None = None, dragmode: str = "pan") -> dict:
    """points: sample_id, x, y and the sample columns; one trace per category (a legend per class).

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
    traces = []
    legend = None
    if column == "confidence":
        traces.append({"type": kind, "x": x.tolist(), "y": y.tolist(), "mode": "markers", "name": "confidence",
                       "customdata": custom.tolist(), "hovertemplate": hover,
                       "marker": {"size": 7, "color": points.confidence.astype(float).round(3).tolist(),
                                  "colorscale": "Viridis", "cmin": 0, "cmax": 1,
                                  "colorbar": {"title": {"text": "confidence"}, "thickness": 12, "len": 0.8}}})
    else:
        if column == "correct_text":
            values = np.where(points.correct.to_numpy(), "correct", "wrong")
            colours = {"correct": "#3ccf91", "wrong": "#ef5b5b"}
            categories = [c for c in ("correct", "wrong") if (values == c).any()]
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
            counts = pd.Series(values).value_counts()
            legend = [(c, colours[c], int(counts[c])) for c in categories]
            categories = []
        for category in categories:
            mask = values == category
            traces.append({"type": kind, "x": x[mask].tolist(), "y": y[mask].tolist(), "mode": "markers",
                           "name": category, "customdata": custom[mask].tolist(), "hovertemplate": hover,
                           "marker": {"size": 7, "color": colours[category], "line": {"width": 0}}})
    if pinned is not None and (points.sample_id == pinned).any():
        i = int(np.flatnonzero(points.sample_id.to_numpy() == pinned)[0])
        traces.append({"type": "scatter", "x": [x[i]], "y": [y[i]], "mode": "markers", "name": "pinned",
                       "hoverinfo": "skip", "showlegend": False,
                       "marker": {"size": 16, "color": "rgba(0,0,0,0)", "line": {"width": 2.5, "color": "#ff4b4b"}}})
    if highlight:
        mask = points.sample_id.isin(list(highlight)).to_numpy()
        if mask.any():
            traces.append({"type": "scatter", "x": x[mask].tolist(), "y": y[mask].tolist(), "mode": "markers",
                           "name": "highlighted", "hoverinfo": "skip", "showlegend": False,
                           "customdata": custom[mask].tolist(),
                           "marker": {"size": 12, "color": "rgba(0,0,0,0)",
                                      "line": {"width": 2, "color": "#ffffff"}}})
    if marker is not None:
        mx, my, label = marker
        traces.append({"type": "scatter", "x": [round(float(mx), 3)], "y": [round(float(my), 3)],
                       "mode": "markers+text", "name": "your image", "text": [label], "textposition": "top center",
                       "textfont": {"color": "#ffd166", "size": 12}, "showlegend": False,
                       "hovertemplate": f"{label}<extra></extra>",
                       "marker": {"size": 20, "symbol": "star", "color": "#ffd166",
                                  "line": {"width": 1.5, "color": "#000000"}}})
    layout = {
        "title": {"text": title, "x": 0.01, "font": {"size": 15}}, "height": height,
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "#11151d",
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "hovermode": "closest", "dragmode": dragmode,
        "uirevision": title.split(" · ")[0], "font": {"color": "#e6e6e6"},
        "legend": {"font": {"size": 10}, "itemsizing": "constant", "tracegroupgap": 0,
                   "title": {"text": colour_by}},
        "xaxis": {"showticklabels": False, "zeroline": False, "showgrid": False},
        "yaxis": {"showticklabels": False, "zeroline": False, "showgrid": False},
    }
    return {"data": traces, "layout": layout, "html_legend": legend}


def figure(spec: dict) -> go.Figure:
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
  let bound = null, timer = null, last = null;
  const idOf = (ev) => {
    const p = ev && ev.points && ev.points[0];
    if (!p || !p.customdata) return null;
    return Number(p.customdata[0]);
  };
  const onHover = (ev) => {
    const id = idOf(ev);
    if (id === null || id === last) return;
    last = id;
    window.__lsHoverAt = performance.now();
    setTriggerValue('hover', id);
  };
  const onClick = (ev) => {
    const id = idOf(ev);
    if (id === null) return;
    setTriggerValue('click', id);
  };
  const bind = () => {
    const gd = document.querySelector(selector);
    if (!gd || !gd._ev || gd === bound && gd.__lsBridge === onHover) return;
    if (typeof gd.on !== 'function') return;
    gd.on('plotly_hover', onHover);
    gd.on('plotly_click', onClick);
    gd.__lsBridge = onHover;
    bound = gd;
  };
  bind();
  timer = setInterval(bind, 200);
  return () => {
    clearInterval(timer);
    if (bound && bound.removeListener) {
      bound.removeListener('plotly_hover', onHover);
      bound.removeListener('plotly_click', onClick);
      bound.__lsBridge = null;
    }
  };
}
"""

_bridge = st.components.v2.component("layerscope.plot_bridge", js=_BRIDGE_JS)


def bridge(container_key: str, key: str, on_hover=None, on_click=None):
    """Mount the bridge for the plotly chart inside st.container(key=container_key)."""
    callbacks = {"on_hover_change": on_hover or (lambda: None), "on_click_change": on_click or (lambda: None)}
    return _bridge(data={"selector": f".st-key-{container_key} .js-plotly-plot"}, key=key, height=0,
                   **callbacks)
