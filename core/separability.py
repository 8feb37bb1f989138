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


def knn_accuracy(features: np.ndarray, labels: np.ndarray, k: int = K, metric: str = METRIC) -> float:
    """Share of samples whose k nearest other samples vote for their own label.

    Ties go to the tied label with the nearest member, as a person reading the map would judge.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if n < 2:
        return float("nan")
    k = min(k, n - 1)
    _, order = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(features).kneighbors(features)
    correct = 0
    for i, row in enumerate(order):
        neighbours = [j for j in row if j != i][:k]
        votes = labels[neighbours]
        values, counts = np.unique(votes, return_counts=True)
        tied = set(values[counts == counts.max()])
        predicted = next(label for label in votes if label in tied)  # votes are nearest first
        correct += predicted == labels[i]
    return correct / n


def neighbour_preservation(high: np.ndarray, low: np.ndarray, k: int = K) -> float:
    """Mean share of each sample's k nearest neighbours in `high` (a layer's features) that are also
    among its k nearest in `low` (its map): 1 when every neighbourhood survives the projection."""
    def neighbours(x: np.ndarray) -> np.ndarray:
        return NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)[:, 1:]
    kept = [len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(neighbours(high), neighbours(low))]
    return float(np.mean(kept)) / k
