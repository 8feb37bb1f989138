"""Row shaping: what the builder computed, as the columns of the catalog's tables (schema.TABLES).

Kept beside the schema so that a table's columns are spelled out in one package; the builder hands over
plain arrays and core's dataclasses and never names a column itself.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from core.imagenet import by_index

if TYPE_CHECKING:  # types only: reading a catalog never needs torch
    from core.clusters import ClusteredMap
    from core.datasets import Sample
    from core.layers import LayerInfo
    from core.onepass import LayerSummary
    from core.reduce import LayerReduction

CHANNEL_STATS = ("mean", "entropy", "score")


def samples(kept: Sequence[Sample], ids: Sequence[int]) -> dict[str, list]:
    """The samples that made it into the catalog; skipped files go to `skipped` instead."""
    return {
        "sample_id": list(ids), "key": [s.key for s in kept], "wnid": [s.wnid for s in kept],
        "label_idx": [s.label_idx for s in kept], "label_name": [s.label_name for s in kept],
        "group_name": [s.group_name for s in kept], "dataset_class": [s.dataset_class for s in kept],
        "path": [str(s.path) for s in kept],
    }


def predictions(ids: np.ndarray, top_classes: np.ndarray, top_probs: np.ndarray) -> dict:
    """One row per sample and rank (1 = most probable)."""
    k = top_classes.shape[1]
    classes = top_classes.reshape(-1)
    return {
        "sample_id": np.repeat(ids, k), "rank": np.tile(np.arange(1, k + 1, dtype=np.int8), len(ids)),
        "class_idx": classes.astype(np.int32), "class_name": [by_index(int(c)).name for c in classes],
        "prob": top_probs.reshape(-1),
    }


def channels(ids: np.ndarray, summaries: Sequence[tuple[int, LayerSummary]]) -> dict[str, np.ndarray]:
    """One row per sample and channel of every map layer, from (layer_id, summary) pairs."""
    parts: dict[str, list[np.ndarray]] = {c: [] for c in ("sample_id", "layer_id", "channel", *CHANNEL_STATS)}
    for layer_id, summary in summaries:
        if summary.mean is None:
            continue
        c = summary.mean.shape[1]
        parts["sample_id"].append(np.repeat(ids, c))
        parts["layer_id"].append(np.full(len(ids) * c, layer_id, np.int32))
        parts["channel"].append(np.tile(np.arange(c, dtype=np.int32), len(ids)))
        for stat in CHANNEL_STATS:
            parts[stat].append(getattr(summary, stat).reshape(-1))
    if not parts["sample_id"]:
        return {name: np.zeros(0, np.float32 if name in CHANNEL_STATS else np.int32) for name in parts}
    return {name: np.concatenate(arrays) for name, arrays in parts.items()}


def explanations(ids: Sequence[int], classes: Sequence[int], encoded: Sequence[dict[str, bytes]]) -> dict:
    return {"sample_id": list(ids), "class_idx": list(classes),
            **{kind: [e[kind] for e in encoded] for kind in ("gradcam", "guided", "guided_gradcam")}}


def embeddings(layer_id: int, rows: np.ndarray, reduction: LayerReduction, used: dict[float, float]) -> dict:
    """The layer's PCA map and one t-SNE map per requested perplexity, tagged with the one used."""
    n = len(rows)
    maps = [("pca", None, None, reduction.pca2)]
    maps += [("tsne", used[p], p, reduction.tsne[used[p]]) for p in used]
    return {
        "sample_id": np.tile(rows.astype(np.int32), len(maps)),
        "layer_id": np.full(n * len(maps), layer_id, np.int32),
        "method": [m for m, *_ in maps for _ in range(n)],
        "perplexity": [p for _, p, _, _ in maps for _ in range(n)],
        "perplexity_requested": [r for _, _, r, _ in maps for _ in range(n)],
        "x": np.concatenate([c[:, 0] for *_, c in maps]), "y": np.concatenate([c[:, 1] for *_, c in maps]),
    }


def thumbnails(ids: Sequence[int], thumbs: Sequence[bytes]) -> dict:
    return {"sample_id": np.asarray(ids, dtype=np.int32), "thumb": list(thumbs)}


def clusters(layer_id: int, rows: np.ndarray, maps: Sequence[ClusteredMap]) -> tuple[dict, dict]:
    """The `clusters` rows (each named cluster of each map) and `cluster_members` rows (each point's
    cluster on each map) of one layer; `rows` are the maps' sample ids."""
    named = [(m, c) for m in maps for c in m.clusters]
    n = len(rows)
    table = {"layer_id": np.full(len(named), layer_id, np.int32), "method": [m.method for m, _ in named],
             "perplexity": [m.perplexity for m, _ in named], "cluster": [c.cluster for _, c in named],
             "label": [c.label for _, c in named], "purity": [c.purity for _, c in named],
             "size": [c.size for _, c in named], "x": [c.x for _, c in named], "y": [c.y for _, c in named]}
    members = {"sample_id": np.tile(rows.astype(np.int32), len(maps)),
               "layer_id": np.full(n * len(maps), layer_id, np.int32),
               "method": [m.method for m in maps for _ in range(n)],
               "perplexity": [m.perplexity for m in maps for _ in range(n)],
               "cluster": np.concatenate([m.assignment for m in maps]).astype(np.int32) if maps
               else np.zeros(0, np.int32)}
    return table, members


LAYER_COLUMNS = ("layer_id", "position", "name", "kind", "channels", "height", "width", "params",
                 "module_type", "identity")
REDUCTION_COLUMNS = ("reduction_dim", "pca_components", "pca_variance")


def layers(infos: Sequence[LayerInfo], reductions: dict[int, dict]) -> dict[str, list]:
    """One row per layer, input first: its shape and what its reduction kept."""
    rows = {c: [info.as_row()[c] for info in infos] for c in LAYER_COLUMNS}
    for extra in REDUCTION_COLUMNS:
        rows[extra] = [reductions[info.layer_id][extra] for info in infos]
    return rows


def separability(infos: Sequence[LayerInfo], reductions: dict[int, dict], k: int) -> dict[str, list]:
    return {"layer_id": [info.layer_id for info in infos], "k": [k] * len(infos),
            "knn_accuracy": [reductions[info.layer_id]["knn_accuracy"] for info in infos],
            "knn_accuracy_group": [reductions[info.layer_id]["knn_accuracy_group"] for info in infos]}


def skipped(bad: Sequence[tuple[Sample, str]]) -> dict[str, list]:
    return {"key": [s.key for s, _ in bad], "path": [str(s.path) for s, _ in bad],
            "reason": [reason for _, reason in bad]}


VOTE_COLUMNS = ("vote_class", "vote_class_share", "vote_group", "vote_group_share")


def trajectories(ids: np.ndarray, layer_ids: Sequence[int], votes: Sequence[dict[str, np.ndarray]]) -> dict:
    """One row per (sample, layer): what the sample's nearest other samples vote for there. `votes`: per
    layer, an array per VOTE_COLUMNS over `ids` (layers with no vote, a single sample's, give no rows)."""
    voted = [(layer_id, v) for layer_id, v in zip(layer_ids, votes) if len(v["vote_class"]) == len(ids)]
    ids = np.asarray(ids, dtype=np.int32)
    return {"sample_id": np.tile(ids, len(voted)),
            "layer_id": np.repeat(np.asarray([lid for lid, _ in voted], np.int32), len(ids)),
            **{column: (np.concatenate([v[column] for _, v in voted]) if voted else [])
               for column in VOTE_COLUMNS}}


def settling(ids: np.ndarray, level: str, correct: np.ndarray, layer_ids: Sequence[int],
             settled: np.ndarray, lost: np.ndarray) -> dict:
    """One row per sample: the layer its vote settles from and the layer it is lost from (indices
    into `layer_ids`, -1 for none, stored as NULL)."""
    layer_ids = np.asarray(layer_ids, np.int32)

    def layer_or_null(index: np.ndarray) -> list:
        return [int(layer_ids[i]) if i >= 0 else None for i in index]
    return {"sample_id": np.asarray(ids, np.int32), "level": [level] * len(ids),
            "correct": np.asarray(correct, bool), "settled_layer": layer_or_null(settled),
            "lost_layer": layer_or_null(lost)}


def layer_similarity(layer_ids: Sequence[int], cka: np.ndarray) -> dict:
    """Every ordered pair of layers (the diagonal included) and their linear CKA."""
    n = len(layer_ids)
    layer_ids = np.asarray(layer_ids, np.int32)
    return {"layer_a": np.repeat(layer_ids, n), "layer_b": np.tile(layer_ids, n),
            "cka": np.asarray(cka, np.float32).reshape(-1)}


def faithfulness(scored: Sequence[tuple[int, int, dict[str, dict[str, float]]]]) -> dict[str, list]:
    """(sample_id, layer_id, method -> metric -> value) per scored sample, one row per value."""
    table: dict[str, list] = {"sample_id": [], "layer_id": [], "method": [], "metric": [], "value": []}
    for sample_id, layer_id, scores in scored:
        for method, metrics in scores.items():
            for metric, value in metrics.items():
                for column, item in zip(table, (sample_id, layer_id, method, metric, value)):
                    table[column].append(item)
    return table
