"""A plotly chart that stays mounted: a new figure updates the same plot (`Plotly.react`) instead of
mounting a new one.

Streamlit's st.plotly_chart gives each figure its own element identity (the spec is hashed into it), so
every change of the data map (a layer switch, a pin, a selection ring) mounted a new plot: a new WebGL
context, every point uploaded again, zoom lost. This components-v2 element (its script: `plotly_view.js`
beside this file) keeps one div for the life of the page and hands each new figure to plotly.js, which
redraws only what changed.

plotly.js itself is served once per visitor from the app's static folder (`server.enableStaticServing`),
copied there on first use: our own build with only the trace types the app draws (scatter, scattergl,
bar, heatmap; app/vendor/, built by tools/plotly_bundle/ from the plotly.js version that plotly.py ships),
under a third the size of plotly.py's full plotly.min.js and several times quicker for a browser to
evaluate (docs/PERFORMANCE.md). Should the installed plotly ship another plotly.js than the one built,
its full file is served instead (a log line says so) until the bundle is rebuilt. The file's contents
name it (so a browser never runs a stale copy). Where it cannot be served (static serving off, a
read-only app folder), `chart` says so and the caller falls back to st.plotly_chart (`draw` does both).

The charts beside the map (separability, depth strip, the tabs' heatmaps) are drawn here too: Streamlit's
own chart would make a visitor's browser load Streamlit's plotly bundle (megabytes) on top of ours at
the first look. A chart drawn with `on_click` reports a click on a point (`clicked_points`); one drawn
with `on_select`, a box or lasso selection, as the selected points' ids only (`selected_ids`): Streamlit's
chart would send every point's fields, megabytes for a map's 50,000 points.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from collections.abc import Callable

import numpy as np
import plotly
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app.browser_values import int_list, plot_points

log = logging.getLogger(__name__)

FULL = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"  # plotly.py's, every trace type
VENDOR = Path(__file__).with_name("vendor")
MAX_SELECTED = 100_000  # ids a selection may report (plotly_view.js sends no more): a map has 50,000 points at most


def js_version(path: Path) -> str | None:
    """The plotly.js version a plotly.js file's licence header names (`plotly.js (...) vX.Y.Z`)."""
    with path.open("rb") as file:
        found = re.search(rb"\* plotly\.js\b[^\n]* v(\d+\.\d+\.\d+\S*)", file.read(400))
    return found.group(1).decode("ascii") if found else None


def _source() -> Path:
    """The plotly.js to serve: our bundle of the version plotly.py ships, else plotly.py's full file."""
    version = js_version(FULL)
    bundle = VENDOR / f"plotly-{version}-layerscope.min.js"
    if bundle.is_file() and js_version(bundle) == version:
        return bundle
    log.warning("no app/vendor bundle of plotly.js %s (plotly %s): serving its full plotly.min.js; "
                "rebuild it (tools/plotly_bundle/README.md)", version, plotly.__version__)
    return FULL


SOURCE = _source()
# the name it is served under: a new build, or a plotly upgrade, is a new URL, never a browser's stale copy
SERVED_NAME = f"{SOURCE.name.removesuffix('.min.js')}-{hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]}.min.js"

_JS = Path(__file__).with_name("plotly_view.js").read_text(encoding="utf-8")
_PRELOAD_JS = Path(__file__).with_name("plotly_preload.js").read_text(encoding="utf-8")

_component = st.components.v2.component("layerscope.plotly_view", js=_JS, isolate_styles=False)

_DEFAULT_TEMPLATE = go.Figure().to_plotly_json()["layout"].get("template") if pio.templates.default else None

_DTYPES = {np.dtype(t): code for t, code in (
    (np.float32, "f4"), (np.float64, "f8"), (np.int8, "i1"), (np.uint8, "u1"), (np.int16, "i2"),
    (np.uint16, "u2"), (np.int32, "i4"), (np.uint32, "u4"))}


def to_json(figure: dict) -> str:
    """A figure dict as plotly.js JSON; numeric numpy arrays become typed arrays (base64, a few bytes a
    value), as plotly.py writes them; int64 goes as int32 (plotly.js has no 64-bit integer arrays)."""
    return json.dumps(figure, default=_encode, separators=(",", ":"))


def _encode(value):
    if isinstance(value, np.ndarray):
        array = value.astype(np.int32) if value.dtype == np.int64 else value
        code = _DTYPES.get(array.dtype)
        if code is None:
            return array.tolist()
        encoded = {"dtype": code, "bdata": base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")}
        if array.ndim > 1:
            encoded["shape"] = ", ".join(str(n) for n in array.shape)
        return encoded
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def static_folder() -> Path:
    """The folder Streamlit serves at app/static/: `static/` beside the main script (Home.py locally,
    deploy/streamlit_app.py on Community Cloud)."""
    ctx = get_script_run_ctx()
    main = getattr(ctx, "main_script_path", None) or Path(__file__).resolve().parents[1] / "Home.py"
    return Path(main).resolve().parent / "static"


def asset_url() -> str | None:
    """The URL of plotly.js under the app's static folder (relative to the page), copied there if need
    be; None when the app cannot serve it."""
    if not st.get_option("server.enableStaticServing"):
        return None
    name = SERVED_NAME
    static = static_folder()
    target = static / name
    if not target.exists():
        partial = None
        try:
            static.mkdir(exist_ok=True)
            # a unique temporary name, renamed into place: two sessions copying at once never serve half a file
            handle, partial = tempfile.mkstemp(dir=static, prefix=f".{name}.", suffix=".part")
            os.close(handle)
            shutil.copyfile(SOURCE, partial)
            os.replace(partial, target)
        except OSError:
            log.warning("cannot copy plotly.js to %s: charts fall back to st.plotly_chart", static, exc_info=True)
            if partial is not None:
                Path(partial).unlink(missing_ok=True)
            return None
    return f"app/static/{name}"


def preload() -> None:
    """Define the page's plotly.js loader and start it, from among the page's first elements: call it
    before a page's first mounted chart (`chart`, `draw`, `datamap.draw`), which loads plotly.js only
    through it. A components-v2 element's script runs only once the whole page is rendered, so a chart
    that started plotly.js itself would evaluate it (half a second or more on a slow machine) after
    everything else; this st.html script runs while the rest still renders (`plotly_preload.js`)."""
    url = asset_url()
    if url is not None:
        st.html(f'<script data-src="{url}">{_PRELOAD_JS}</script>', unsafe_allow_javascript=True)


def chart(figure: dict, key: str, height: int, config: dict | None = None,
          on_click: Callable[[], None] | None = None, on_select: Callable[[], None] | None = None,
          lead: bool = False, after_lead: bool = False) -> bool:
    """Draw `figure` ({"data", "layout"}) in the mounted chart `key`; False (nothing drawn) when plotly.js
    cannot be served, so the caller can draw it another way. With `on_click`, a click on a point runs it
    (a rerun), and `clicked_points(key)` tells which points; with `on_select`, a person's box or lasso
    selection (or a double click clearing it) runs it, and `selected_ids(key)` tells which ids. `lead`
    marks the page's main chart (the data map), `after_lead` a chart beside it: at a page's first look,
    its first figure is drawn once the lead's is shown, so the map does not wait for every chart."""
    src = asset_url()
    if src is None:
        return False
    callbacks = {}
    if on_click is not None:
        callbacks["on_click_change"] = on_click
    layout = figure["layout"]
    if on_select is not None:
        callbacks["on_select_change"] = on_select
        if selected_ids(key) is not None:
            count_answered(key)
    answers = answered(key)
    if on_select is not None or answers:
        layout = {**layout, "selectionrevision": f"{layout.get('selectionrevision', '')}/{answers}"}
    _component(data={"traces": to_json(figure["data"]), "layout": to_json(layout), "src": src,
                     # responsive: plotly.js follows the plot's own width (the column, the sidebar folding)
                     "height": height, "config": {"responsive": True, **(config or {})},
                     "clicks": on_click is not None, "selects": on_select is not None,
                     "lead": lead, "afterLead": after_lead},
               key=key, height=height, **callbacks)
    return True


# the answered selections' counts per chart, under a plain session-state key (no widget's: Streamlit drops
# a widget's state on a page that does not draw it, and a count must survive a visit to another page)
_ANSWERED = "_plotly_view_answered"


def count_answered(key: str) -> None:
    """Count one more box or lasso selection (or clearing) of the chart `key` that the page acted on, in the
    run it starts: `chart` does so for a chart drawn with `on_select`, a page for a selection that reached
    it another way (the Explorer's plot bridge). The count goes into the figure's selectionrevision, so that
    every answered selection changes the figure and plotly drops its own selection (the outline, the
    dimming) for the page's rings: a selection of the samples already ringed would otherwise leave the
    figure as it was, the plot not redrawn and the outline drawn."""
    counts = st.session_state.setdefault(_ANSWERED, {})
    counts[key] = counts.get(key, 0) + 1


def answered(key: str) -> int:
    """How many selections of the chart `key` the page has answered (`count_answered`)."""
    return st.session_state.get(_ANSWERED, {}).get(key, 0)


def clicked_points(key: str) -> list[dict] | None:
    """The points of the click that the mounted chart `key` reported in this run, as Streamlit's chart
    reports a selection's (curve_number, point_number, point_index, customdata, x, y), checked
    (`browser_values.plot_points`); None when it reported none."""
    value = st.session_state.get(key)
    click = value.get("click") if isinstance(value, dict) else None
    return None if click is None else plot_points(click)


def selected_ids(key: str) -> list[int] | None:
    """The ids (each selected point's customdata, or its first value) of the box or lasso selection that
    the mounted chart `key` reported in this run, sorted, once each, at most MAX_SELECTED looked at
    (the caller keeps those its catalog has: `browser_values.known_ids`); [] for a cleared selection;
    None when it reported none."""
    value = st.session_state.get(key)
    sent = value.get("select") if isinstance(value, dict) else None
    return None if sent is None else (int_list(sent, MAX_SELECTED) or [])


def draw(figure: go.Figure | dict, key: str, config: dict | None = None,
         on_click: Callable[[], None] | None = None, on_select: Callable[[], None] | None = None,
         after_lead: bool = False) -> None:
    """A chart beside the map: mounted (`chart`) with the app's look (`LOOK`), or Streamlit's own chart
    where plotly.js cannot be served. `on_click` runs on a click on a point, `on_select` on a box or
    lasso selection; the chart's clicked points are then `app.charts.selected_points(key)`, its selected
    ids `app.charts.selected_sample_ids(key)`, either way. `after_lead`: drawn after the map (`chart`)."""
    spec = figure if isinstance(figure, dict) else figure.to_plotly_json()
    layout = dict(spec.get("layout") or {})
    if layout.get("template") == _DEFAULT_TEMPLATE:  # plotly.py's white default: Streamlit's chart replaces it
        del layout["template"]
    # a click is an event only: plotly's click-to-select would dim every other point until the next figure
    mounted = {**_merge(LOOK, layout), "clickmode": "event"}
    if chart({"data": spec["data"], "layout": mounted}, key=key, height=int(layout.get("height") or 450),
             config=config, on_click=on_click, on_select=on_select, after_lead=after_lead):
        return
    figure = figure if isinstance(figure, go.Figure) else go.Figure(figure, _validate=False)
    st.plotly_chart(figure, width="stretch", key=key, config=config, **fallback_events(on_click, on_select))


def fallback_events(on_click: Callable[[], None] | None, on_select: Callable[[], None] | None) -> dict:
    """st.plotly_chart's arguments for a chart's click and selection callbacks: it has one callback for
    both, which reads the selection state either way."""
    modes = (("points",) if on_click else ()) + (("box", "lasso") if on_select else ())
    if not modes:
        return {}
    if on_click and on_select:
        def on_either() -> None:
            on_click()
            on_select()
        return {"on_select": on_either, "selection_mode": modes}
    return {"on_select": on_click or on_select, "selection_mode": modes}


# What Streamlit's chart theme gave these charts, said here since the mounted chart draws a figure as is;
# a figure's own layout goes over it.
FONT = '"Source Sans Pro", "Source Sans", sans-serif'
_AXIS = {"gridcolor": "#252c3b", "zerolinecolor": "#3a4252", "linecolor": "#3a4252", "automargin": True}
LOOK = {"font": {"color": "#e6e6e6", "family": FONT}, "hoverlabel": {"font": {"family": FONT}},
        "xaxis": _AXIS, "yaxis": _AXIS,
        "modebar": {"bgcolor": "rgba(0,0,0,0)", "color": "#9aa4b5", "activecolor": "#e6e6e6"}}


def _merge(base: dict, over: dict) -> dict:
    """`over` laid over `base`, dicts merged key by key."""
    merged = dict(base)
    for name, value in over.items():
        merged[name] = _merge(merged[name], value) if isinstance(value, dict) and isinstance(
            merged.get(name), dict) else value
    return merged
