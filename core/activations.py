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
    wanted = {layer.layer_id for layer in layers} if layer_ids is None else set(layer_ids)
    by_module = {layer.name: layer for layer in layers if layer.layer_id in wanted and layer.name in modules}
    found: dict[int, np.ndarray] = {}

    def hook_for(layer: LayerInfo):
        def hook(_module, _inputs, output):
            if layer.layer_id not in found and isinstance(output, torch.Tensor):
                found[layer.layer_id] = output[0].detach().float().cpu().numpy()
        return hook

    reference = next(model.parameters())
    x = image.unsqueeze(0).to(reference.device, reference.dtype)
    logits = hooked_forward(model, x, [(modules[name], hook_for(layer)) for name, layer in by_module.items()])
    first, last = layers[0], layers[-1]
    if first.layer_id in wanted:
        found[first.layer_id] = x[0].float().cpu().numpy()
    if last.layer_id in wanted:
        found[last.layer_id] = logits[0].float().softmax(0).cpu().numpy()
    return found


def view_activations(traced: TracedModel, view: bytes | Image.Image,
                     layer_ids: list[int] | None = None) -> dict[int, np.ndarray]:
    """`activations` of a stored model view (the 224 px crop, encoded or decoded): it is normalised
    only, never resized again, so the maps are those of the image the catalog's statistics came from."""
    loaded = traced.loaded
    if isinstance(view, bytes):
        with Image.open(io.BytesIO(view)) as image:
            tensor = loaded.preprocess.normalize(image.convert("RGB"))
    else:
        tensor = loaded.preprocess.normalize(view.convert("RGB"))
    return activations(loaded.model, traced.layers, traced.modules, tensor, layer_ids)
