"""The layer map: isometric boxes drawn from the catalog's layer graph, as a two-way component.

Each box's face follows the layer's spatial size (height x width, square-root scale) and its
thickness along the chain follows the channel count (log scale), so a VGG reads as a funnel from a
224x224x3 slab to a long 1000-wide vector. Hover shows name, kind and shape; click selects; the
arrow keys move the selection. Every layer's group carries `data-layer-id`.
"""
from __future__ import annotations

import hashlib
import math
from html import escape

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


_CSS = """
.lm-wrap { position: relative; outline: none; width: 100%; }
.lm-wrap svg { width: 100%; height: auto; max-height: clamp(150px, 22vh, 280px); display: block; }
.lm-wrap .layer { cursor: pointer; }
.lm-wrap .layer .front { fill-opacity: 0.95; }
.lm-wrap .layer .top { filter: brightness(1.25); }
.lm-wrap .layer .side { filter: brightness(0.7); }
.lm-wrap .layer path { stroke: #0e1117; stroke-width: 0.6; }
.lm-wrap .layer text { fill: #aab3c2; font: 10.5px sans-serif; pointer-events: none; }
.lm-wrap .layer.hover path { stroke: #ffffff; stroke-width: 1.2; }
.lm-wrap .layer.selected path { stroke: #ff4b4b; stroke-width: 2.2; }
.lm-wrap .layer.selected text { fill: #ff4b4b; font-weight: bold; }
.lm-tip { position: absolute; pointer-events: none; background: #1c2230; color: #e6e6e6;
  border: 1px solid #3a4458; border-radius: 4px; padding: 3px 7px; font: 12px sans-serif;
  white-space: nowrap; display: none; z-index: 10; }
.lm-status { font: 12px sans-serif; color: #9aa4b5; margin-top: 2px; }
"""

_JS = """
export default function(component) {
  const { data, parentElement, setStateValue } = component;
  let wrap = parentElement.querySelector('.lm-wrap');
  if (!wrap || wrap.dataset.svgKey !== data.key) {
    if (wrap) wrap.remove();
    wrap = document.createElement('div');
    wrap.className = 'lm-wrap';
    wrap.tabIndex = 0;
    wrap.dataset.svgKey = data.key;
    wrap.innerHTML = data.svg + '<div class="lm-tip"></div><div class="lm-status"></div>';
    parentElement.appendChild(wrap);
  }
  const tip = wrap.querySelector('.lm-tip');
  const status = wrap.querySelector('.lm-status');
  const groups = Array.from(wrap.querySelectorAll('[data-layer-id]'));
  const ids = groups.map(g => Number(g.dataset.layerId));
  const describe = g => `${g.dataset.name} · ${g.dataset.kind} · ${g.dataset.shape}`;
  const mark = (id) => {
    groups.forEach(g => g.classList.toggle('selected', Number(g.dataset.layerId) === id));
    const g = groups.find(g => Number(g.dataset.layerId) === id);
    status.textContent = g ? ('selected: ' + describe(g) + '  (click a layer, or use ← → with the map focused)') : '';
  };
  wrap.__selected = data.selected;
  mark(data.selected);
  const select = (id) => {
    if (id === wrap.__selected) return;
    wrap.__selected = id;
    mark(id);
    setStateValue('selected', id);
  };
  const onOver = (e) => {
    const g = e.target.closest('[data-layer-id]');
    groups.forEach(x => x.classList.toggle('hover', x === g));
    if (!g) { tip.style.display = 'none'; return; }
    tip.textContent = describe(g);
    const box = wrap.getBoundingClientRect();
    tip.style.display = 'block';
    const left = Math.min(e.clientX - box.left + 12, box.width - tip.offsetWidth - 4);
    tip.style.left = Math.max(0, left) + 'px';
    tip.style.top = (e.clientY - box.top + 14) + 'px';
  };
  const onLeave = () => { groups.forEach(x => x.classList.remove('hover')); tip.style.display = 'none'; };
  const onClick = (e) => {
    const g = e.target.closest('[data-layer-id]');
    wrap.focus({preventScroll: true});
    if (g) select(Number(g.dataset.layerId));
  };
  const onKey = (e) => {
    const i = ids.indexOf(wrap.__selected);
    let j = null;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') j = Math.min(ids.length - 1, i + 1);
    if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') j = Math.max(0, i - 1);
    if (e.key === 'Home') j = 0;
    if (e.key === 'End') j = ids.length - 1;
    if (j !== null) { e.preventDefault(); select(ids[j]); }
  };
  // this script runs again on every rerun while `wrap` survives: replace the previous run's
  // listeners, or every arrow key would move once per listener
  const listeners = {mousemove: onOver, mouseleave: onLeave, click: onClick, keydown: onKey};
  const unbind = () => {
    Object.entries(wrap.__lsListeners || {}).forEach(([type, fn]) => wrap.removeEventListener(type, fn));
    wrap.__lsListeners = null;
  };
  unbind();
  Object.entries(listeners).forEach(([type, fn]) => wrap.addEventListener(type, fn));
  wrap.__lsListeners = listeners;
  return () => { if (wrap.__lsListeners === listeners) unbind(); };
}
"""

_component = st.components.v2.component("layerscope.layer_map", css=_CSS, js=_JS)


def layer_map(table: pd.DataFrame, selected: int, key: str, on_change) -> int | None:
    """Draw the map; returns the layer the user selected in it (None until they do, or when the browser
    sent a value that is none of the table's layers)."""
    svg = layer_svg(table)
    result = _component(data={"svg": svg, "key": hashlib.sha1(svg.encode()).hexdigest()[:12], "selected": int(selected)},
                        key=key, on_selected_change=on_change)
    value = getattr(result, "selected", None)
    return known_int(value, {int(i) for i in table.layer_id})
