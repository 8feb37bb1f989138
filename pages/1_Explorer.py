"""Explorer: the layer map, the data map, the inspector and the activation gallery, on one screen."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import brand, datamap, gallery, inspector, layer_map, state, tools, upload, urlstate

st.set_page_config(page_title="LayerScope · Explorer", page_icon=brand.PAGE_ICON, layout="wide")
state.load_css()

catalogs = state.list_catalogs()
if not catalogs:
    st.warning(f"No catalog found under `{state.catalog_root()}`. Build the bundled sample on the Home page.")
    st.page_link("Home.py", label="Home", icon=":material/home:")
    st.stop()

labels = {str(p): p.name for p, _ in catalogs}  # dataset and N are in the sidebar's caption (narrow box)
urlstate.restore_catalog({p.name: str(p) for p, _ in catalogs})
with st.sidebar:
    st.subheader("Controls")
    path = st.selectbox("Catalog (dataset, size)", list(labels), format_func=labels.get, key="catalog")
try:
    state.init_state(path)
except Exception as exc:  # a stale or damaged catalog: say so instead of a traceback
    st.error(f"Cannot read the catalog {path}: {exc}. Rebuild it with `python -m scripts.build_catalog`.")
    st.stop()
manifest = state.manifest(path)
table = state.layers(path)
layer_ids = [int(i) for i in table.layer_id]
names = dict(zip(layer_ids, table.name))
perplexities = state.perplexities(path)
channel_from_url = urlstate.restore_view(path, layer_ids, set(int(i) for i in state.samples(path).sample_id),
                                         [r for r, _ in perplexities])


def _set_layer(layer_id: int) -> None:
    st.session_state.layer_id = int(layer_id)
    st.session_state.hovered = None
    st.session_state.layer_select = int(layer_id)


def _on_layer_map() -> None:
    value = st.session_state.get("layer_map")
    selected = value.get("selected") if isinstance(value, dict) else getattr(value, "selected", None)
    if selected is not None:
        _set_layer(int(selected))


def _on_layer_select() -> None:
    _set_layer(st.session_state.layer_select)


if st.session_state.get("layer_select") not in layer_ids:
    st.session_state.layer_select = st.session_state.layer_id

with st.sidebar:
    if not perplexities:
        st.session_state.method = "PCA"
    elif st.session_state.get("method") not in ("t-SNE", "PCA"):
        st.session_state.method = "t-SNE"
    method = st.radio("Method", ["t-SNE", "PCA"], horizontal=True, key="method", disabled=not perplexities)
    requested = used = None
    if method == "t-SNE" and perplexities:
        used_of = dict(perplexities)
        options = list(used_of)
        perplexity_key = f"perplexity::{path}"
        if st.session_state.get(perplexity_key) not in options:
            st.session_state[perplexity_key] = options[len(options) // 2]
        requested = st.select_slider(
            "Perplexity (t-SNE)", options=options, key=perplexity_key,
            format_func=lambda p: f"{p:g}" if abs(used_of[p] - p) < 1e-6 else f"{p:g}→{used_of[p]:g}")
        used = used_of[requested]
        st.caption(f"Perplexity used: **{used:g}**" + ("" if abs(used - requested) < 1e-6 else
                   f" (asked {requested:g}; capped at {manifest['perplexities']['max_for_n']} for N)"))
    colour_by = st.selectbox("Colour by", list(datamap.COLOUR_BY), key="colour_by")
    st.selectbox("Layer", layer_ids, format_func=lambda i: f"{i}: {names[i]}", key="layer_select",
                 on_change=_on_layer_select)
    st.divider()
    st.caption(f"Dataset: **{manifest['dataset']['name']}**, N={manifest['n_samples']}  \n"
               f"Model: **{state.model_label(manifest)}**  \nWeights: {manifest['model']['weights']}  \n"
               f"Top-1 accuracy: {manifest['top1_accuracy']:.1%} on {manifest['n_samples']} images")

layer_id = st.session_state.layer_id
layer = table[table.layer_id == layer_id].iloc[0]
model_text = state.model_label(manifest)
st.markdown(f"<div class='ls-header'><b>{model_text}</b> · {manifest['dataset']['name']} · "
            f"N={manifest['n_samples']} · layer <b>{layer['name']}</b> ({layer.kind}, "
            f"{layer_map.shape_text(layer)})</div>", unsafe_allow_html=True)


def _on_separability() -> None:
    points = tools._selected_points("separability_chart")
    if points and points[0].get("customdata"):
        _set_layer(int(points[0]["customdata"][0]))


def _on_map_select() -> None:
    st.session_state.selection_ids = tools.selected_ids_from("datamap_chart")


separability, separability_by = state.separability(path)
group_only = separability_by != "class"
map_col, sep_col = st.columns([3, 1], gap="small")
with map_col, st.container(key="layer_map_box"):
    layer_map.layer_map(table, layer_id, key="layer_map", on_change=_on_layer_map)
with sep_col, st.container(key="separability"):
    st.plotly_chart(tools.separability_figure(separability, separability_by, layer_id), width="stretch",
                    key="separability_chart", on_select=_on_separability, selection_mode="points",
                    config={"displayModeBar": False})
    st.caption(tools.separability_caption(separability_by), help=tools.separability_help(separability_by))

left, middle, right = st.columns([5, 3, 4], gap="small")

with left:
    method_key = "tsne" if method == "t-SNE" else "pca"
    title = datamap.method_title(str(layer["name"]), method_key, used, requested, kind=str(layer.kind))
    controls = st.columns([11, 9], gap="small")
    show = controls[0].segmented_control("Show", ["all", "correct", "incorrect"], default="all",
                                         format_func=lambda v: "wrong" if v == "incorrect" else v,
                                         key="map_filter") or "all"
    drag = controls[1].segmented_control("Drag to", ["pan", "box", "lasso"], default="pan", key="drag_mode",
                                         help="box or lasso: select points (the Selection tab summarises them)")
    dragmode = {"box": "select", "lasso": "lasso"}.get(drag or "pan", "pan")
    highlight = tuple(sorted(set(st.session_state.get("selection_ids") or []) |
                             set(st.session_state.get("highlight_ids") or [])))
    star = upload.marker(path, layer_id, method_key, used)
    spec = state.datamap_spec(path, layer_id, method_key, requested, colour_by, title, st.session_state.pinned,
                              "all", highlight or None, star, dragmode)  # filtered below: same colours, same frame
    with st.container(key="datamap"):
        axes = datamap.axis_titles(method_key, state.reference(path, layer_id).get("explained_variance_ratio"))
        st.plotly_chart(datamap.figure(spec, show=show, axes=axes), width="stretch", key="datamap_chart",
                        config={"displaylogo": False, "scrollZoom": True},
                        # selecting only while box/lasso is chosen: in pan mode a click pins (the bridge)
                        **({"on_select": _on_map_select, "selection_mode": ("box", "lasso")}
                           if dragmode != "pan" else {}))
    if spec.get("html_legend"):
        st.html(datamap.legend_html(spec["html_legend"], colour_by))
    st.caption("Hover a point to inspect it; click to pin it (the gallery follows the pinned sample).")


@st.fragment
def inspector_panel(path: str) -> None:
    events = datamap.bridge("datamap", key="plot_bridge")
    clicked, hovered = getattr(events, "click", None), getattr(events, "hover", None)
    if clicked is not None and int(clicked) != st.session_state.pinned:
        st.session_state.pinned, st.session_state.hovered = int(clicked), None
        st.rerun()
    if hovered is not None:
        st.session_state.hovered = int(hovered)
    elif getattr(events, "unhover", None):
        st.session_state.hovered = None
    sample_id = st.session_state.hovered if st.session_state.hovered is not None else st.session_state.pinned
    how = "pinned" if sample_id == st.session_state.pinned else "hovered · click to pin"
    inspector.render(path, sample_id, how)


@st.fragment
def gallery_panel(path: str, sample_id: int, layer_id: int) -> None:
    table = state.layers(path)
    gallery.render(path, sample_id, table[table.layer_id == layer_id].iloc[0])


with middle:
    with st.container(key="inspector"):
        inspector_panel(path)
with right:
    with st.container(key="gallery"):
        gallery_panel(path, st.session_state.pinned, layer_id)


# --- the analysis views (only the open tab runs) ---------------------------------------------------------
TABS = ["Your image", "Neighbours", "Channel", "Selection", "Compare layers", "Export"]
method_key = "tsne" if method == "t-SNE" else "pca"
tabs = st.tabs(TABS, key="tools_tab", on_change="rerun", default="Channel" if channel_from_url else None)
with tabs[0]:
    if tabs[0].open:
        upload.render(path, layer_id, str(layer["name"]), method_key, used)
with tabs[1]:
    if tabs[1].open:
        tools.render_neighbours(path, st.session_state.pinned, layer_id, str(layer["name"]))
with tabs[2]:
    if tabs[2].open:
        tools.render_channel(path, layer, group_only)
with tabs[3]:
    if tabs[3].open:
        shown = state.embedding(path, layer_id, method_key, requested).merge(state.samples(path), on="sample_id")
        if state.SHOW.get(show) is not None:
            shown = shown[shown.correct == state.SHOW[show]]
        tools.render_selection(path, group_only, [int(i) for i in shown.sample_id])
with tabs[4]:
    if tabs[4].open:
        tools.render_compare(path, table, layer_id, method_key, requested, used, colour_by)
with tabs[5]:
    if tabs[5].open:
        tools.render_export(path, layer_id, str(layer["name"]), method_key, requested)

urlstate.write(Path(path).name, layer_id, method_key, requested, st.session_state.pinned,
               st.session_state.get("channel"))
