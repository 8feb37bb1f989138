"""Full activation maps of one image, on request (the catalog keeps only their statistics).

One forward with a hook on every requested layer; hooks are removed however the forward ends.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from core.layers import LayerInfo


def activations(model: nn.Module, layers: list[LayerInfo], modules: dict[str, nn.Module],
                image: torch.Tensor, layer_ids: list[int] | None = None) -> dict[int, np.ndarray]:
    """float32 activations of one normalised image [3, H, W], per layer_id: (C, H, W) or (F,).

    `layers` and `modules` come from `core.layers.trace_layers`; the input layer is the image itself
    and the output layer the class probabilities. A module called twice counts at its first call.
    """
    wanted = {layer.layer_id for layer in layers} if layer_ids is None else set(layer_ids)
    by_module = {layer.name: layer for layer in layers if layer.layer_id in wanted and layer.name in modules}
    found: dict[int, np.ndarray] = {}
    handles = []

    def hook_for(layer: LayerInfo):
        def hook(_module, _inputs, output):
            if layer.layer_id not in found and isinstance(output, torch.Tensor):
                found[layer.layer_id] = output[0].detach().float().cpu().numpy()
        return hook

    reference = next(model.parameters())
    x = image.unsqueeze(0).to(reference.device, reference.dtype)
    try:
        for name, layer in by_module.items():
            handles.append(modules[name].register_forward_hook(hook_for(layer)))
        with torch.no_grad():
            logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    first, last = layers[0], layers[-1]
    if first.layer_id in wanted:
        found[first.layer_id] = x[0].float().cpu().numpy()
    if last.layer_id in wanted:
        found[last.layer_id] = logits[0].float().softmax(0).cpu().numpy()
    return found
