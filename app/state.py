"""The model cache and the disk cache of activations (computed on request, outside the read-only catalog).

Everything else that lived here moved: cached catalog queries to app.cached, session setup to
app.session, CSS to app.style, catalog listing and model labels to app.catalogs.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import streamlit as st

from app.cached import manifest, sample_view
from catalog.paths import REPO_ROOT

CACHE_ENV = "LAYERSCOPE_CACHE"


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


def layer_activation(path: str, sample_id: int, layer_id: int) -> np.ndarray:
    """One layer's full activation of one sample: from the disk cache, else one forward (saved)."""
    found = cached_activation(path, sample_id, layer_id)
    if found is not None:
        return found
    from PIL import Image

    from core.activations import activations
    loaded, layer_infos, modules = model_for(path)
    with Image.open(io.BytesIO(sample_view(path, sample_id)["image"])) as img:
        tensor = loaded.preprocess.normalize(img.convert("RGB"))
    array = activations(loaded.model, layer_infos, modules, tensor, [int(layer_id)])[int(layer_id)]
    file = _activation_file(path, sample_id, layer_id)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.stem + ".tmp.npy")
    np.save(tmp, array.astype(np.float16))
    os.replace(tmp, file)
    return array.astype(np.float32)
