"""Exact k nearest neighbours by brute force, block by block: t-SNE's kNN graph.

At the sizes LayerScope reduces (up to tens of thousands of samples, at most 50 PCA dimensions), all
pairwise distances through one matrix product per block cost less than an approximate index: at 7000
points, 50 dimensions and 270 neighbours (perplexity 90), 0.6 CPU-s against 6.1 for openTSNE's Annoy,
which also misses about 1 % of the true neighbours (docs/PERFORMANCE.md, "Settled measurements").
"""
from __future__ import annotations

import numpy as np

BLOCK_BYTES = 32 << 20  # one block of float64 squared distances: bounded memory at any N
EXACT_LIMIT = 30_000  # above this many samples the N^2 distances cost more than an approximate index


def exact_neighbors(x: np.ndarray, k: int, block_bytes: int = BLOCK_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest other samples of every row of x (N, D), nearest first: indices (N, k) and
    Euclidean distances (N, k). A sample is never its own neighbour, though an equal one can be."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if not 0 < k < n:
        raise ValueError(f"k must be between 1 and {n - 1} for {n} samples, not {k}")
    squared = np.einsum("ij,ij->i", x, x)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float64)
    rows = max(1, block_bytes // (8 * n))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        block = x[start:stop] @ x.T
        block *= -2
        block += squared[start:stop, None]
        block += squared[None, :]
        block[np.arange(stop - start), np.arange(start, stop)] = np.inf  # not its own neighbour
        nearest = np.argpartition(block, k - 1, axis=1)[:, :k]
        near = np.take_along_axis(block, nearest, axis=1)
        order = np.argsort(near, axis=1, kind="stable")
        indices[start:stop] = np.take_along_axis(nearest, order, axis=1)
        # the expansion can leave tiny negatives where two samples are equal
        distances[start:stop] = np.sqrt(np.maximum(np.take_along_axis(near, order, axis=1), 0.0))
    return indices, distances
