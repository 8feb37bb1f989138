"""Cluster names on the data map: "dogs 87%" drawn at each named cluster, as layout annotations.

Annotations are layout, not traces: switching the names on or off, or pinning another sample, redraws
the layout only, never the map's points. Only the largest clusters are named (MAX_NAMES), a name
that would overlap a larger cluster's name is left out, and no name ever covers the pinned sample's
ring: a name whose box would reach the ring is moved just above or below it.

Placement is worked out in pixels of the plot as first drawn, with the narrowest plot area the map
is given (PLOT_MIN_WIDTH): a wider plot draws the same boxes smaller in data units, and zooming in
moves points apart while boxes and the ring keep their pixel size, so a name clear of the ring here
stays clear there.
"""
from __future__ import annotations

from html import escape

import pandas as pd

MAX_NAMES = 12  # names drawn at most on one map: the largest clusters
FONT_SIZE = 12
CHAR_PX = 7.5  # a generous width of one character at FONT_SIZE (Source Sans averages about 6)
PAD_PX = 4  # annotation borderpad (3) + border (1), on each side
LINE_PX = 17  # one line of text at FONT_SIZE
RING_PX = 8 + 4  # the pinned ring's radius (app/datamap.py pinned_ring) and a gap
PLOT_MIN_WIDTH = 320  # the narrowest plot area (px) the data map gets
OVERLAP_WIDTH = 560  # a typical plot width (px), to judge whether two names overlap


def name_text(label: str, purity: float) -> str:
    """What a cluster is called on the map: its majority label and the share of members carrying it."""
    return f"{label} {purity:.0%}"


def half_size_px(text: str) -> tuple[float, float]:
    """Half the width and height of a name's box, in pixels (an overestimate)."""
    return len(text) * CHAR_PX / 2 + PAD_PX, LINE_PX / 2 + PAD_PX


def placements(clusters: pd.DataFrame, x_range: list[float], y_range: list[float], plot_height_px: float,
               pinned: tuple[float, float] | None = None, limit: int = MAX_NAMES) -> list[dict]:
    """Where each drawn name goes: cluster, text, x, y (data units), for clusters (cluster, label,
    purity, size, x, y) largest first. Names are taken largest cluster first; one that would cover the
    pinned point moves off it vertically, one that would overlap a name already placed is left out."""
    sx = (x_range[1] - x_range[0]) / PLOT_MIN_WIDTH  # data units per pixel: a narrow plot, an upper bound
    sy = (y_range[1] - y_range[0]) / max(plot_height_px, 1.0)
    sx_typical = (x_range[1] - x_range[0]) / OVERLAP_WIDTH
    placed: list[dict] = []
    boxes: list[tuple[float, float, float, float]] = []  # centre x, y and half sizes in data units
    for row in clusters.sort_values(["size", "cluster"], ascending=[False, True]).itertuples():
        if len(placed) >= limit:
            break
        text = name_text(str(row.label), float(row.purity))
        w, h = half_size_px(text)
        x, y = float(row.x), float(row.y)
        # inside the frame: a name at the map's edge would be cut off
        x = min(max(x, x_range[0] + w * sx_typical), x_range[1] - w * sx_typical)
        y = min(max(y, y_range[0] + h * sy), y_range[1] - h * sy)
        if pinned is not None:
            px, py = pinned
            if abs(px - x) < (w + RING_PX) * sx and abs(py - y) < (h + RING_PX) * sy:
                clear = (h + RING_PX + 1) * sy
                above, below = py + clear, py - clear
                fits_above, fits_below = above + h * sy <= y_range[1], below - h * sy >= y_range[0]
                # towards the side the cluster's point lies on, unless only the other keeps it in the frame
                up = y >= py if fits_above and fits_below else fits_above or not fits_below
                y = above if up else below
        box = (x, y, w * sx_typical, h * sy)
        if any(abs(x - bx) < bw + box[2] and abs(y - by) < bh + box[3] for bx, by, bw, bh in boxes):
            continue
        boxes.append(box)
        placed.append({"cluster": int(row.cluster), "text": text, "x": x, "y": y})
    return placed


def annotation(place: dict) -> dict:
    """A name as a plotly annotation: light text on a dark, outlined box, legible over any colour."""
    return {"x": round(place["x"], 4), "y": round(place["y"], 4), "xref": "x", "yref": "y",
            "text": escape(place["text"]), "showarrow": False, "xanchor": "center", "yanchor": "middle",
            "font": {"size": FONT_SIZE, "color": "#f5f7fa"}, "bgcolor": "rgba(14,17,23,0.8)",
            "bordercolor": "rgba(230,230,230,0.6)", "borderwidth": 1, "borderpad": 3,
            "name": f"cluster {place['cluster']}"}


def pinned_point(layout: dict) -> tuple[float, float] | None:
    """Where the pinned ring is drawn (its layout shape), if it is."""
    for shape in layout.get("shapes") or []:
        if shape.get("name") == "pinned":
            return float(shape["xanchor"]), float(shape["yanchor"])
    return None


def with_names(spec: dict, clusters: pd.DataFrame, limit: int = MAX_NAMES) -> dict:
    """The data map's figure spec (app/datamap.py) with its clusters named, clear of the pinned ring."""
    layout = spec["layout"]
    margin = layout.get("margin", {})
    plot_height = layout["height"] - margin.get("t", 0) - margin.get("b", 0)
    names = [annotation(p) for p in placements(clusters, layout["xaxis"]["range"], layout["yaxis"]["range"],
                                                  plot_height, pinned_point(layout), limit)]
    if not names:
        return spec
    return {**spec, "layout": {**layout, "annotations": list(layout.get("annotations") or []) + names}}
