"""Cached resources and queries at the catalog/UI boundary, and thin wrappers over the activation cache."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

import catalog
from catalog import queries
from catalog.activation_cache import ActivationCache, build_id, default_limit_bytes
from catalog.activation_cache import default_root as activation_cache_root


def catalog_root() -> Path:
    return catalog.default_root()


def list_catalogs() -> list[tuple[Path, dict]]:
    return catalog.find_catalogs(catalog_root())


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


@st.cache_data(show_spinner=False)
def perplexities(path: str) -> list[tuple[float, float]]:
    return queries.perplexities(connection(path))


@st.cache_data(show_spinner=False, max_entries=256)
def embedding(path: str, layer_id: int, method: str, perplexity: float | None) -> pd.DataFrame:
    return queries.embedding(connection(path), layer_id, method, perplexity)


@st.cache_data(show_spinner=False, max_entries=4096)
def sample_view(path: str, sample_id: int) -> dict:
    """What the inspector shows for one sample: image, top-10, explanations (bytes)."""
    con = connection(path)
    return {"image": queries.image(con, sample_id), "top": queries.top_predictions(con, sample_id),
            "explanations": queries.explanations(con, sample_id)}


@st.cache_data(show_spinner=False, max_entries=1024)
def channel_stats(path: str, sample_id: int, layer_id: int) -> pd.DataFrame:
    return queries.channel_stats(connection(path), sample_id, layer_id)


@st.cache_resource(show_spinner=False)
def model(name: str, weights: str):
    """The model and its traced layer graph, loaded once per process."""
    from core.layers import trace_layers
    from core.models import load_model
    loaded = load_model(name, weights)
    layer_infos, modules = trace_layers(loaded.model, loaded.preprocess.crop)
    return loaded, layer_infos, modules


def model_for(path: str):
    m = manifest(path)["model"]
    return model(m["name"], "default" if m.get("trained", True) else "random")


# --- activations: computed on request (core.activations), kept by catalog.activation_cache ----------------

@st.cache_resource(show_spinner=False, max_entries=64)
def activation_cache(path: str, build: str, root: str, limit_bytes: int) -> ActivationCache:
    """One cache object per catalog build and setting (opening it removes older builds' folders)."""
    return ActivationCache.for_catalog(path, manifest(path), Path(root), limit_bytes)


def _cache(path: str) -> ActivationCache:
    return activation_cache(path, build_id(manifest(path)), str(activation_cache_root()), default_limit_bytes())


def cache_dir(path: str) -> Path:
    return _cache(path).folder


def _activation_file(path: str, sample_id: int, layer_id: int) -> Path:
    return _cache(path).file(sample_id, layer_id)


def cached_activation(path: str, sample_id: int, layer_id: int) -> np.ndarray | None:
    return _cache(path).get(sample_id, layer_id)


def compute_activations(path: str, sample_id: int) -> None:
    """One forward for the sample's stored model-view image; every layer's map saved (float16)."""
    from core.activations import view_activations
    loaded, layer_infos, modules = model_for(path)
    maps = view_activations(loaded, layer_infos, modules, sample_view(path, sample_id)["image"])
    _cache(path).put_many(sample_id, maps)


# --- session state ----------------------------------------------------------------------------------------

def init_state(path: str) -> None:
    """Selection state per catalog: switching catalogs resets the layer and the samples."""
    if st.session_state.get("catalog_path") != path:
        st.session_state.catalog_path = path
        table = layers(path)
        maps = table[(table.height > 1)]
        # default: the last conv-type map, where classes separate best
        st.session_state.layer_id = int(maps.layer_id.iloc[-1]) if len(maps) else int(table.layer_id.iloc[-1])
        first = int(samples(path).sample_id.iloc[0])
        st.session_state.pinned = first
        st.session_state.hovered = None


def model_label(m: dict) -> str:
    label = m["model"].get("label") or m["model"].get("display_name") or m["model"]["name"]
    if not m["model"].get("trained", True) and "untrained" not in label:
        label += " (untrained)"
    return label


def load_css() -> None:
    css = (Path(__file__).with_name("style.css")).read_text()
    st.html(f"<style>{css}</style>")


SHOW = {"all": None, "correct": True, "incorrect": False}


@st.cache_data(show_spinner=False, max_entries=64)
def datamap_spec(path: str, layer_id: int, method: str, perplexity: float | None, colour_by: str,
                 title: str, pinned: int | None, show: str = "all", highlight: tuple[int, ...] | None = None,
                 marker: tuple[float, float, str] | None = None, dragmode: str = "pan", height: int = 500) -> dict:
    """The data map's figure dict; `show` keeps all, only correct or only incorrect predictions."""
    from app import datamap
    points = embedding(path, layer_id, method, perplexity).merge(samples(path), on="sample_id")
    if SHOW.get(show) is not None:
        points = points[points.correct == SHOW[show]]
    return datamap.figure_dict(points, colour_by, title, pinned, height=height, highlight=highlight,
                               marker=marker, dragmode=dragmode)


# --- references, separability, channel questions ------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=128)
def reference(path: str, layer_id: int) -> dict[str, np.ndarray]:
    """One layer's stored PCA basis and t-SNE reference (read once per process)."""
    return catalog.load_reference(Path(path), int(layer_id))


@st.cache_data(show_spinner=False)
def separability(path: str) -> tuple[pd.DataFrame, str]:
    """layer_id, position, name, accuracy over depth, and which figure it is: 'class' or 'coarse group'.

    The class figure needs classes with 2+ samples; when no class has them (the bundled sample has one
    image per class) the coarse-group figure is shown instead, and the label says so.
    """
    con = connection(path).cursor()
    frame = con.execute("""
        SELECT l.layer_id, l.position, l.name, l.kind, r.k, r.knn_accuracy, r.knn_accuracy_group
        FROM separability r JOIN layers l USING (layer_id) ORDER BY l.position""").df()
    per_class = samples(path).label_name.value_counts()
    by = "class" if len(per_class) and int(per_class.max()) >= 2 else "coarse group"
    frame["accuracy"] = frame["knn_accuracy"] if by == "class" else frame["knn_accuracy_group"]
    return frame, by


@st.cache_data(show_spinner=False, max_entries=256)
def neighbours(path: str, layer_id: int, sample_id: int, k: int = 8) -> list[tuple[int, float]]:
    from core.placement import neighbours_of
    ref = reference(path, layer_id)
    if not (ref["sample_id"] == sample_id).any():
        return []
    return neighbours_of(ref, int(sample_id), k)


@st.cache_data(show_spinner=False, max_entries=256)
def channel_top(path: str, layer_id: int, channel: int, k: int = 9) -> pd.DataFrame:
    from catalog import insights
    return insights.channel_top_samples(connection(path), layer_id, channel, k)


@st.cache_data(show_spinner=False, max_entries=64)
def class_means(path: str, layer_id: int, by: str) -> pd.DataFrame:
    from catalog import insights
    return insights.class_channel_means(connection(path), layer_id, by=by)


@st.cache_data(show_spinner=False)
def truth(path: str) -> pd.DataFrame:
    from catalog import insights
    return insights.predictions_with_truth(connection(path))


def layer_activation(path: str, sample_id: int, layer_id: int) -> np.ndarray:
    """One layer's full activation of one sample: from the disk cache, else one forward (saved)."""
    found = cached_activation(path, sample_id, layer_id)
    if found is not None:
        return found
    from core.activations import view_activations
    loaded, layer_infos, modules = model_for(path)
    array = view_activations(loaded, layer_infos, modules, sample_view(path, sample_id)["image"],
                             [int(layer_id)])[int(layer_id)]
    _cache(path).put(sample_id, layer_id, array)
    return array.astype(np.float32)
