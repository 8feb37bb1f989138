"""Pictures on the data map: where the visible part of the map holds few enough points to tell apart,
each is drawn as its thumbnail, a small square framed in the point's colour (a square of that colour a
little larger under it). The browser keeps the thumbnails it was sent, so each crosses once per session.

The browser reports the visible ranges of the map when a zoom or pan ends (`map_pictures.js`, a
components-v2 element in a fragment of its own, so a zoom reruns only that fragment); the server counts
the shown points in range and, up to PICTURES_UP_TO, sends those points (id, place, colour) and the
thumbnails among them the page lacks; the browser draws them over the plot as SVG images of its own
(plotly's layout images cost a zoom twice as much), placed in data coordinates (so they grow and shrink
with the zoom until the next report), the frames as one SVG path per colour.
The scatter points stay under the pictures: plotly's hover and click still find them, within a hover
distance as wide as a picture. On a map that has not been zoomed the visible ranges are its own.
"""
from __future__ import annotations

import base64
import json
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
from plotly.colors import sample_colorscale

from app import browser_values, cached
from app.bounded import BoundedStore
from app.view import View
from catalog import pictures

PICTURES_UP_TO = 400  # visible points up to which each is drawn as its picture (more overlap into a blur)
PICTURE_PX = (28, 64)  # a picture's side on the screen, smallest and largest, when it is drawn
FRAME_PX = 2  # the frame's width on the screen, at least (a twentieth of the picture's side beyond 40 px)
PLOT_PX = (640, 420)  # the plot area's width and height assumed until the browser has reported its own
STATE = "_map_view"  # what the browser last reported of the map's view: a key no widget owns
SWITCH = "map_pictures"  # the "Pictures on the map" toggle's key
ELEMENT = "map_pictures_view"  # the element's key: its trigger `view` is the browser's report
SENT = "_map_pictures_sent"  # the thumbnails this session's browser holds: {catalog, ids, generation}
HIDDEN_UP_TO = 100  # trace names a report may say are hidden (a map has at most 40 legend entries)
SENT_UP_TO = 5000  # thumbnails a browser keeps (about 7 MB); beyond, it is sent them again as needed
STORE_SIZE = 10000  # thumbnails kept (base64 WebP, about 1.4 KB each), shared by every session

_JS = Path(__file__).with_name("map_pictures.js").read_text(encoding="utf-8")
_component = st.components.v2.component("layerscope.map_pictures", js=_JS)
_thumbs: BoundedStore[str] = BoundedStore(STORE_SIZE)


@dataclass(frozen=True)
class MapView:
    """The visible part of a map: data ranges, the plot area's size in pixels, and the names of the traces
    hidden by a click on the legend (their points are not pictured, nor counted against the cap)."""
    x: tuple[float, float]
    y: tuple[float, float]
    width: int = PLOT_PX[0]
    height: int = PLOT_PX[1]
    hidden: frozenset[str] = frozenset()


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
    hidden = browser_values.short_texts(value.get("hidden"), HIDDEN_UP_TO, 200)
    return MapView(x, y, width or PLOT_PX[0], height or PLOT_PX[1], hidden)


def own_view(spec: dict, last: MapView | None = None) -> MapView:
    """The map as drawn before any zoom: its own axis ranges (the plot's size as last reported)."""
    layout = spec["layout"]
    size = (last.width, last.height) if last is not None else PLOT_PX
    return MapView(tuple(layout["xaxis"]["range"]), tuple(layout["yaxis"]["range"]), *size)


@dataclass(frozen=True)
class Points:
    """The map's shown points: sample ids, coordinates, and which are ringed as selected; `parts` say the
    colour of each trace's run of points (a colour, or a marker's colour scale and values), turned into
    frame colours only for the points pictured (`colours_at`): a colour scale's colour of each of 50,000
    points costs seconds."""
    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    parts: list[tuple[int, str | dict]]
    highlighted: frozenset[int]

    def colours_at(self, positions) -> list[str]:
        """The frame colour of the points at `positions` (into `ids`)."""
        positions = np.asarray(positions, dtype=np.int64)
        starts = np.array([start for start, _ in self.parts], dtype=np.int64)
        part_of = np.searchsorted(starts, positions, side="right") - 1
        colours: list[str] = [""] * len(positions)
        for k in np.unique(part_of):
            start, colour = self.parts[int(k)]
            mine = np.flatnonzero(part_of == k)
            if isinstance(colour, str):
                for j in mine:
                    colours[j] = colour
                continue
            values = np.asarray(colour["color"], dtype=float)[positions[mine] - start]
            low, high = float(colour.get("cmin", 0.0)), float(colour.get("cmax", 1.0))
            share = np.clip((values - low) / ((high - low) or 1.0), 0.0, 1.0)
            for j, c in zip(mine, sample_colorscale(colour.get("colorscale", "Viridis"), share.tolist())):
                colours[j] = c
        return colours


def shown_points(spec: dict, hidden: frozenset[str] = frozenset()) -> Points:
    """Every point the figure draws with a sample id (the ringed copies, the "your image" star and the
    traces named in `hidden` left out), with the colour of its dot."""
    ids, xs, ys, parts, highlighted, count = [], [], [], [], set(), 0
    for trace in spec["data"]:
        custom = trace.get("customdata")
        if custom is None or not len(custom) or trace.get("name") in hidden:
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
        marker = trace.get("marker", {})
        colour = marker.get("color", "#9aa4b5")
        parts.append((count, colour if isinstance(colour, str) else marker))  # else a colour scale's values
        count += len(sample_ids)
    if not ids:
        return Points(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), [], frozenset(highlighted))
    return Points(np.concatenate(ids), np.concatenate(xs), np.concatenate(ys), parts, frozenset(highlighted))


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


def picture_layout(spec: dict, seen: MapView, pinned: int | None = None) -> dict:
    """What draws the visible points as pictures, compactly (the browser draws them, map_pictures.js):
    `pictures` [sample id, x, y, colour index, selected] (none beyond PICTURES_UP_TO visible points),
    `colours`, each picture's `size` in data units, its frame's width as a share of that `size`
    (doubled, in white, for a selected point), the hover distance that lets a picture's whole square
    hover and click its point, and the `count` of points in view."""
    points = shown_points(spec, seen.hidden)
    inside = in_view(points, seen)
    if not 0 < len(inside) <= PICTURES_UP_TO:
        return {"pictures": [], "colours": [], "size": [0, 0], "frame": 0, "hoverdistance": 20,
                "count": int(len(inside))}
    px = picture_px(len(inside), seen)
    # the pinned and the selected pictures last, so that they lie on top of their neighbours
    order = sorted(inside, key=lambda i: (int(points.ids[i]) == pinned, int(points.ids[i]) in points.highlighted))
    colours: dict[str, int] = {}
    pictures = [[int(points.ids[i]), round(float(points.x[i]), 4), round(float(points.y[i]), 4),
                 colours.setdefault(colour, len(colours)), int(int(points.ids[i]) in points.highlighted)]
                for i, colour in zip(order, points.colours_at(order))]
    return {"pictures": pictures, "colours": list(colours),
            "size": [px * (seen.x[1] - seen.x[0]) / seen.width, px * (seen.y[1] - seen.y[0]) / seen.height],
            "frame": round(max(FRAME_PX, px / 20) / px, 4), "hoverdistance": int(px * 0.6) + 1,
            "count": int(len(inside))}


def thumbnails_to_send(path: str, ids: list[int]) -> dict[str, str]:
    """The thumbnails (base64 WebP) of `ids` this session's browser has not been sent yet: it keeps those
    it was sent (app/map_pictures.js), so a layer switch or a zoom sends only the newcomers. SENT_UP_TO
    at most are counted as kept; beyond, both sides start again."""
    sent = st.session_state.get(SENT)
    if not isinstance(sent, dict) or sent.get("catalog") != path or len(sent.get("ids", ())) > SENT_UP_TO:
        sent = {"catalog": path, "ids": set(), "generation": (sent or {}).get("generation", 0) + 1}
        st.session_state[SENT] = sent
    new = [i for i in ids if i not in sent["ids"]]
    found = thumbnails_b64(path, new)
    sent["ids"].update(found)
    return {str(i): b64 for i, b64 in found.items()}


def current_view(spec: dict, current_map: str) -> MapView:
    """The part of this map the browser shows: the last report when it was of this map, else the map's
    own ranges, kept as this map's (a map drawn again after another starts unzoomed, so a report from
    before must not count for it)."""
    last = st.session_state.get(STATE)
    if isinstance(last, dict) and last.get("map") == current_map and isinstance(last.get("view"), MapView):
        return last["view"]
    seen = own_view(spec, last.get("view") if isinstance(last, dict) and isinstance(last.get("view"), MapView)
                    else None)
    st.session_state[STATE] = {"map": current_map, "view": seen}
    return seen


def _on_view(current_map: str) -> None:
    seen = reported_view(_trigger("view"), current_map)
    if seen is not None:
        st.session_state[STATE] = {"map": current_map, "view": seen}


def _trigger(name: str):
    value = st.session_state.get(ELEMENT)
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _on_missing(path: str) -> None:
    """The browser lacks these thumbnails: no longer counted as sent, so this run sends them."""
    asked = browser_values.known_ids(_trigger("missing"), cached.sample_ids(path))
    sent = st.session_state.get(SENT)
    if asked and isinstance(sent, dict) and sent.get("catalog") == path:
        sent["ids"].difference_update(asked)


@st.fragment
def overlay(view: View, spec: dict, selector: str = ".st-key-datamap .js-plotly-plot") -> None:
    """Mount the pictures of the map drawn in `selector` (whose layout's meta names `map_id(view)`): a
    zoom or pan reruns only this fragment, which sends the pictures of the points then in view."""
    current_map = map_id(view)
    seen = current_view(spec, current_map)
    layout = picture_layout(spec, seen, view.pinned) if view.pictures else picture_layout({"data": []}, seen)
    layout.pop("count")
    thumbs = thumbnails_to_send(view.catalog, [p[0] for p in layout["pictures"]])
    element(selector, current_map, layout, thumbs, st.session_state[SENT]["generation"],
            (seen.width, seen.height) if layout["pictures"] else None, on_view=lambda: _on_view(current_map),
            on_missing=lambda: _on_missing(view.catalog))


def element(selector: str, current_map: str, layout: dict, thumbs: dict[str, str], generation: int,
            size: tuple[int, int] | None, on_view, on_missing) -> None:
    """The components-v2 element (no visible UI) that draws `layout` (`picture_layout`) on the map
    `current_map` in `selector`, with `thumbs` it has not had yet (a new `generation`: it drops those it
    kept), sized for a plot area of `size` pixels (the browser reports its own where it differs); calls
    `on_view` when the browser reports what it shows (the trigger `view`), `on_missing` when it asks for
    thumbnails it lacks (the trigger `missing`)."""
    _component(data={"selector": selector, "map": current_map, "layout": json.dumps(layout, separators=(",", ":")),
                     "thumbs": thumbs, "generation": generation, "size": list(size) if size else None},
               key=ELEMENT, height=0, on_view_change=on_view, on_missing_change=on_missing)
