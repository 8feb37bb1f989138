"""Pictures on the data map: where the visible part of the map holds few enough points to tell apart,
each is drawn as its thumbnail, a small square framed in the point's colour (a one-pixel swatch of that
colour drawn a little larger under it: a browser draws hundreds of those at once far quicker than
framed SVGs).

The browser reports the visible ranges of the map when a zoom or pan ends (`map_pictures.js`, a
components-v2 element in a fragment of its own, so a zoom reruns only that fragment); the server counts
the shown points in range and, up to PICTURES_UP_TO, sends the thumbnails of those points only, as
plotly layout images in data coordinates (so they grow and shrink with the zoom until the next report).
The scatter points stay under the pictures: plotly's hover and click still find them, within a hover
distance as wide as a picture. On a map that has not been zoomed the visible ranges are its own.
"""
from __future__ import annotations

import base64
import functools
import json
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
from plotly.colors import sample_colorscale

from app import browser_values, cached, markup
from app.bounded import BoundedStore
from app.view import View
from catalog import pictures
from core.pictures import swatch_png

PICTURES_UP_TO = 400  # visible points up to which each is drawn as its picture (more overlap into a blur)
PICTURE_PX = (28, 64)  # a picture's side on the screen, smallest and largest, when it is drawn
FRAME_PX = 2  # the frame's width on the screen, at least (a twentieth of the picture's side beyond 40 px)
PLOT_PX = (640, 420)  # the plot area's width and height assumed until the browser has reported its own
STATE = "_map_view"  # what the browser last reported of the map's view: a key no widget owns
SWITCH = "map_pictures"  # the "Pictures on the map" toggle's key
ELEMENT = "map_pictures_view"  # the element's key: its trigger `view` is the browser's report
THUMB_URL = "data:image/webp;base64,"  # the catalog's thumbnails are WebP
STORE_SIZE = 10000  # thumbnails kept (base64 WebP, about 1.4 KB each), shared by every session

_JS = Path(__file__).with_name("map_pictures.js").read_text(encoding="utf-8")
_component = st.components.v2.component("layerscope.map_pictures", js=_JS)
_thumbs: BoundedStore[str] = BoundedStore(STORE_SIZE)


@dataclass(frozen=True)
class MapView:
    """The visible part of a map: data ranges and the plot area's size in pixels."""
    x: tuple[float, float]
    y: tuple[float, float]
    width: int = PLOT_PX[0]
    height: int = PLOT_PX[1]


def map_id(view: View) -> str:
    """A map's name for the browser (its layout's meta): catalog, layer, method and perplexity used, so
    that a reported view is only ever applied to the map it was seen on."""
    perplexity = f"{view.perplexity_used:g}" if view.method == "tsne" and view.perplexity_used is not None else ""
    return f"{zlib.crc32(view.catalog.encode()):08x}:{int(view.layer_id)}:{view.method}:{perplexity}"


def reported_view(value, current_map: str) -> MapView | None:
    """What the browser sent for the map `current_map`, checked: finite ranges of positive span, plot
    sizes in whole pixels; None for anything else or for another map."""
    if not isinstance(value, dict) or value.get("map") != current_map:
        return None
    x, y = browser_values.finite_range(value.get("x")), browser_values.finite_range(value.get("y"))
    width = browser_values.int_between(value.get("width"), 1, 20000)
    height = browser_values.int_between(value.get("height"), 1, 20000)
    if x is None or y is None:
        return None
    return MapView(x, y, width or PLOT_PX[0], height or PLOT_PX[1])


def own_view(spec: dict, last: MapView | None = None) -> MapView:
    """The map as drawn before any zoom: its own axis ranges (the plot's size as last reported)."""
    layout = spec["layout"]
    size = (last.width, last.height) if last is not None else PLOT_PX
    return MapView(tuple(layout["xaxis"]["range"]), tuple(layout["yaxis"]["range"]), *size)


@dataclass(frozen=True)
class Points:
    """The map's shown points: sample ids, coordinates, frame colours, and which are ringed as selected."""
    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    colours: list[str]
    highlighted: frozenset[int]


def shown_points(spec: dict) -> Points:
    """Every point the figure draws with a sample id (the ringed copies and the "your image" star left
    out), with the colour of its dot."""
    ids, xs, ys, colours, highlighted = [], [], [], [], set()
    for trace in spec["data"]:
        custom = trace.get("customdata")
        if custom is None or not len(custom):
            continue
        sample_ids = np.asarray(custom).reshape(len(custom), -1)[:, 0].astype(np.int64)
        if trace.get("name") == "highlighted":
            highlighted.update(int(i) for i in sample_ids)
            continue
        if len(trace["x"]) != len(sample_ids):
            continue
        ids.append(sample_ids)
        xs.append(np.asarray(trace["x"], dtype=float))
        ys.append(np.asarray(trace["y"], dtype=float))
        colour = trace.get("marker", {}).get("color", "#9aa4b5")
        if isinstance(colour, str):
            colours.extend([colour] * len(sample_ids))
        else:  # a colour scale's values (confidence): the scale's colour of each
            marker = trace["marker"]
            low, high = float(marker.get("cmin", 0.0)), float(marker.get("cmax", 1.0))
            share = np.clip((np.asarray(colour, dtype=float) - low) / ((high - low) or 1.0), 0.0, 1.0)
            colours.extend(sample_colorscale(marker.get("colorscale", "Viridis"), share.tolist()))
    if not ids:
        return Points(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), [], frozenset(highlighted))
    return Points(np.concatenate(ids), np.concatenate(xs), np.concatenate(ys), colours, frozenset(highlighted))


def in_view(points: Points, seen: MapView) -> np.ndarray:
    """Positions (into `points`) of the points whose centre lies in the visible ranges."""
    inside = ((points.x >= seen.x[0]) & (points.x <= seen.x[1]) & (points.y >= seen.y[0]) & (points.y <= seen.y[1]))
    return np.flatnonzero(inside)


def picture_px(count: int, seen: MapView) -> int:
    """A picture's side in pixels: the room each visible point would have if they were spread evenly,
    within PICTURE_PX."""
    room = math.sqrt(seen.width * seen.height / max(count, 1))
    return int(min(PICTURE_PX[1], max(PICTURE_PX[0], round(room * 0.9))))


def thumbnails_b64(path: str, ids) -> dict[int, str]:
    """sample_id -> its thumbnail as base64 WebP; kept per sample, so a pan asks the catalog only for the
    points that came into view."""
    found, missing = {}, []
    for sample_id in ids:
        kept = _thumbs.get((path, int(sample_id)))
        if kept is None:
            missing.append(int(sample_id))
        else:
            found[int(sample_id)] = kept
    if missing:
        for sample_id, data in pictures.thumbnails(cached.connection(path), missing).items():
            encoded = base64.b64encode(data).decode("ascii")
            _thumbs.put((path, sample_id), encoded)
            found[sample_id] = encoded
    return found


@functools.lru_cache(maxsize=256)
def swatch_url(colour: str) -> str:
    """A frame's colour as a one-pixel PNG data URL (a map has at most a few dozen colours)."""
    return markup.data_url(swatch_png(colour))


def _image(source: str, x: float, y: float, size_x: float, size_y: float, name: str) -> dict:
    return {"source": source, "name": name, "xref": "x", "yref": "y", "x": x, "y": y, "sizex": size_x,
            "sizey": size_y, "xanchor": "center", "yanchor": "middle", "sizing": "contain", "layer": "above"}


def picture_layout(path: str, spec: dict, seen: MapView, pinned: int | None = None) -> dict:
    """The layout additions that draw the visible points as pictures: `images` (empty beyond
    PICTURES_UP_TO visible points) and the hover distance that lets a picture's whole square hover and
    click its point; `count` says how many points were in view."""
    points = shown_points(spec)
    inside = in_view(points, seen)
    if not 0 < len(inside) <= PICTURES_UP_TO:
        return {"images": [], "hoverdistance": 20, "count": int(len(inside))}
    px = picture_px(len(inside), seen)
    size_x = px * (seen.x[1] - seen.x[0]) / seen.width
    size_y = px * (seen.y[1] - seen.y[0]) / seen.height
    thumbs = thumbnails_b64(path, points.ids[inside])
    # the pinned and the selected pictures last, so that they lie on top of their neighbours
    order = sorted(inside, key=lambda i: (int(points.ids[i]) == pinned, int(points.ids[i]) in points.highlighted))
    images = []
    for i in order:
        sample_id = int(points.ids[i])
        if sample_id not in thumbs:
            continue
        x, y = round(float(points.x[i]), 4), round(float(points.y[i]), 4)
        # the frame: a square of the point's colour (white and wider for a selected point) under the picture
        ring = sample_id in points.highlighted
        frame = (px + 2 * max(FRAME_PX, px / 20) * (2 if ring else 1)) / px
        images.append(_image(swatch_url("#ffffff" if ring else points.colours[i]), x, y, size_x * frame,
                             size_y * frame, f"frame {sample_id}"))
        images.append(_image(THUMB_URL + thumbs[sample_id], x, y, size_x, size_y, str(sample_id)))
    return {"images": images, "hoverdistance": int(px * 0.6) + 1, "count": int(len(inside))}


def current_view(spec: dict, current_map: str) -> MapView:
    """The part of this map the browser shows: the last report when it was of this map, else the map's
    own ranges."""
    last = st.session_state.get(STATE)
    if isinstance(last, dict) and last.get("map") == current_map and isinstance(last.get("view"), MapView):
        return last["view"]
    return own_view(spec, last.get("view") if isinstance(last, dict) else None)


def _on_view(current_map: str) -> None:
    value = st.session_state.get(ELEMENT)
    reported = getattr(value, "view", None) if not isinstance(value, dict) else value.get("view")
    seen = reported_view(reported, current_map)
    if seen is not None:
        st.session_state[STATE] = {"map": current_map, "view": seen}


@st.fragment
def overlay(view: View, spec: dict, selector: str = ".st-key-datamap .js-plotly-plot") -> None:
    """Mount the pictures of the map drawn in `selector` (whose layout's meta names `map_id(view)`): a
    zoom or pan reruns only this fragment, which sends the pictures of the points then in view."""
    current_map = map_id(view)
    seen = current_view(spec, current_map)
    layout = {"images": [], "hoverdistance": 20}
    if view.pictures:
        layout = picture_layout(view.catalog, spec, seen, view.pinned)
        layout.pop("count")
    element(selector, current_map, layout, (seen.width, seen.height) if layout["images"] else None,
            on_view=lambda: _on_view(current_map))


def element(selector: str, current_map: str, layout: dict, size: tuple[int, int] | None, on_view) -> None:
    """The components-v2 element (no visible UI) that draws `layout` on the map `current_map` in
    `selector`, sized for a plot area of `size` pixels (the browser reports its own where it differs),
    and calls `on_view` when the browser reports what it shows (the trigger `view`)."""
    _component(data={"selector": selector, "map": current_map, "layout": json.dumps(layout, separators=(",", ":")),
                     "size": list(size) if size else None},
               key=ELEMENT, height=0, on_view_change=on_view)
