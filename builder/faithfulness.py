"""The build's faithfulness stage: the stored explanations scored on a few samples (`--faithfulness N`).

It runs after the one pass, in the driver for both engines (the one pass is done by then, so the
Ray workers are not needed): N samples chosen stratified by group (round robin over the groups, each
group's samples in a seeded order), their stored explanations recomputed by the same fused code
(`core.explain`, same target layer and top-1 class, so the same maps), and each scored by
`core.faithfulness` beside a random map. Guided backprop and guided Grad-CAM are RGB gradients; they
are scored as saliency maps (the largest absolute channel per pixel, scaled to [0, 1]).
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from builder.batch import BuildState, batches
from catalog import rows
from core import explain
from core.faithfulness import faithfulness

FAITHFULNESS_BATCH = 8


def stratified(state: BuildState, n: int, seed: int) -> list[int]:
    """Up to `n` kept positions, taking one group after another in turn."""
    by_group: dict[str, list[int]] = defaultdict(list)
    for position in sorted(state.kept):
        by_group[state.dataset.samples[position].group_name].append(position)
    rng = np.random.default_rng(seed)
    queues = [list(rng.permutation(by_group[group])) for group in sorted(by_group)]
    chosen: list[int] = []
    while len(chosen) < n and any(queues):
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.append(int(queue.pop(0)))
    return sorted(chosen)


def saliency(gradient: np.ndarray) -> np.ndarray:
    """An RGB gradient [H, W, 3] as a map in [0, 1]: the largest absolute channel per pixel."""
    magnitude = np.abs(gradient).max(axis=-1).astype(np.float32)
    return magnitude / max(float(magnitude.max()), 1e-12)


def faithfulness_rows(state: BuildState, n: int, seed: int) -> dict[str, list]:
    """The `faithfulness` table's rows for `n` stratified samples (none when n is 0)."""
    scored = []
    if n > 0 and state.kept:
        model = state.loaded.model
        target = _target(state)
        layer = next(info for info in state.layers if info.name == state.target_layer)
        for batch, _ in batches(state, stratified(state, n, seed), FAITHFULNESS_BATCH):
            if batch is None:
                continue
            classes = [state.top1[p] for p in batch.positions]
            maps = explain.explain_batch(model, target, batch.images, classes)
            for i, position in enumerate(batch.positions):
                stored = {"gradcam": maps.gradcam[i], "guided": saliency(maps.guided[i]),
                          "guided_gradcam": saliency(maps.guided_gradcam[i])}
                scores = faithfulness(model, batch.images[i], classes[i], stored,
                                      layer_size=(layer.height, layer.width), seed=seed + position)
                scored.append((position, layer.layer_id, scores))
    return rows.faithfulness(scored)


def _target(state: BuildState):
    if not state.target_layer:
        module = explain.default_target_layer(state.loaded.model, list(state.modules),
                                              input_size=state.loaded.preprocess.crop)
        state.target_layer = next(name for name, m in state.modules.items() if m is module)
    return state.modules[state.target_layer]
