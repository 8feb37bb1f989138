"""Concepts at a layer: the grad-cam package's Deep Feature Factorization of one image's map.

`DeepFeatureFactorization` factorizes the layer's (channels x positions) activations into a few
non-negative concepts (NMF): each concept is a channel vector and a heat map of where it is present.
Which classes a concept supports is read in one of two ways:

- with `classifier` (the head that maps the layer's pooled channel vector to logits, e.g.
  EfficientNet's `classifier` after its last map), the package runs it on each concept's vector;
- at any other layer, the model classifies the image multiplied by the concept's heat map (the
  perturbation of the package's `CamMultImageConfidenceChange`) and its top classes are the ones
  the concept alone supports.

The package hooks the target layer itself, so the run holds the model's lock (`core.forward`) and its
hooks are released in `finally`; the masked images' forward holds it too, so that no other run's hooks
see it. The app runs it on a twin of the shared model (`core.twins`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from pytorch_grad_cam import DeepFeatureFactorization
from torch import nn

from core.forward import model_lock
from core.layer_cams import Cancelled, ShouldStop, as_batch

DEFAULT_CONCEPTS = 4
TOP_CLASSES = 3


@dataclass(frozen=True)
class Concept:
    heatmap: np.ndarray  # float32 [H, W] in [0, 1], at the image's resolution
    classes: list[tuple[int, float]]  # (class index, softmax probability), best first


def concepts(model: nn.Module, target_layer: nn.Module, image: torch.Tensor, n: int = DEFAULT_CONCEPTS, *,
             classifier: nn.Module | None = None, top: int = TOP_CLASSES,
             should_stop: ShouldStop | None = None) -> list[Concept]:
    """`n` concepts of `image` at `target_layer`, each with the `top` classes it supports most."""
    batch = as_batch(image)
    with model_lock(model):
        dff = DeepFeatureFactorization(model, target_layer, computation_on_concepts=classifier)
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # NMF's convergence notice: the concepts are still usable
                result = dff(batch, n_components=n)
        finally:
            dff.activations_and_grads.release()
    heatmaps = np.asarray(result[1][0], dtype=np.float32)  # [n, H, W]
    if classifier is not None:
        probs = torch.softmax(torch.as_tensor(result[2]), dim=-1).numpy()
    else:
        probs = _masked_probabilities(model, batch, heatmaps, should_stop)
    return [Concept(heatmaps[i], _top(probs[i], top)) for i in range(len(heatmaps))]


def _masked_probabilities(model: nn.Module, batch: torch.Tensor, heatmaps: np.ndarray,
                          should_stop: ShouldStop | None) -> np.ndarray:
    if should_stop is not None and should_stop():
        raise Cancelled("concepts: stopped before classifying the concepts")
    masked = batch * torch.from_numpy(heatmaps)[:, None]
    with model_lock(model), torch.no_grad():
        return torch.softmax(model(masked), dim=-1).numpy()


def _top(probs: np.ndarray, top: int) -> list[tuple[int, float]]:
    order = np.argsort(-probs)[:top]
    return [(int(i), float(probs[i])) for i in order]
