"""Placing a new image into a catalog's existing maps, and finding neighbours in a layer's PCA space.

PCA uses the stored basis, so a catalog image placed again lands exactly on its own point. t-SNE uses
openTSNE's transform against the stored reference (PCA features and map coordinates): the new point
is optimised while the reference points stay where they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from core.layers import TracedModel
from core.mapspace import NEIGHBOURS, nearest, neighbours_of, place_on_tsne, project  # noqa: F401
from core.onepass import run_batch
from core.reference import LayerReference


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


def read_image(traced: TracedModel, image: Image.Image) -> ImageReading:
    loaded = traced.loaded
    batch = loaded.preprocess(image.convert("RGB")).unsqueeze(0).to(loaded.device)
    result = run_batch(loaded.model, traced.layers, traced.modules, batch)
    return ImageReading(result.top_classes[0], result.top_probs[0],
                        {layer_id: summary.features[0] for layer_id, summary in result.layers.items()})


def place(reference: LayerReference, vector: np.ndarray, perplexities: list[float] | None = None,
          k: int = NEIGHBOURS) -> Placement:
    """Where a new image's reduction input (D,) falls on one layer's maps (at the given used
    perplexities, or at every stored one), and its k nearest samples."""
    point = project(reference, vector)
    if reference.features.shape[1] > len(point):  # a one-number layer was padded to 2D
        point = np.pad(point, (0, reference.features.shape[1] - len(point)))
    placement = Placement(point[:2].copy(), neighbours=nearest(reference, point, k))
    for perplexity in reference.perplexities if perplexities is None else perplexities:
        placement.tsne[perplexity] = place_on_tsne(reference, perplexity, point)
    return placement
