"""A layer's stored spaces: projecting into its PCA basis, nearest samples, placing on its t-SNE map.

numpy and openTSNE only (no torch), so the Explorer's neighbours of a catalog sample need no model;
`core.placement` adds the one forward that turns a new image into a reduction input.
"""
from __future__ import annotations

import numpy as np

from core import distance
from core.reference import LayerReference

NEIGHBOURS = 8


def project(reference: LayerReference, vector: np.ndarray) -> np.ndarray:
    """A reduction input (D,) in the layer's PCA space (k,)."""
    return (vector.astype(np.float32) - reference.pca_mean) @ reference.pca_components.T


def nearest(reference: LayerReference, point: np.ndarray, k: int = NEIGHBOURS,
            exclude: int | None = None) -> list[tuple[int, float]]:
    """The k catalog samples nearest to a point of the layer's PCA space, nearest first (core.distance)."""
    features = reference.features[:, :len(point)]
    distances = distance.distances(features, point)
    ids = reference.sample_id
    order = [i for i in np.argsort(distances, kind="stable") if ids[i] != exclude][:k]
    return [(int(ids[i]), float(distances[i])) for i in order]


def neighbours_of(reference: LayerReference, sample_id: int, k: int = NEIGHBOURS) -> list[tuple[int, float]]:
    """A catalog sample's k nearest other samples at this layer; empty when the layer does not hold it."""
    row = reference.row_of(sample_id)
    if row is None:
        return []
    return nearest(reference, reference.features[row], k, exclude=sample_id)


def place_on_tsne(reference: LayerReference, perplexity: float, point: np.ndarray,
                  seed: int = 0) -> np.ndarray:
    """openTSNE's transform of one PCA-space point against the stored map at this perplexity."""
    from openTSNE import TSNEEmbedding, affinity

    features, stored = reference.features, reference.tsne_map(perplexity)
    if stored is None:
        raise KeyError(f"layer reference has no t-SNE map at perplexity {perplexity:g}")
    if not np.any(features != features[:1]):  # a one-point map
        return stored[0].copy()
    affinities = affinity.PerplexityBasedNN(features, perplexity=perplexity, random_state=seed,
                                            method="exact" if len(features) <= 1000 else "auto")
    embedding = TSNEEmbedding(stored, affinities, random_state=seed, negative_gradient_method="bh")
    return np.asarray(embedding.transform(point[None, :].astype(np.float64)))[0]
