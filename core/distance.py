"""One measure of how alike two samples are at a layer, shared by every view that ranks neighbours.

Cosine distance on the layer's PCA coordinates (centred features): it compares the direction of
two activation patterns, not their size. On the bundled catalog it ranks neighbours better than
Euclidean distance on the same features (leave-one-out 10-NN accuracy of the coarse groups at
global_pool 0.64 against 0.55; see docs/PERFORMANCE.md), and the separability curve, the
Neighbours tab and uploaded images all use it, so the three agree.
"""
from __future__ import annotations

import numpy as np

METRIC = "cosine"


def distances(features: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Cosine distance (0: same direction, 2: opposite) of each row of `features` (N, k) to `point` (k,).

    A zero vector has no direction: its distance to anything is 1 (neither like nor unlike)."""
    features = np.asarray(features, dtype=np.float64)
    point = np.asarray(point, dtype=np.float64)
    norms = np.linalg.norm(features, axis=1) * np.linalg.norm(point)
    similarity = np.divide(features @ point, norms, out=np.zeros(len(features)), where=norms > 0)
    return 1.0 - np.clip(similarity, -1.0, 1.0)

