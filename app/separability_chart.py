"""The separability chart beside the layer map: each layer's 10-NN accuracy over depth; a click on a
point selects that layer."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from app.browser_values import as_int
from app.charts import DARK, selected_points


SETTLED_COLOUR = "#f0b429"


def figure(frame: pd.DataFrame, by: str, selected: int, settled: pd.DataFrame | None = None) -> go.Figure:
    """Accuracy over depth, the selected layer ringed; with `settled` (depth.settled_curve's frame, not
    empty) a second line: the share of samples settled by each layer. Built as a plain dict without plotly's validation
    (it ran on every rerun: about 25 ms of each layer switch)."""
    traces = [{"type": "scatter", "x": [int(v) for v in frame.position], "y": frame.accuracy.round(4).tolist(),
               "mode": "lines+markers", "name": by,
               "customdata": [[int(i), str(n)] for i, n in zip(frame.layer_id, frame.name)],
               "hovertemplate": "%{customdata[1]}<br>10-NN accuracy: %{y:.1%}<extra></extra>",
               "marker": {"size": 7, "color": "#4f8ff7"}, "line": {"color": "#4f8ff7"}}]
    if settled is not None and len(settled):
        traces.append({"type": "scatter", "x": [int(v) for v in settled.position],
                       "y": settled.settled.astype(float).round(4).tolist(), "mode": "lines", "name": "settled",
                       "customdata": [[int(i), str(n)] for i, n in zip(settled.layer_id, settled.name)],
                       "hovertemplate": "%{customdata[1]}<br>settled by here: %{y:.1%}<extra></extra>",
                       "line": {"color": SETTLED_COLOUR, "dash": "dot", "width": 1.5}})
    row = frame[frame.layer_id == selected]
    if len(row):
        traces.append({"type": "scatter", "x": [int(row.position.iloc[0])], "y": [float(row.accuracy.iloc[0])],
                       "mode": "markers", "hoverinfo": "skip", "showlegend": False, "name": "selected layer",
                       "marker": {"size": 14, "color": "rgba(0,0,0,0)", "line": {"width": 2.5, "color": "#ff4b4b"}}})
    layout = {**DARK, "height": 170, "margin": {"l": 10, "r": 10, "t": 28, "b": 12}, "showlegend": False,
              "title": {"text": f"Separability: {by} labels", "font": {"size": 12}, "x": 0.01},
              "xaxis": {"showticklabels": False, "showgrid": False, "zeroline": False},
              "yaxis": {"tickformat": ".0%", "gridcolor": "#252c3b", "rangemode": "tozero"},
              "dragmode": False, "clickmode": "event+select", "hovermode": "closest"}
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def caption(by: str, settled: bool = False) -> str:
    """One short line under the chart; the details are in its help (help_text)."""
    line = " · :orange[dotted]: share of samples settled" if settled else ""
    return f"10-NN accuracy of the **{by}** labels per layer{line} · click a point to select it"


def help_text(by: str) -> str:
    text = ("For each layer: leave-one-out 10-nearest-neighbour accuracy of the true labels by cosine "
            "distance in the layer's PCA space, in network order (input left, output right). Higher means the layer separates the "
            "labels better.")
    if by != "class":
        text += (" Shown for the coarse group labels: no class has 2+ samples in this catalog, so the class "
                 "figure says nothing.")
    return text + SETTLED_HELP


SETTLED_HELP = (" The dotted line: the share of all samples settled by each layer, i.e. whose neighbours' vote is "
                "the model's own answer there and at every deeper layer.")


def clicked_layer(key: str) -> int | None:
    """The layer_id of the point clicked on the chart with this widget key (None when none is, or when
    the browser sent something else than a point with an integer id)."""
    points = selected_points(key)
    custom = points[0].get("customdata") if points and isinstance(points[0], dict) else None
    return as_int(custom[0]) if isinstance(custom, (list, tuple)) and custom else None


SHALLOW = 0.8  # a layer under this share of the best layer's 10-NN accuracy: its neighbours mean little yet


def depth_hint(frame: pd.DataFrame, by: str, layer_id: int) -> str | None:
    """Where the layer's neighbours group the catalog's labels much worse than the best layer's: a line
    that says so and names that layer (near neighbours at a shallow layer share colours and textures, not
    what the picture shows), or None."""
    row = frame[frame.layer_id == layer_id]
    if not len(row) or frame.accuracy.isna().all():
        return None
    best = frame.loc[frame.accuracy.idxmax()]
    here = float(row.accuracy.iloc[0])
    if here >= SHALLOW * float(best.accuracy):
        return None
    return (f"At this layer the 10 nearest neighbours share a sample's {by} {here:.0%} of the time; at "
            f"**{best['name']}** {float(best.accuracy):.0%}. Near here means similar colours and textures; "
            f"deeper layers are where neighbours mean similar content (pick **{best['name']}** on the layer map).")
