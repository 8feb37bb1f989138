"""Full activation maps of one image, on request (the catalog keeps only their statistics).

One forward with a hook on every requested layer, through `core.forward` (the model is shared by
every session, so hooks go on and off under its lock).
"""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image
from torch import nn

from core.forward import hooked_forward
from core.layers import LayerInfo, TracedModel


def activations(model: nn.Module, layers: list[LayerInfo], modules: dict[str, nn.Module],
                image: torch.Tensor, layer_ids: list[int] | None = None) -> dict[int, np.ndarray]:
    """float32 activations of one normalised image [3, H, W], per layer_id: (C, H, W) or (F,).

    `layers` and `modules` come from `core.layers.trace_layers`; the input layer is the image itself
    and the output layer the class probabilities. A module called twice counts at its first call.
    """
    return batch_activations(model, layers, modules, image.unsqueeze(0), layer_ids)[0]


def batch_activations(model: nn.Module, layers: list[LayerInfo], modules: dict[str, nn.Module],
                      images: torch.Tensor, layer_ids: list[int] | None = None) -> list[dict[int, np.ndarray]]:
    """`activations` of a batch of normalised images [B, 3, H, W] in one forward: one dict per image.

    Several images through one forward cost far less than one forward each (the weights are read
    once, and the CPU's matrix kernels fill up), which views showing many samples' maps rely on.
    """
    wanted = {layer.layer_id for layer in layers} if layer_ids is None else set(layer_ids)
    by_module = {layer.name: layer for layer in layers if layer.layer_id in wanted and layer.name in modules}
    found: dict[int, np.ndarray] = {}

    def hook_for(layer: LayerInfo):
        def hook(_module, _inputs, output):
            if layer.layer_id not in found and isinstance(output, torch.Tensor):
                found[layer.layer_id] = output.detach().float().cpu().numpy()
        return hook

    reference = next(model.parameters())
    x = images.to(reference.device, reference.dtype)
    logits = hooked_forward(model, x, [(modules[name], hook_for(layer)) for name, layer in by_module.items()])
    first, last = layers[0], layers[-1]
    if first.layer_id in wanted:
        found[first.layer_id] = x.float().cpu().numpy()
    if last.layer_id in wanted:
        found[last.layer_id] = logits.float().softmax(1).cpu().numpy()
    return [{layer_id: batch[i] for layer_id, batch in found.items()} for i in range(len(images))]


def view_activations(traced: TracedModel, view: bytes | Image.Image,
                     layer_ids: list[int] | None = None) -> dict[int, np.ndarray]:
    """`activations` of a stored model view (the 224 px crop, encoded or decoded): it is normalised
    only, never resized again, so the maps are those of the image the catalog's statistics came from."""
    return views_activations(traced, [view], layer_ids)[0]


def views_activations(traced: TracedModel, views: list[bytes | Image.Image],
                      layer_ids: list[int] | None = None) -> list[dict[int, np.ndarray]]:
    """`view_activations` of several stored model views, all in one forward."""
    if not views:
        return []
    tensors = [_normalised(traced, view) for view in views]
    loaded = traced.loaded
    return batch_activations(loaded.model, traced.layers, traced.modules, torch.stack(tensors), layer_ids)


def _normalised(traced: TracedModel, view: bytes | Image.Image) -> torch.Tensor:
    if isinstance(view, bytes):
        with Image.open(io.BytesIO(view)) as image:
            return traced.loaded.preprocess.normalize(image.convert("RGB"))
    return traced.loaded.preprocess.normalize(view.convert("RGB"))
