"""The clusters of a 2-D map and their names, so a map can say what each island of points is
("dogs 87 %") and SQL can ask which clusters are impure at a layer.

HDBSCAN (scikit-learn) finds clusters of any shape and leaves stray points out (cluster -1). Its cost
grows faster than linearly, so a map of more than MAX_FIT points is fitted on a fixed random subsample
and every other point joins the cluster of its nearest fitted point (noise stays noise).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import HDBSCAN
from sklearn.neighbors import NearestNeighbors

MAX_FIT = 4000  # points HDBSCAN fits at most on one map
MIN_CLUSTER = 5  # the smallest cluster worth a name
CLUSTERS_PER_MAP = 40  # about the most clusters a map is split into (min_cluster_size = n / this)
NOISE = -1


@dataclass(frozen=True)
class Cluster:
    cluster: int
    label: str  # the majority label of its members
    purity: float  # the share of members that carry it
    size: int
    x: float  # where the label goes: the member nearest the cluster's centroid
    y: float


def cluster_points(xy: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each point's cluster (0, 1, ...) or NOISE, for an (N, 2) map."""
    xy = np.asarray(xy, dtype=np.float64)
    n = len(xy)
    if n < 2 * MIN_CLUSTER or not np.isfinite(xy).all():
        return np.full(n, NOISE, dtype=np.int32)
    fit = np.sort(np.random.default_rng(seed).choice(n, MAX_FIT, replace=False)) if n > MAX_FIT else np.arange(n)
    size = max(MIN_CLUSTER, len(fit) // CLUSTERS_PER_MAP)
    # min_samples below min_cluster_size: a t-SNE map of one dense blob still splits into its islands
    fitted = HDBSCAN(min_cluster_size=size, min_samples=MIN_CLUSTER, copy=True).fit_predict(xy[fit]).astype(np.int32)
    if len(fit) == n:
        return fitted
    nearest = NearestNeighbors(n_neighbors=1).fit(xy[fit]).kneighbors(xy, return_distance=False)[:, 0]
    labels = fitted[nearest]
    labels[fit] = fitted
    return labels


def name_clusters(xy: np.ndarray, assignment: np.ndarray, labels: Sequence[str]) -> list[Cluster]:
    """Each cluster's majority label, its purity and size, and a member to draw the label at."""
    xy = np.asarray(xy, dtype=np.float64)
    labels = np.asarray(labels, dtype=object)
    named = []
    for cluster in np.unique(assignment[assignment != NOISE]):
        members = np.flatnonzero(assignment == cluster)
        values, counts = np.unique(labels[members].astype(str), return_counts=True)
        top = int(np.argmax(counts))  # ties: the first label in sorted order, so both engines agree
        points = xy[members]
        centre = points[np.argmin(((points - points.mean(axis=0)) ** 2).sum(axis=1))]
        named.append(Cluster(int(cluster), str(values[top]), float(counts[top] / len(members)), len(members),
                             float(centre[0]), float(centre[1])))
    return named


@dataclass(frozen=True)
class ClusteredMap:
    method: str  # 'pca' or 'tsne'
    perplexity: float | None  # the t-SNE perplexity used; None for PCA
    assignment: np.ndarray  # (N,) each point's cluster or NOISE
    clusters: list[Cluster]


def cluster_maps(pca2: np.ndarray, tsne: dict[float, np.ndarray], labels: Sequence[str]) -> list[ClusteredMap]:
    """A layer's maps (its PCA plane and each t-SNE perplexity used), clustered and named by `labels`."""
    maps = [("pca", None, pca2)] + [("tsne", float(p), tsne[p]) for p in sorted(tsne)]
    found = []
    for method, perplexity, xy in maps:
        assignment = cluster_points(xy)
        found.append(ClusteredMap(method, perplexity, assignment, name_clusters(xy, assignment, labels)))
    return found
