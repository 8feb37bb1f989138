"""Catalog queries, cached at the catalog/UI boundary: every view reads the catalog through here.

`st.cache_resource` for the shared connection and the reference arrays (one copy per process),
`st.cache_data` for query results (copied per caller, so a view may change what it gets).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

import catalog
from catalog import depth, insights, pictures, queries
from core.reference import LayerReference


@st.cache_resource(show_spinner=False)
def connection(path: str):
    """One read-only DuckDB connection per catalog, shared by every session (queries use cursors)."""
    return catalog.open(Path(path))


@st.cache_data(show_spinner=False)
def manifest(path: str) -> dict:
    return catalog.load_manifest(Path(path))


@st.cache_data(show_spinner=False)
def layers(path: str) -> pd.DataFrame:
    return queries.layers(connection(path))


@st.cache_data(show_spinner=False)
def samples(path: str) -> pd.DataFrame:
    return queries.samples(connection(path))


@st.cache_resource(show_spinner=False)
def sample_ids(path: str) -> frozenset[int]:
    """The catalog's sample ids, one shared frozen set per catalog: ids from the browser are checked
    against it on every hover, so it is neither rebuilt nor copied per run."""
    return frozenset(int(i) for i in samples(path).sample_id)


@st.cache_data(show_spinner=False)
def perplexities(path: str) -> list[tuple[float, float]]:
    return queries.perplexities(connection(path))


@st.cache_data(show_spinner=False, max_entries=256)
def embedding(path: str, layer_id: int, method: str, perplexity: float | None) -> pd.DataFrame:
    return queries.embedding(connection(path), layer_id, method, perplexity)


@st.cache_data(show_spinner=False, max_entries=256)
def clusters(path: str, layer_id: int, method: str, perplexity: float | None) -> pd.DataFrame:
    """One map's named clusters, largest first (drawn on the map, picked in the Selection tab)."""
    return pictures.clusters(connection(path), layer_id, method, perplexity)


@st.cache_data(show_spinner=False, max_entries=4096)
def sample_view(path: str, sample_id: int) -> dict:
    """What the inspector shows for one sample: image, top-10, explanations (bytes)."""
    con = connection(path)
    return {"image": queries.image(con, sample_id), "top": queries.top_predictions(con, sample_id),
            "explanations": queries.explanations(con, sample_id)}


@st.cache_data(show_spinner=False, max_entries=1024)
def channel_stats(path: str, sample_id: int, layer_id: int) -> pd.DataFrame:
    return queries.channel_stats(connection(path), sample_id, layer_id)


@st.cache_resource(show_spinner=False, max_entries=128)
def reference(path: str, layer_id: int) -> LayerReference:
    """One layer's stored PCA basis and t-SNE reference (read once per process)."""
    return catalog.load_reference(Path(path), int(layer_id))


@st.cache_data(show_spinner=False)
def separability(path: str) -> tuple[pd.DataFrame, str]:
    """Accuracy over depth and which labels it is of ('class' or 'coarse group'): see the query."""
    return queries.separability(connection(path))


@st.cache_data(show_spinner=False)
def one_image_per_class(path: str) -> bool:
    """True when no class has two samples: then the app compares coarse groups instead of labels."""
    return queries.largest_class(connection(path)) < 2


@st.cache_data(show_spinner=False, max_entries=256)
def neighbours(path: str, layer_id: int, sample_id: int, k: int = 8) -> list[tuple[int, float]]:
    """The k nearest samples in the layer's PCA space; empty when the layer has no reference for it."""
    from core.mapspace import neighbours_of
    return neighbours_of(reference(path, layer_id), int(sample_id), k)


@st.cache_data(show_spinner=False, max_entries=256)
def channel_top(path: str, layer_id: int, channel: int, k: int = 9) -> pd.DataFrame:
    return insights.channel_top_samples(connection(path), layer_id, channel, k)


@st.cache_data(show_spinner=False, max_entries=64)
def class_means(path: str, layer_id: int, by: str) -> pd.DataFrame:
    return insights.class_channel_means(connection(path), layer_id, by=by)


@st.cache_data(show_spinner=False)
def truth(path: str) -> pd.DataFrame:
    return insights.predictions_with_truth(connection(path))


@st.cache_data(show_spinner=False)
def readable_keys(path: str) -> list[str]:
    """Keys of the samples whose image file this server can read (a published catalog may hold none)."""
    table = samples(path)
    return [key for key, file in zip(table.key, table.path) if isinstance(file, str) and file and Path(file).is_file()]


@st.cache_data(show_spinner=False)
def depth_level(path: str) -> str | None:
    """'class' or 'group': the level the depth views read the catalog at; None without depth tables."""
    return depth.level(connection(path))


@st.cache_data(show_spinner=False, max_entries=1024)
def trajectory(path: str, sample_id: int) -> pd.DataFrame:
    return depth.trajectory(connection(path), int(sample_id))


@st.cache_data(show_spinner=False)
def settled_curve(path: str) -> pd.DataFrame:
    return depth.settled_curve(connection(path))


@st.cache_data(show_spinner=False)
def failures(path: str) -> pd.DataFrame:
    return depth.failures(connection(path))


@st.cache_data(show_spinner=False, max_entries=512)
def pair_confusion(path: str, first: str, second: str) -> pd.DataFrame:
    return depth.pair_confusion(connection(path), first, second)


@st.cache_data(show_spinner=False)
def layer_similarity(path: str) -> pd.DataFrame:
    return depth.layer_similarity(connection(path))
