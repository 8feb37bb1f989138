"""Where along the depth each sample's neighbourhood settles, and where a misclassified one loses its
true label, from its trajectory: the label its 10 nearest other samples vote for at every layer
(core/separability.py's `knn_votes`, the vote behind the separability curve).

Both are read at one level for a whole catalog: fine classes where some class has two or more samples,
else coarse groups (the bundled sample has one image per class, so no fine vote can be right there).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CLASS, GROUP = "class", "group"


def reading_level(label_idx: Sequence[int]) -> str:
    """CLASS where some class has 2+ samples (a fine vote can be right), else GROUP."""
    _, counts = np.unique(np.asarray(label_idx), return_counts=True)
    return CLASS if len(counts) and counts.max() >= 2 else GROUP


def from_here_on(holds: np.ndarray) -> np.ndarray:
    """For a (layers, samples) truth table in depth order: per sample, the index of the shallowest
    layer from which on it holds at every deeper layer; -1 where it does not hold at the last."""
    holds = np.asarray(holds, dtype=bool)
    if holds.shape[0] == 0:
        return np.full(holds.shape[1], -1)
    tail = np.logical_and.accumulate(holds[::-1], axis=0)[::-1]  # holds here and at every deeper layer
    return np.where(tail[-1], tail.argmax(axis=0), -1)  # tail is False, then True from that layer on


def settled_and_lost(votes: np.ndarray, answer: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample, from its votes (layers, samples) in depth order, the model's answer and the true label:
    the layer index from which on the vote is the model's answer ("settled"), and for a sample the
    model gets wrong the layer index from which on the vote is never its true label ("lost"; the
    first layer if it never was). -1 where there is none: never settled, not misclassified, or the
    deepest vote is still the true label."""
    votes, answer, truth = np.asarray(votes), np.asarray(answer), np.asarray(truth)
    settled = from_here_on(votes == answer[None, :])
    lost = from_here_on(votes != truth[None, :])
    return settled, np.where(answer != truth, lost, -1)


def separates_at(confusion: Sequence[float]) -> int | None:
    """For two labels' neighbourhood confusion per layer in depth order (the share of their samples
    whose 10 nearest others vote for the other label): the index of the shallowest layer from which on
    it stays at most half its peak, where the pair comes apart. None where it is never above 0 (never
    mixed); -1 where it is still above half its peak at the last layer (mixed to the end)."""
    values = np.nan_to_num(np.asarray(confusion, dtype=float), nan=0.0)
    if not len(values) or values.max() <= 0:
        return None
    return int(from_here_on(values[:, None] <= values.max() / 2)[0])
