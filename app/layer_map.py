"""The layer map: isometric boxes drawn from the catalog's layer graph, as a two-way component.

Each box's face follows the layer's spatial size (height x width, square-root scale) and its
thickness along the chain follows the channel count (log scale), so a VGG reads as a funnel from a
224x224x3 slab to a long 1000-wide vector. Hover shows name, kind and shape; click selects; the
arrow keys move the selection. Every layer's group carries `data-layer-id`. The browser side is
`layer_map.js` and `layer_map.css` beside this file.
"""
from __future__ import annotations

import hashlib
import math
from html import escape
from pathlib import Path

import pandas as pd
import streamlit as st

from app.browser_values import known_int

COLOURS = {
    "input": "#e8e8e8", "output": "#f4d35e", "conv": "#4f8ff7", "relu": "#3ccf91", "act": "#3ccf91",
    "pool": "#f29e4c", "dense": "#ef5b5b", "norm": "#8d99ae", "block": "#a77bf3", "dropout": "#5c677d",
    "flatten": "#5c677d", "identity": "#5c677d",
}
COS30, SIN30 = math.cos(math.pi / 6), 0.5
GAP = 7.0
LABEL_FONT = 10.5  # layout units; the map is scaled to its column, so about 10 px on a 1440 px screen
LABEL_CHARS = 14
LABEL_ANGLE = 40
MAX_ROW = 1500.0  # layout units per row before wrapping, so 60 layers stay readable


def shape_text(row) -> str:
    if int(row.height) > 1 or int(row.width) > 1 or row.kind in ("input", "conv", "pool"):
        return f"{int(row.channels)}×{int(row.height)}×{int(row.width)}"
    return f"{int(row.channels)}"


def kind_and_shape(row) -> str:
    """`norm, 1280×7×7` for the headers over the maps and the gallery; the kind is left out where it
    only repeats the layer's name (the `output` layer: `1000`)."""
    return shape_text(row) if str(row.kind) == str(row["name"]) else f"{row.kind}, {shape_text(row)}"


def _dims(row, max_side: int) -> tuple[float, float, float]:
    """(thickness along the chain, face height, face depth) in layout units."""
    thickness = 3.0 + 3.2 * math.log2(max(int(row.channels), 1) + 1)
    face_h = 6.0 + 84.0 * math.sqrt(int(row.height) / max_side)
    face_d = (6.0 + 84.0 * math.sqrt(int(row.width) / max_side)) * 0.55
    return thickness, face_h, face_d


def layer_svg(table: pd.DataFrame) -> str:
    """The whole map as one SVG string (responsive: width 100%, viewBox in layout units)."""
    max_side = max(int(table.height.max()), int(table.width.max()), 1)
    boxes = [(row, *_dims(row, max_side)) for row in table.itertuples()]
    top = max(h + d * SIN30 for _, _, h, d in boxes)
    # wrap into rows of at most MAX_ROW units
    rows: list[list] = [[]]
    width = 0.0
    for box in boxes:
        advance = box[1] + GAP
        if rows[-1] and width + advance + box[3] * COS30 > MAX_ROW:
            rows.append([])
            width = 0.0
        rows[-1].append(box)
        width += advance
    longest = max((min(len(str(row.name)), LABEL_CHARS) for row in table.itertuples()), default=1)
    # the rotated labels hang below the boxes: room for the longest one, so none is cut off
    label_h = 14.0 + longest * 0.56 * LABEL_FONT * math.sin(math.radians(LABEL_ANGLE))
    row_h = top + label_h + 10
    parts = []
    total_w = 0.0
    for r, row_boxes in enumerate(rows):
        x = 8.0
        for row, t, h, d in row_boxes:
            ox, oy = d * COS30, -d * SIN30
            y0 = r * row_h + 6 + (top - (h + d * SIN30)) / 2 + d * SIN30  # centred; top of the front face
            colour = COLOURS.get(row.kind, "#a77bf3")
            front = f"M{x:.1f},{y0:.1f}h{t:.1f}v{h:.1f}h{-t:.1f}z"
            top_face = f"M{x:.1f},{y0:.1f}l{ox:.1f},{oy:.1f}h{t:.1f}l{-ox:.1f},{-oy:.1f}z"
            side = f"M{x + t:.1f},{y0:.1f}l{ox:.1f},{oy:.1f}v{h:.1f}l{-ox:.1f},{-oy:.1f}z"
            name = escape(str(row.name))
            label = name if len(name) <= LABEL_CHARS else "…" + name[-(LABEL_CHARS - 1):]
            lx, ly = x + t / 2, r * row_h + top + 12
            parts.append(
                f'<g class="layer" data-layer-id="{int(row.layer_id)}" data-name="{name}" '
                f'data-kind="{escape(str(row.kind))}" data-shape="{shape_text(row)}" tabindex="-1">'
                f'<path class="side" d="{side}" fill="{colour}"/>'
                f'<path class="top" d="{top_face}" fill="{colour}"/>'
                f'<path class="front" d="{front}" fill="{colour}"/>'
                f'<rect class="hit" x="{x - GAP / 2:.1f}" y="{r * row_h:.1f}" width="{t + GAP:.1f}" '
                f'height="{row_h:.1f}" fill="transparent"/>'
                f'<text x="{lx:.1f}" y="{ly:.1f}" transform="rotate({LABEL_ANGLE} {lx:.1f} {ly:.1f})">{label}</text>'
                "</g>")
            x += t + GAP
            total_w = max(total_w, x + ox + 4)
    height = len(rows) * row_h + 4
    return (f'<svg class="layer-map" viewBox="0 0 {total_w:.0f} {height:.0f}" '
            f'preserveAspectRatio="xMinYMid meet" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')


_CSS = Path(__file__).with_name("layer_map.css").read_text(encoding="utf-8")

_JS = Path(__file__).with_name("layer_map.js").read_text(encoding="utf-8")

_component = st.components.v2.component("layerscope.layer_map", css=_CSS, js=_JS)


def layer_map(table: pd.DataFrame, selected: int, key: str, on_change, title: str | None = None) -> int | None:
    """Draw the map; returns the layer the user selected in it (None until they do, or when the browser
    sent a value that is none of the table's layers).

    `on_change` runs on each choice in the map, the layer in `st.session_state[key]["selected"]`: the
    browser sends {selected, choice} with a new `choice` each time, so choosing the layer the state
    already holds (after another control moved the page away from it) is news too. `title`, a CSS
    selector of the page's titles that begin "name ·" with the layer shown (the data map's), lets the
    browser tell a choice the page did not follow, which it sends once more (layer_map.js)."""
    svg = layer_svg(table)
    data = {"svg": svg, "key": hashlib.sha1(svg.encode()).hexdigest()[:12], "selected": int(selected), "title": title}
    result = _component(data=data, key=key, on_choice_change=on_change)
    value = getattr(result, "selected", None)
    return known_int(value, {int(i) for i in table.layer_id})
