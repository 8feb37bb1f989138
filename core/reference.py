"""One layer's reference: its PCA basis, every sample's PCA features and its t-SNE maps.

The catalog keeps it as one `.npz` per layer (`catalog/layout.py`); `to_arrays` and `from_arrays` are
that file's format and the only code that knows its array names (`tsne_<perplexity used>`, the
perplexity written with `:g`). numpy only, so browsing needs neither torch nor scikit-learn.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

TSNE_PREFIX = "tsne_"


def tsne_key(perplexity: float) -> str:
    """The array name of the t-SNE map at this used perplexity."""
    return f"{TSNE_PREFIX}{perplexity:g}"


def stored_perplexity(perplexity: float) -> float:
    """A perplexity as its array name spells it: 7.3 read back from a float32 column is 7.3 again."""
    return float(tsne_key(perplexity)[len(TSNE_PREFIX):])


@dataclass(frozen=True, eq=False)
class LayerReference:
    """What placing a new image and finding neighbours need of one layer, as the builder stored it."""

    pca_mean: np.ndarray  # (D,)
    pca_components: np.ndarray  # (k, D)
    explained_variance_ratio: np.ndarray  # (k,)
    features: np.ndarray  # (N, k): the samples' PCA coordinates, t-SNE's input
    sample_id: np.ndarray  # (N,) int32: the sample of each row
    tsne: Mapping[float, np.ndarray]  # used perplexity (as stored) -> (N, 2)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tsne", {stored_perplexity(p): m for p, m in self.tsne.items()})

    @property
    def perplexities(self) -> list[float]:
        """The used perplexities that have a map, smallest first."""
        return sorted(self.tsne)

    def tsne_map(self, perplexity: float) -> np.ndarray | None:
        """The (N, 2) map at a used perplexity (matched as stored), or None when there is none."""
        return self.tsne.get(stored_perplexity(perplexity))

    def row_of(self, sample_id: int) -> int | None:
        """The row of a sample, or None when this layer's reference does not hold it."""
        rows = np.flatnonzero(self.sample_id == sample_id)
        return int(rows[0]) if rows.size else None

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"pca_mean": self.pca_mean, "pca_components": self.pca_components,
                  "explained_variance_ratio": self.explained_variance_ratio, "features": self.features}
        for perplexity, coords in self.tsne.items():
            arrays[tsne_key(perplexity)] = coords
        arrays["sample_id"] = self.sample_id
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> LayerReference:
        tsne = {float(key[len(TSNE_PREFIX):]): arrays[key] for key in arrays if key.startswith(TSNE_PREFIX)}
        # a compact published catalog stores the basis and features as float16 (catalog/compact.py):
        # used as float32, as a build stores them
        return cls(np.asarray(arrays["pca_mean"], np.float32), np.asarray(arrays["pca_components"], np.float32),
                   arrays["explained_variance_ratio"], np.asarray(arrays["features"], np.float32),
                   arrays["sample_id"], tsne)
