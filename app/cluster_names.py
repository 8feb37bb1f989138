"""Cluster names on the data map: "dogs 87%" drawn at each named cluster, as layout annotations.

Annotations are layout, not traces: switching the names on or off, or pinning another sample, redraws
the layout only, never the map's points. Only the largest clusters are named (MAX_NAMES); a name
that would overlap a larger cluster's name or the pinned sample's ring moves a line up or down, or
just above or below the ring, and is left out where none of those places is free.

Placement is worked out in pixels of the plot as first drawn, with the narrowest plot area the map
is given (PLOT_MIN_WIDTH: a laptop's column, less the legend): a wider plot draws the same boxes
smaller in data units, and zooming in moves points apart while boxes and the ring keep their pixel
size, so a name clear of the ring (and of the other names, and inside the frame) here stays so there.
"""
from __future__ import annotations

from html import escape

import pandas as pd

MAX_NAMES = 12  # names drawn at most on one map: the largest clusters
FONT_SIZE = 12
CHAR_PX = 6.2  # a generous width of one character at FONT_SIZE (Source Sans averages about 5.2)
PAD_PX = 4  # annotation borderpad (3) + border (1), on each side
LINE_PX = 17  # one line of text at FONT_SIZE
RING_PX = 8 + 4  # the pinned ring's radius (app/datamap.py pinned_ring) and a gap
PLOT_MIN_WIDTH = 220  # the narrowest plot area (px) the data map gets


def name_text(label: str, purity: float) -> str:
    """What a cluster is called on the map: its majority label and the share of members carrying it."""
    return f"{label} {purity:.0%}"


def half_size_px(text: str) -> tuple[float, float]:
    """Half the width and height of a name's box, in pixels (an overestimate)."""
    return len(text) * CHAR_PX / 2 + PAD_PX, LINE_PX / 2 + PAD_PX


def placements(clusters: pd.DataFrame, x_range: list[float], y_range: list[float], plot_height_px: float,
               pinned: tuple[float, float] | None = None, limit: int = MAX_NAMES) -> list[dict]:
    """Where each drawn name goes: cluster, text, x, y (data units), for clusters (cluster, label,
    purity, size, x, y). Names are taken largest cluster first, each at the first of its places (its
    cluster's point, a line above, a line below, just above or below the pinned point) that is inside
    the frame, clear of the pinned ring and of the names already placed; without one it is left out."""
    sx = (x_range[1] - x_range[0]) / PLOT_MIN_WIDTH  # data units per pixel: a narrow plot, an upper bound
    sy = (y_range[1] - y_range[0]) / max(plot_height_px, 1.0)
    placed: list[dict] = []
    boxes: list[tuple[float, float, float, float]] = []  # centre x, y and half sizes in data units
    for row in clusters.sort_values(["size", "cluster"], ascending=[False, True]).itertuples():
        if len(placed) >= limit:
            break
        text = name_text(str(row.label), float(row.purity))
        w, h = half_size_px(text)
        hw, hh = w * sx, h * sy
        # inside the frame: a name at the map's edge would be cut off
        x = min(max(float(row.x), x_range[0] + hw), x_range[1] - hw)
        step = (2 * h + 2) * sy
        ys = [float(row.y), float(row.y) + step, float(row.y) - step]
        if pinned is not None:
            clear = (h + RING_PX + 1) * sy
            ys += [pinned[1] + clear, pinned[1] - clear] if float(row.y) >= pinned[1] else \
                  [pinned[1] - clear, pinned[1] + clear]
        for y in ys:
            y = min(max(y, y_range[0] + hh), y_range[1] - hh)
            if pinned is not None and abs(pinned[0] - x) < (w + RING_PX) * sx and \
                    abs(pinned[1] - y) < (h + RING_PX) * sy:
                continue
            if any(abs(x - bx) < bw + hw and abs(y - by) < bh + hh for bx, by, bw, bh in boxes):
                continue
            boxes.append((x, y, hw, hh))
            placed.append({"cluster": int(row.cluster), "text": text, "x": x, "y": y})
            break
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
