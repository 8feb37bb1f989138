"""What a page calls for explanations at a layer: compute what the cache lacks, keep it, return all.

A catalog sample passes its `sample_id` and the build's `LayerCamCache`; an upload passes
`sample_id=None` (or no cache) and is computed every time. `progress` and `should_stop` go to the
computation (`core.layer_cams`, `core.faithfulness`); a stopped run raises `Cancelled` and stores
nothing it had not finished.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from catalog.layer_cam_cache import LayerCamCache
from core.faithfulness import faithfulness, steps
from core.forward import hooked
from core.layer_cams import FAST_METHODS, Progress, ShouldStop, as_batch, layer_cams, predicted_class


def cams_at_layer(model: nn.Module, target_layer: nn.Module, image: torch.Tensor, layer_id: int,
                  class_idx: int | None = None, methods: Sequence[str] = FAST_METHODS, *,
                  cache: LayerCamCache | None = None, sample_id: int | None = None,
                  progress: Progress | None = None, should_stop: ShouldStop | None = None
                  ) -> tuple[int, dict[str, np.ndarray]]:
    """(class, method -> map) for `image` at the layer; `class_idx` None is the predicted class."""
    if class_idx is None:
        class_idx = predicted_class(model, image)
    cached = cache is not None and sample_id is not None
    maps = cache.get_cams(sample_id, layer_id, class_idx, methods) if cached else {}
    missing = [method for method in methods if method not in maps]
    for method in missing:  # one at a time, so a stop keeps the maps already finished
        made = layer_cams(model, target_layer, image, class_idx, [method], progress=progress,
                          should_stop=should_stop)
        if cached:
            cache.put_cams(sample_id, layer_id, class_idx, made)
        maps.update(made)
    return class_idx, {method: maps[method] for method in methods}


def faithfulness_at_layer(model: nn.Module, target_layer: nn.Module, image: torch.Tensor, layer_id: int,
                          class_idx: int | None = None, methods: Sequence[str] = FAST_METHODS, *,
                          cache: LayerCamCache | None = None, sample_id: int | None = None,
                          progress: Progress | None = None, should_stop: ShouldStop | None = None
                          ) -> tuple[int, dict[str, dict[str, float]]]:
    """(class, method -> metric -> value, higher more faithful) for each method's map and `random`.
    `progress(done, total)` counts steps: each method's map (made, or found in the cache), then each
    perturbed image scored (`core.faithfulness.steps`)."""
    if class_idx is None:
        class_idx = predicted_class(model, image)
    total = len(methods) + steps(len(methods) + 1)
    maps: dict[str, np.ndarray] = {}
    for done, method in enumerate(methods, start=1):  # one at a time: a step each, and a stop keeps those made
        maps.update(cams_at_layer(model, target_layer, image, layer_id, class_idx, [method], cache=cache,
                                  sample_id=sample_id, should_stop=should_stop)[1])
        if progress is not None:
            progress(done, total)
    cached = cache is not None and sample_id is not None
    stored = cache.get_scores(sample_id, layer_id, class_idx) if cached else None
    wanted = [*methods, "random"]
    if stored is not None and all(method in stored for method in wanted):
        return class_idx, {method: stored[method] for method in wanted}
    scored = None if progress is None else (lambda done, _total: progress(len(methods) + done, total))
    scores = faithfulness(model, image, class_idx, maps, layer_size=_layer_size(model, target_layer, image),
                          should_stop=should_stop, progress=scored)
    if cached:
        cache.put_scores(sample_id, layer_id, class_idx, {**(stored or {}), **scores})
    return class_idx, scores


def _layer_size(model: nn.Module, target_layer: nn.Module, image: torch.Tensor) -> tuple[int, int]:
    """The layer's (height, width), so the random baseline is as coarse as the layer's maps."""
    seen: list[tuple[int, int]] = []
    with hooked(model, [(target_layer, lambda _m, _i, out: seen.append(tuple(out.shape[-2:])))]), torch.no_grad():
        model(as_batch(image))
    return seen[0]
