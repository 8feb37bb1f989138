"""Placing a new image into a catalog's existing maps, and finding neighbours in a layer's PCA space.

PCA uses the stored basis, so a catalog image placed again lands exactly on its own point. t-SNE uses
openTSNE's transform against the stored reference (PCA features and map coordinates): the new point
is optimised while the reference points stay where they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from core import distance
from core.layers import LayerInfo
from core.models import LoadedModel
from core.onepass import run_batch

NEIGHBOURS = 8


@dataclass
class Placement:
    pca: np.ndarray  # (2,)
    tsne: dict[float, np.ndarray] = field(default_factory=dict)  # used perplexity -> (2,)
    neighbours: list[tuple[int, float]] = field(default_factory=list)  # (sample_id, distance), nearest first


@dataclass
class ImageReading:
    """What one forward of a new image gives: predictions and every layer's reduction input."""

    top_classes: np.ndarray  # (10,)
    top_probs: np.ndarray  # (10,)
    vectors: dict[int, np.ndarray]  # layer_id -> (D,)


def read_image(loaded: LoadedModel, layers: list[LayerInfo], modules: dict[str, torch.nn.Module],
               image: Image.Image) -> ImageReading:
    batch = loaded.preprocess(image.convert("RGB")).unsqueeze(0).to(loaded.device)
    result = run_batch(loaded.model, layers, modules, batch)
    return ImageReading(result.top_classes[0], result.top_probs[0],
                        {layer_id: summary.features[0] for layer_id, summary in result.layers.items()})


def project(reference: dict[str, np.ndarray], vector: np.ndarray) -> np.ndarray:
    """A reduction input (D,) in the layer's PCA space (k,)."""
    return (vector.astype(np.float32) - reference["pca_mean"]) @ reference["pca_components"].T


def nearest(reference: dict[str, np.ndarray], point: np.ndarray, k: int = NEIGHBOURS,
            exclude: int | None = None) -> list[tuple[int, float]]:
    """The k catalog samples nearest to a point of the layer's PCA space, nearest first (core.distance)."""
    features = reference["features"][:, :len(point)]
    distances = distance.distances(features, point)
    ids = reference["sample_id"]
    order = [i for i in np.argsort(distances, kind="stable") if ids[i] != exclude][:k]
    return [(int(ids[i]), float(distances[i])) for i in order]


def neighbours_of(reference: dict[str, np.ndarray], sample_id: int, k: int = NEIGHBOURS) -> list[tuple[int, float]]:
    """A catalog sample's k nearest other samples at this layer."""
    row = int(np.flatnonzero(reference["sample_id"] == sample_id)[0])
    return nearest(reference, reference["features"][row], k, exclude=sample_id)


def tsne_perplexities(reference: dict[str, np.ndarray]) -> list[float]:
    return sorted(float(key[5:]) for key in reference if key.startswith("tsne_"))


def place_on_tsne(reference: dict[str, np.ndarray], perplexity: float, point: np.ndarray,
                  seed: int = 0) -> np.ndarray:
    """openTSNE's transform of one PCA-space point against the stored map at this perplexity."""
    from openTSNE import TSNEEmbedding, affinity

    features = reference["features"]
    if not np.any(features != features[:1]):  # a one-point map
        return reference[f"tsne_{perplexity:g}"][0].copy()
    affinities = affinity.PerplexityBasedNN(features, perplexity=perplexity, random_state=seed,
                                            method="exact" if len(features) <= 1000 else "auto")
    embedding = TSNEEmbedding(reference[f"tsne_{perplexity:g}"], affinities, random_state=seed,
                              negative_gradient_method="bh")
    return np.asarray(embedding.transform(point[None, :].astype(np.float64)))[0]


def place(reference: dict[str, np.ndarray], vector: np.ndarray, perplexities: list[float] | None = None,
          k: int = NEIGHBOURS) -> Placement:
    """Where a new image's reduction input (D,) falls on one layer's maps, and its k nearest samples."""
    point = project(reference, vector)
    if reference["features"].shape[1] > len(point):  # a one-number layer was padded to 2D
        point = np.pad(point, (0, reference["features"].shape[1] - len(point)))
    placement = Placement(point[:2].copy(), neighbours=nearest(reference, point, k))
    for perplexity in tsne_perplexities(reference) if perplexities is None else perplexities:
        placement.tsne[perplexity] = place_on_tsne(reference, perplexity, point)
    return placement
