"""Shareable views: the Explorer's state in the URL's query parameters, restored when a URL is opened.

Parameters: catalog (folder name), layer (layer_id), method (tsne|pca), perplexity (requested),
pinned (sample_id), channel. Restored once per session (the first run), written on every full run.
"""
from __future__ import annotations

import streamlit as st

METHODS = {"tsne": "t-SNE", "pca": "PCA"}


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return None if value in (None, "") else str(value)


def _number(name: str, kind=int):
    value = _param(name)
    try:
        return None if value is None else kind(value)
    except ValueError:
        return None


def restore_catalog(paths_by_name: dict[str, str]) -> None:
    """Before the catalog selectbox exists: choose the catalog named in the URL."""
    if st.session_state.get("_url_restored"):
        return
    name = _param("catalog")
    if name in paths_by_name:
        st.session_state.catalog = paths_by_name[name]


def restore_view(path: str, layer_ids: list[int], sample_ids: set[int], perplexities: list[float]) -> bool:
    """After the catalog's state is initialised: layer, method, perplexity, pinned sample, channel.

    Returns True when this run restored a channel (so the page can open the channel view)."""
    if st.session_state.get("_url_restored"):
        return False
    st.session_state._url_restored = True
    layer = _number("layer")
    if layer in layer_ids:
        st.session_state.layer_id = layer
        st.session_state.layer_select = layer
    method = _param("method")
    if method in METHODS and (method == "pca" or perplexities):
        st.session_state.method = METHODS[method]
    perplexity = _number("perplexity", float)
    if perplexity is not None:
        match = [p for p in perplexities if abs(p - perplexity) < 1e-6]
        if match:
            st.session_state[f"perplexity::{path}"] = match[0]
    pinned = _number("pinned")
    if pinned in sample_ids:
        st.session_state.pinned = pinned
    channel = _number("channel")
    if channel is not None and channel >= 0:
        st.session_state.channel = channel
        return True
    return False


def write(catalog_name: str, layer_id: int, method: str, perplexity: float | None, pinned: int | None,
          channel: int | None) -> None:
    """The current view into the URL (only what changed, so the browser history stays quiet)."""
    wanted = {"catalog": catalog_name, "layer": str(int(layer_id)), "method": method}
    if method == "tsne" and perplexity is not None:
        wanted["perplexity"] = f"{perplexity:g}"
    if pinned is not None:
        wanted["pinned"] = str(int(pinned))
    if channel is not None:
        wanted["channel"] = str(int(channel))
    current = {key: st.query_params.get(key) for key in st.query_params}
    if current != wanted:
        st.query_params.from_dict(wanted)


def url_of(catalog_name: str, layer_id: int, method: str, perplexity: float | None, pinned: int | None,
           channel: int | None) -> str:
    """The query string of a view (for tests and the 'share' caption)."""
    from urllib.parse import urlencode
    params = {"catalog": catalog_name, "layer": layer_id, "method": method}
    if method == "tsne" and perplexity is not None:
        params["perplexity"] = f"{perplexity:g}"
    if pinned is not None:
        params["pinned"] = pinned
    if channel is not None:
        params["channel"] = channel
    return "?" + urlencode(params)
