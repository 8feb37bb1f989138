"""A layer's stored spaces: projecting into its PCA basis, nearest samples, placing on its t-SNE map.

numpy and openTSNE only (no torch), so the Explorer's neighbours of a catalog sample need no model;
`core.placement` adds the one forward that turns a new image into a reduction input.
"""
from __future__ import annotations

import numpy as np

from core import distance

NEIGHBOURS = 8


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
