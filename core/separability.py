"""How well a layer separates the classes: leave-one-out k-nearest-neighbour accuracy in its PCA space,
by the distance every neighbour view uses (core.distance).

A layer whose maps group samples by class scores high; one that mixes them scores near chance. The
builder stores it per layer, for the true labels and for the coarse groups (the bundled sample has one
image per class, so only the groups can be told apart there).
"""
from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from core.distance import METRIC

K = 10


def nearest_others(features: np.ndarray, k: int = K, metric: str = METRIC) -> np.ndarray:
    """(N, min(k, N-1)) indices of each sample's k nearest other samples, nearest first.

    A sample is never its own neighbour; where duplicates hide it from its own k+1 nearest, the first
    k of them are taken."""
    n = len(features)
    k = min(k, n - 1)
    if k < 1:
        return np.zeros((n, 0), dtype=np.int64)
    _, order = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(features).kneighbors(features)
    own = order == np.arange(n)[:, None]
    own_at = np.where(own.any(axis=1), own.argmax(axis=1), k)  # k: not among them, drop the last
    columns = np.arange(k)[None, :]
    return order[np.arange(n)[:, None], columns + (columns >= own_at[:, None])]


def knn_votes(neighbours: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The label each sample's neighbours (nearest_others) vote for, and the share of them that do.

    Ties go to the tied label with the nearest member, as a person reading the map would judge.
    Both are empty where there are no other samples to vote."""
    labels = np.asarray(labels)
    n, k = neighbours.shape
    if k == 0:
        return labels[:0], np.zeros(0)
    _, codes = np.unique(labels, return_inverse=True)
    votes = codes.reshape(-1)[neighbours]  # (N, k), nearest first
    counts = (votes[:, :, None] == votes[:, None, :]).sum(axis=2)  # how many of the k share each vote
    best = counts.max(axis=1)
    first = (counts == best[:, None]).argmax(axis=1)  # the nearest vote among the most frequent
    winner = neighbours[np.arange(n), first]
    return labels[winner], best / k


def knn_accuracy(features: np.ndarray, labels: np.ndarray, k: int = K, metric: str = METRIC) -> float:
    """Share of samples whose k nearest other samples vote for their own label (knn_votes)."""
    labels = np.asarray(labels)
    if len(labels) < 2:
        return float("nan")
    voted, _ = knn_votes(nearest_others(features, k, metric), labels)
    return float(np.mean(voted == labels))


def neighbour_preservation(high: np.ndarray, low: np.ndarray, k: int = K) -> float:
    """Mean share of each sample's k nearest neighbours in `high` (a layer's features) that are also
    among its k nearest in `low` (its map): 1 when every neighbourhood survives the projection."""
    def neighbours(x: np.ndarray) -> np.ndarray:
        return NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)[:, 1:]
    kept = [len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(neighbours(high), neighbours(low))]
    return float(np.mean(kept)) / k
