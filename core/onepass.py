"""One forward per batch, with a hook on every inspectable layer (never one pass per layer).

The builder's batches go through `explained_batch`: the same forward also serves the explanations'
backward (core/explain.py), so each image is run through the model once in all.

Hooks summarise each activation the moment it is produced (channel statistics and the bounded
reduction input) and keep nothing else, so memory is one batch's activations however large N grows.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from core.explain import Explanations, explainable_forward
from core.forward import hooked
from core.layers import LayerInfo
from core.stats import channel_stats, reduction_input

TOP_K = 10


@dataclass
class LayerSummary:
    features: np.ndarray  # (B, D) float32: the reduction input
    mean: np.ndarray | None = None  # (B, C) for maps
    entropy: np.ndarray | None = None
    score: np.ndarray | None = None


@dataclass
class BatchResult:
    top_classes: np.ndarray  # (B, TOP_K) int64, most probable first
    top_probs: np.ndarray  # (B, TOP_K) float32
    layers: dict[int, LayerSummary] = field(default_factory=dict)  # by layer_id


def summarize(layer: LayerInfo, activations: torch.Tensor) -> LayerSummary:
    summary = LayerSummary(reduction_input(activations).cpu().numpy())
    if layer.is_map:
        mean, entropy, score = (t.cpu().numpy() for t in channel_stats(activations))
        summary.mean, summary.entropy, summary.score = mean, entropy, score
    return summary


def summarising_hook(layer: LayerInfo, summaries: dict[int, LayerSummary]):
    """A forward hook that summarises the layer's output into `summaries` (a module called twice
    counts at its first call)."""
    def hook(_module, _inputs, output):
        if layer.layer_id not in summaries:
            summaries[layer.layer_id] = summarize(layer, output)
    return hook


@contextmanager
def capturing(model: nn.Module, layers: list[LayerInfo],
              modules: dict[str, nn.Module]) -> Iterator[dict[int, LayerSummary]]:
    """Attach one summarising hook per layer, under the model's lock (`core.forward.hooked`); hooks are
    removed however the block exits. Run the model's forward inside the block."""
    summaries: dict[int, LayerSummary] = {}
    hooks = [(modules[layer.name], summarising_hook(layer, summaries)) for layer in layers if layer.name in modules]
    with hooked(model, hooks):
        yield summaries


def run_batch(model: nn.Module, layers: list[LayerInfo], modules: dict[str, nn.Module],
              images: torch.Tensor) -> BatchResult:
    """Forward one batch once; summarise the input, every hooked layer and the output probabilities."""
    with torch.no_grad(), capturing(model, layers, modules) as summaries:
        logits = model(images)
    return _batch_result(layers, summaries, images, logits)


@contextmanager
def explained_batch(model: nn.Module, layers: list[LayerInfo], modules: dict[str, nn.Module],
                    target_layer: nn.Module, images: torch.Tensor
                    ) -> Iterator[tuple[BatchResult, Callable[[], Explanations]]]:
    """One forward serving both the one pass and the explanations of its top-1 classes.

    Yields what `run_batch` returns, from a forward on the explanations' guided twin (same parameters,
    eval mode, gradients for the input only), and a callable that runs the explanations' backward
    on that forward's graph (call it inside the block; the graph is freed when the block is left).
    """
    summaries: dict[int, LayerSummary] = {}
    hooks = [(layer.name, summarising_hook(layer, summaries)) for layer in layers if layer.name in modules]
    with explainable_forward(model, target_layer, images, hooks) as forward:
        result = _batch_result(layers, summaries, images, forward.logits)
        yield result, lambda: forward.explain(result.top_classes[:, 0])


def _batch_result(layers: list[LayerInfo], summaries: dict[int, LayerSummary], images: torch.Tensor,
                  logits: torch.Tensor) -> BatchResult:
    """Add the input and the output probabilities to the hooked layers' summaries; rank the top 10."""
    probs = logits.detach().float().softmax(dim=1)
    first, last = layers[0], layers[-1]
    summaries[first.layer_id] = summarize(first, images)
    summaries[last.layer_id] = summarize(last, probs)
    k = min(TOP_K, probs.shape[1])
    top = probs.topk(k, dim=1)
    return BatchResult(top.indices.cpu().numpy(), top.values.cpu().numpy(), summaries)
