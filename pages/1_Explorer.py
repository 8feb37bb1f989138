"""Explorer: the layer map, the data map, the inspector and the activation gallery, on one screen."""
from __future__ import annotations

import logging
from dataclasses import replace

import streamlit as st

from app import (
    brand,
    browser_values,
    cached,
    catalogs,
    datamap,
    depth_strip,
    explain_panel,
    fragments,
    gallery,
    inspector,
    layer_map,
    map_pictures,
    palette,
    plot_bridge,
    plotly_view,
    separability_chart,
    session,
    state,
    upload,
    urlstate,
)
from app.navigation import link
from app.style import load_css
from app.tabs import channel, compare, export, failures, neighbours, selection, similarity
from app.view import METHOD_LABELS, View

log = logging.getLogger(__name__)

st.set_page_config(page_title="LayerScope · Explorer", page_icon=brand.PAGE_ICON, layout="wide")
load_css()
plotly_view.preload()

found, damaged = catalogs.scan_catalogs()
for damaged_path, reason in damaged:
    st.sidebar.warning(catalogs.skipped(damaged_path, reason), icon=":material/warning:")
if not found:
    st.warning(catalogs.none_found())
    st.page_link(link("Home.py"), label="Home", icon=":material/home:")
    st.stop()

labels = {str(p): catalogs.choice_label(p, m) for p, m in found}
session.restore_widgets(labels)  # what the view's widgets held before another page ran
urlstate.restore_catalog({p.name: str(p) for p, _ in found})
with st.sidebar:
    st.subheader("Controls")
    path = st.selectbox("Catalog", list(labels), format_func=labels.get, key="catalog",
                        on_change=fragments.page_widget())
try:
    session.init_state(path)
except Exception as exc:  # a stale or damaged catalog: say so instead of a traceback
    log.exception("cannot read the catalog %s", path)
    st.error(catalogs.unreadable(path, exc))
    st.stop()
manifest = cached.manifest(path)
table = cached.layers(path)
layer_ids = [int(i) for i in table.layer_id]
names = dict(zip(layer_ids, table.name))
perplexities = cached.perplexities(path)
channel_from_url = urlstate.restore_view(path, layer_ids, cached.sample_ids(path), perplexities)
session.keep_widgets()


WARM_AFTER_GALLERY = "warm_channel_after_gallery"  # a pin whose gallery, once shown, warms the Channel tab


def _set_layer(layer_id: int) -> None:
    st.session_state.layer_id = int(layer_id)
    st.session_state.hovered = None  # the inspector goes back to the pinned sample on a new map
    fragments.set_widget("layer_select", int(layer_id))


def _pin(sample_id: int) -> None:
    """Pin a sample (a click on its point or its thumbnail): the inspector and the gallery follow it."""
    st.session_state.pinned, st.session_state.hovered = int(sample_id), None
    gallery.pinned_by_hand(path, sample_id, st.session_state.layer_id)
    st.session_state[WARM_AFTER_GALLERY] = int(sample_id)


def _on_layer_map() -> None:
    value = st.session_state.get("layer_map")
    selected = value.get("selected") if isinstance(value, dict) else getattr(value, "selected", None)
    layer_id = browser_values.known_int(selected, layer_ids)  # the browser may send any value
    if layer_id is not None:
        _set_layer(layer_id)


def _on_layer_select() -> None:
    layer_id = browser_values.known_int(st.session_state.layer_select, layer_ids)  # an unknown option comes as text
    if layer_id is not None:
        _set_layer(layer_id)


if st.session_state.get("layer_select") not in layer_ids:
    fragments.set_widget("layer_select", st.session_state.layer_id)

with st.sidebar:
    if not perplexities:
        st.session_state.method = "pca"
    elif st.session_state.get("method") not in METHOD_LABELS:
        st.session_state.method = "tsne"
    method = st.radio("Method", list(METHOD_LABELS), format_func=METHOD_LABELS.get, horizontal=True,
                      key="method", disabled=not perplexities, on_change=fragments.page_widget())
    requested = used = None
    if method == "tsne" and perplexities:
        used_of = dict(perplexities)
        options = list(used_of)
        perplexity_key = session.perplexity_key(path)
        if st.session_state.get(perplexity_key) not in options:
            st.session_state[perplexity_key] = options[len(options) // 2]
        # persist_state: the slider comes back (after PCA, another catalog or page) showing the person's
        # perplexity. Without it, a fragment rerun the browser asks for while PCA's run is going (a zoomed
        # map reports its view as PCA's map is drawn) brings the slider's value back to the server, which
        # keeps it while the browser has dropped it: the slider would show its first option over a map at
        # the kept perplexity.
        requested = st.select_slider(
            "Perplexity (t-SNE)", options=options, key=perplexity_key, persist_state="session",
            on_change=fragments.page_widget(),
            format_func=lambda p: f"{p:g}" if abs(used_of[p] - p) < 1e-6 else f"{p:g}→{used_of[p]:g}")
        used = used_of[requested]
        st.caption(f"Perplexity used: **{used:g}**" + ("" if abs(used - requested) < 1e-6 else
                   f" (asked {requested:g}; capped at {manifest['perplexities']['max_for_n']} for N)"))
    colour_by = st.selectbox("Colour by", list(datamap.COLOUR_BY), key="colour_by", on_change=fragments.page_widget())
    if cached.one_image_per_class(path) and colour_by in ("coarse group", "class"):
        st.caption("Every class has one image in this catalog: a colour per class would give every point its "
                   "own hue, so the map is coloured by **coarse group** by default.")
    if "cluster_names" not in st.session_state:  # on by default
        st.session_state.cluster_names = True
    names_shown = st.toggle("Cluster names", key="cluster_names", on_change=fragments.page_widget(),
                            help="Each cluster (HDBSCAN) named on the map by its majority label and purity")
    st.selectbox("Layer", layer_ids, format_func=lambda i: f"{i}: {names[i]}", key="layer_select",
                 on_change=fragments.server_set_widget("layer_select", _on_layer_select))
    fragments.drawn("layer_select")
    if not isinstance(st.session_state.get(map_pictures.SWITCH), bool):
        st.session_state[map_pictures.SWITCH] = True
    pictures = st.toggle("Pictures on the map", key=map_pictures.SWITCH, on_change=fragments.page_widget(),
                         help=f"Where the map's view holds at most {map_pictures.PICTURES_UP_TO} points, each is "
                              "drawn as its image, framed in its colour: zoom in to see them.")
    st.divider()
    st.caption(f"Dataset: **{manifest['dataset']['name']}**, N={manifest['n_samples']}  \n"
               f"Model: **{catalogs.model_label(manifest)}**  \nWeights: {manifest['model']['weights']}  \n"
               f"Top-1 accuracy: {manifest['top1_accuracy']:.1%} on {manifest['n_samples']} images")

view = View(catalog=path, layer_id=int(st.session_state.layer_id), method=method, perplexity_requested=requested,
            perplexity_used=used, pinned=st.session_state.pinned, colour_by=colour_by, cluster_names=names_shown,
            pictures=pictures)
layer = table[table.layer_id == view.layer_id].iloc[0]
layer_name = str(layer["name"])
st.markdown(f"<div class='ls-header'><b>{catalogs.model_label(manifest)}</b> · {manifest['dataset']['name']} · "
            f"N={manifest['n_samples']} · layer <b>{layer_name}</b> ({layer_map.kind_and_shape(layer)})</div>",
            unsafe_allow_html=True)


def _on_separability() -> None:
    clicked = separability_chart.clicked_layer("separability_chart")
    if clicked in layer_ids:
        _set_layer(clicked)


separability, separability_by = cached.separability(path)
group_only = separability_by != "class"
map_col, sep_col = st.columns([3, 1], gap="small")
with map_col, st.container(key="layer_map_box"):
    layer_map.layer_map(table, view.layer_id, key="layer_map", on_change=fragments.page_widget(_on_layer_map),
                        title=".st-key-datamap .gtitle")
with sep_col, st.container(key="separability"):
    settled = cached.settled_curve(path)
    plotly_view.draw(separability_chart.figure(separability, separability_by, view.layer_id, settled),
                     key="separability_chart", on_click=fragments.page_widget(_on_separability), config={"displayModeBar": False},
                     after_lead=True)
    st.caption(separability_chart.caption(separability_by, bool(settled.settled.notna().any())),
               help=separability_chart.help_text(separability_by))

left, middle, right = st.columns([5, 3, 4], gap="small")

with left:
    controls = st.columns([11, 9], gap="small")
    show = controls[0].segmented_control("Show", ["all", "correct", "incorrect"],
                                         format_func=lambda v: "wrong" if v == "incorrect" else v,
                                         key="map_filter", on_change=fragments.page_widget()) or "all"
    view = replace(view, show=show)
    drag = controls[1].segmented_control("Drag to", ["pan", "box", "lasso"], default="pan", key="drag_mode",
                                         on_change=fragments.page_widget(),
                                         help="box or lasso: select points (the Selection tab summarises them)")
    dragmode = {"box": "select", "lasso": "lasso"}.get(drag or "pan", "pan")
    highlight = tuple(sorted(set(st.session_state.get("selection_ids") or []) |
                             set(st.session_state.get("highlight_ids") or [])))
    star = upload.marker(path, view.layer_id, view.method, view.perplexity_used)
    spec = datamap.figure_spec(view, layer_name, str(layer.kind), highlight=highlight or None, marker=star,
                               dragmode=dragmode)
    with st.container(key="datamap"):
        # the visible points as pictures, where few enough: sent before the figure, so that a switch to
        # another map draws it with its pictures at once (a page's first map shows its points first)
        map_pictures.overlay(view, spec)
        # hover, click and box/lasso selections reach the app through the bridge (in the inspector)
        datamap.draw(spec, map_id=map_pictures.map_id(view))
    if spec.get("html_legend"):
        st.html(palette.legend_html(spec["html_legend"], colour_by))
    st.caption("Hover a point to inspect it; click to pin it (the gallery follows the pinned sample).")
    with st.container(key="depth_strip"):  # below the map, so a laptop screen still shows the whole map
        depth_strip.render(path, view.pinned, view.layer_id, _set_layer)


@st.fragment
def inspector_panel(path: str) -> None:
    events = plot_bridge.bridge("datamap", key="plot_bridge")
    # the events carry what the browser sent: only the catalog's sample ids are kept (no more than it has)
    known = cached.sample_ids(path)
    clicked = browser_values.known_int(getattr(events, "click", None), known)
    hovered = browser_values.known_int(getattr(events, "hover", None), known)
    selected = browser_values.known_ids(getattr(events, "select", None), known)
    if getattr(events, "drawn", None):
        state.map_drawn()  # the model preload (started after the first run) may begin
    if selected is not None:  # a box or lasso selection on the map: the whole page (Selection tab, rings)
        st.session_state.selection_ids = selected
        plotly_view.count_answered(datamap.KEY)  # plotly's own outline goes, even of the samples ringed
        st.rerun()
    if clicked is not None and clicked != st.session_state.pinned:
        _pin(clicked)
        st.rerun()
    if hovered is not None:
        st.session_state.hovered = hovered
    elif getattr(events, "unhover", None):  # the pointer left the map: back to the pinned sample
        st.session_state.hovered = None
    sample_id = st.session_state.hovered if st.session_state.hovered is not None else st.session_state.pinned
    how = "pinned" if sample_id == st.session_state.pinned else "hovered · click to pin"
    inspector.render(path, sample_id, how)


@st.fragment
def gallery_panel(path: str, sample_id: int, layer_id: int) -> None:
    table = cached.layers(path)
    layer = table[table.layer_id == layer_id].iloc[0]
    shown = gallery.render(path, sample_id, layer)
    if shown and st.session_state.get(WARM_AFTER_GALLERY) == sample_id:
        # the pin's gallery is out: the Channel tab's first maps next, on the same worker (begun at the
        # pin, they would take the CPU from the gallery's own run and its drawing)
        del st.session_state[WARM_AFTER_GALLERY]
        channel.warm(path, layer, group_only)


with middle:
    with st.container(key="inspector"):
        inspector_panel(path)
with right:
    with st.container(key="gallery"):
        gallery_panel(path, view.pinned, view.layer_id)


# the tabs under the map, each with what draws it: only the open one runs
TABS = {
    "Your image": lambda: upload.render(path, view.layer_id, layer_name, view.method, view.perplexity_used),
    "Neighbours": lambda: neighbours.render(view, layer_name, _pin),
    "Channel": lambda: channel.render(path, layer, group_only),
    "Explain": lambda: explain_panel.render(path, layer, explain_panel.sample_subject(path, view.pinned)),
    "Selection": lambda: selection.render(view, group_only),
    "Compare layers": lambda: compare.render(view, table),
    "Export": lambda: export.render(view, layer_name),
    "Failures": lambda: failures.render(view, _set_layer, _pin),
    "Layer similarity": lambda: similarity.render(view, table),
}
# a link to a channel opens its tab: set as the tabs' value, not their default (a default that differs
# between runs makes them another widget, which resets to the first tab at the next click)
if channel_from_url:
    st.session_state["explorer_tab"] = "Channel"
tabs = st.tabs(list(TABS), key="explorer_tab", on_change=fragments.page_widget())
for tab, render_tab in zip(tabs, TABS.values()):
    with tab:
        if tab.open:
            render_tab()

state.preload_model(path)  # it loads once the map is drawn: the first gallery finds the model loaded
# the channel may have changed in this run (the Channel tab, the gallery): the URL takes it from the session
urlstate.write(replace(view, channel=st.session_state.get("channel")))
session.keep_widgets()
