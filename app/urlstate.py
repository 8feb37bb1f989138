"""Shareable views: a View in the URL's query parameters, restored when a URL is opened.

Parameters: catalog (folder name), layer (layer_id), method (tsne|pca), perplexity (requested, t-SNE
only), pinned (sample_id), channel, colour (what the map is coloured by), show (all|correct|incorrect),
labels (0: the cluster names are off; absent: on), pics (0: the map's pictures switched off; absent when on).
Restored on the session's first run and when the browser goes Back or Forward to another address
(Streamlit reruns the page with that address, marked as history navigation); written on every full run
(Streamlit pushes a history entry for each change). `to_params` and `from_params` are plain functions
(the URL format); the rest moves them between st.query_params and the session.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from urllib.parse import urlencode

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app import session
from app.datamap import COLOUR_BY
from app.view import METHOD_LABELS, SHOW_FILTERS, View


def to_params(view: View) -> dict[str, str]:
    """The view's query parameters: a link opens the same map, coloured and filtered the same way."""
    params = {"catalog": view.catalog_name, "layer": str(int(view.layer_id)), "method": view.method,
              "colour": view.colour_by, "show": view.show}
    if view.method == "tsne" and view.perplexity_requested is not None:
        params["perplexity"] = f"{view.perplexity_requested:g}"
    if view.pinned is not None:
        params["pinned"] = str(int(view.pinned))
    if view.channel is not None:
        params["channel"] = str(int(view.channel))
    if not view.cluster_names:
        params["labels"] = "0"
    if not view.pictures:
        params["pics"] = "0"
    return params


def _parse(value, kind):
    try:
        return None if value in (None, "") else kind(value)
    except ValueError:
        return None


def from_params(params: Mapping[str, str], fallback: View, layer_ids: Collection[int],
                sample_ids: Collection[int], perplexities: list[tuple[float, float]]) -> View:
    """The view a URL asks for, checked against the catalog: what is missing, malformed or not in it
    (an unknown layer or sample, t-SNE where the catalog has none, a perplexity it lacks) stays as in
    `fallback`, except the cluster names: on unless the address says labels=0 (an address without it was
    written with them on). `perplexities` are the catalog's (requested, used) pairs. The catalog itself is chosen
    before (restore_catalog), so it is taken from `fallback`."""
    layer = _parse(params.get("layer"), int)
    method = params.get("method")
    if method not in METHOD_LABELS or (method == "tsne" and not perplexities):
        method = fallback.method
    used_of = dict(perplexities)
    requested = used = None
    if method == "tsne":
        asked = _parse(params.get("perplexity"), float)
        match = [p for p in used_of if asked is not None and abs(p - asked) < 1e-6]
        requested = match[0] if match else fallback.perplexity_requested
        used = used_of.get(requested)
        if used is None:
            requested = None
    colour, show = params.get("colour"), params.get("show")
    pinned = _parse(params.get("pinned"), int)
    channel = _parse(params.get("channel"), int)
    return replace(fallback, layer_id=layer if layer in layer_ids else fallback.layer_id, method=method,
                   perplexity_requested=requested, perplexity_used=used,
                   pinned=pinned if pinned in sample_ids else fallback.pinned,
                   channel=channel if channel is not None and channel >= 0 else fallback.channel,
                   colour_by=colour if colour in COLOUR_BY else fallback.colour_by,
                   show=show if show in SHOW_FILTERS else fallback.show,
                   cluster_names=params.get("labels") != "0",
                   pictures=PICTURES.get(params.get("pics"), fallback.pictures))


# the pics parameter -> the pictures switch: absent is on (to_params writes it only when off)
PICTURES = {None: True, "": True, "1": True, "0": False}


def _current_params() -> dict[str, str]:
    return {key: st.query_params.get(key) for key in st.query_params}


SHOWN = "_url_shown"  # the parameters the address holds after the last run wrote them


def _history_navigation() -> bool:
    """Whether this run answers the browser's Back or Forward (it carries that entry's address)."""
    ctx = get_script_run_ctx()
    return bool(getattr(ctx, "is_history_navigation", False))


def _restoring() -> bool:
    """The address is to be read: the session's first run, or Back/Forward onto another view."""
    if not st.session_state.get("_url_restored"):
        return True
    params = _current_params()
    return bool(params) and _history_navigation() and params != st.session_state.get(SHOWN)


def restore_catalog(paths_by_name: dict[str, str]) -> None:
    """Before the catalog selectbox exists: choose the catalog named in the URL."""
    if not _restoring():
        return
    name = st.query_params.get("catalog")
    if name in paths_by_name:
        st.session_state.catalog = paths_by_name[name]


def restore_view(path: str, layer_ids: Collection[int], sample_ids: Collection[int],
                 perplexities: list[tuple[float, float]]) -> bool:
    """After the catalog's state is initialised, before its widgets: the URL's view into the session.

    Returns True when this run restored a channel (so the page can open the channel view)."""
    if not _restoring():
        return False
    st.session_state._url_restored = True
    fallback = session.session_view(path)
    view = from_params(_current_params(), fallback, layer_ids, sample_ids, perplexities)
    session.apply_view(view)
    return view.channel is not None and view.channel != fallback.channel


def write(view: View) -> None:
    """The current view into the URL (only when it changed, so the browser history stays quiet)."""
    wanted = to_params(view)
    if _current_params() != wanted:
        st.query_params.from_dict(wanted)
    st.session_state[SHOWN] = wanted


def link(view: View) -> str:
    """The address that opens this view (the page's own address where the browser told it, else only
    the query)."""
    base = (getattr(st.context, "url", None) or "").split("?")[0]
    return f"{base}?{urlencode(to_params(view))}"
