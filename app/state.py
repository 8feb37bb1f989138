"""Cached resources and queries at the catalog/UI boundary, and the disk cache of activations."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

import catalog
from catalog import queries
from catalog.paths import REPO_ROOT

CACHE_ENV = "LAYERSCOPE_CACHE"


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


# --- activations: computed on request, cached on disk outside the (read-only) catalog ------------------

def cache_dir(path: str) -> Path:
    root = Path(os.environ.get(CACHE_ENV) or REPO_ROOT / ".cache")
    return root / "activations" / Path(path).name


def _activation_file(path: str, sample_id: int, layer_id: int) -> Path:
    created = manifest(path).get("created_at", "").replace(":", "")
    return cache_dir(path) / f"{created}" / f"s{sample_id:06d}_l{layer_id:03d}.npy"


def cached_activation(path: str, sample_id: int, layer_id: int) -> np.ndarray | None:
    file = _activation_file(path, sample_id, layer_id)
    if file.is_file():
        try:
            return np.load(file).astype(np.float32)
        except (OSError, ValueError):
            return None
    return None


def compute_activations(path: str, sample_id: int) -> None:
    """One forward for the sample's stored model-view image; every layer's map saved (float16)."""
    from PIL import Image

    from core.activations import activations
    loaded, layer_infos, modules = model_for(path)
    data = sample_view(path, sample_id)["image"]
    with Image.open(io.BytesIO(data)) as img:
        tensor = loaded.preprocess.normalize(img.convert("RGB"))
    maps = activations(loaded.model, layer_infos, modules, tensor)
    for layer_id, array in maps.items():
        file = _activation_file(path, sample_id, layer_id)
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(file.stem + ".tmp.npy")
        np.save(tmp, array.astype(np.float16))
        os.replace(tmp, file)


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


@st.cache_data(show_spinner=False, max_entries=64)
def datamap_spec(path: str, layer_id: int, method: str, perplexity: float | None, colour_by: str,
                 title: str, pinned: int | None) -> dict:
    from app import datamap
    points = embedding(path, layer_id, method, perplexity).merge(samples(path), on="sample_id")
    return datamap.figure_dict(points, colour_by, title, pinned)
