"""The Explorer's session state: set up per catalog, and read or written as a View.

Widgets own most keys (layer_select, method, perplexity::<catalog>, colour_by, map_filter, channel,
cluster_names, map_pictures);
layer_id, pinned and hovered are the page's own. A View goes into the state before the widgets are
drawn (Streamlit refuses to change a widget's key after it is drawn in a run).

Streamlit drops a widget's key when a run does not draw that widget (another page: Home, SQL, About; or
the Explorer with the Channel tab closed). The widgets that hold the view are therefore also kept under
KEPT, a key no widget owns (`keep_widgets`), and put back before they are drawn (`restore_widgets`).
The two the Explorer itself hides, the perplexity slider (PCA) and the channel input (its tab closed), also
carry persist_state="session": a fragment rerun that the browser asks for during the run that hides one
carries its value back to the server (a fragment run never drops a widget outside it), so the server keeps
the value while the browser drops it, and only persist_state has it sent back when it is drawn again.
"""
from __future__ import annotations

from collections.abc import Collection

import streamlit as st

from app import cached
from app.view import View


KEPT = "_explorer_widgets"
VIEW_WIDGETS = ("catalog", "method", "colour_by", "map_filter", "layer_select", "channel", "explorer_tab",
                "cluster_names", "map_pictures")


def _holds_view(key) -> bool:
    return isinstance(key, str) and (key in VIEW_WIDGETS or key.startswith("perplexity::"))


def restore_widgets(catalog_paths: Collection[str]) -> None:
    """Before any widget of the Explorer: the view's widget values another page's run dropped (the
    catalog only while it is still found)."""
    for key, value in st.session_state.get(KEPT, {}).items():
        if key not in st.session_state and (key != "catalog" or value in catalog_paths):
            st.session_state[key] = value


def keep_widgets() -> None:
    """The view's widget values as they are now, under KEPT (values no longer present stay kept)."""
    kept = dict(st.session_state.get(KEPT, {}))
    kept.update({key: st.session_state[key] for key in list(st.session_state.keys()) if _holds_view(key)})
    st.session_state[KEPT] = kept


def perplexity_key(path: str) -> str:
    """The perplexity slider's key: one per catalog, since each has its own perplexities."""
    return f"perplexity::{path}"


def init_state(path: str) -> None:
    """Selection state per catalog: switching catalogs resets the layer and the samples."""
    if st.session_state.get("catalog_path") != path:
        st.session_state.catalog_path = path
        table = cached.layers(path)
        maps = table[(table.height > 1)]
        # default: the last conv-type map, where classes separate best
        st.session_state.layer_id = int(maps.layer_id.iloc[-1]) if len(maps) else int(table.layer_id.iloc[-1])
        first = int(cached.samples(path).sample_id.iloc[0])
        st.session_state.pinned = first
        st.session_state.hovered = None
        st.session_state.colour_by = default_colour(path)
        st.session_state.map_filter = "all"


def default_colour(path: str) -> str:
    """Colour by class, unless every class has one image: a colour per sample tells nothing apart."""
    return "coarse group" if cached.one_image_per_class(path) else "class"


def session_view(path: str) -> View:
    """The view the session holds now (what the URL overrides when a link is opened)."""
    state = st.session_state
    method = state.get("method") if state.get("method") in ("tsne", "pca") else "tsne"
    requested = state.get(perplexity_key(path)) if method == "tsne" else None
    return View(catalog=path, layer_id=int(state.layer_id), method=method, perplexity_requested=requested,
                pinned=state.get("pinned"), channel=state.get("channel"),
                colour_by=state.get("colour_by") or default_colour(path), show=state.get("map_filter") or "all",
                cluster_names=bool(state.get("cluster_names", True)),
                pictures=state.get("map_pictures") is not False)


def apply_view(view: View) -> None:
    """Put a view's layer, method, perplexity, pinned sample, channel, colour, filter, cluster names and
    pictures switch
    where the widgets read them."""
    state = st.session_state
    state.layer_id = state.layer_select = int(view.layer_id)
    state.method = view.method
    if view.method == "tsne" and view.perplexity_requested is not None:
        state[perplexity_key(view.catalog)] = view.perplexity_requested
    if view.pinned is not None:
        state.pinned = int(view.pinned)
    if view.channel is not None:
        state.channel = int(view.channel)
    state.colour_by, state.map_filter = view.colour_by, view.show
    state.cluster_names = view.cluster_names
    state.map_pictures = bool(view.pictures)
