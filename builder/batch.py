"""What both engines do with one batch of images and with one layer's reduction inputs, so that the
local engine (builder/build.py) and the Ray engine (builder/ray_engine.py) make the same catalog.

A batch: decode and preprocess (`batches`), one forward for its statistics, predictions and
explanations (`one_batch`), its pictures (thumbnails too) encoded by an executor (`collect` appends them). A layer:
its row of the `layers` table (`layer_info`), its separability and each sample's vote there, and
whether its inputs are the previous layer's (`IdentityCheck`: an identity layer shares that layer's
maps). After the layers: the tables read across them (`depth_tables`), and each map's named clusters
(`cluster_tables`).
"""
from __future__ import annotations

import mmap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import torch
from PIL import Image

from catalog import rows
from catalog.schema import TABLES
from catalog.writer import CatalogWriter
from core import explain
from core.cka import cka_matrix
from core.clusters import cluster_maps
from core.datasets import Dataset, Sample
from core.errors import BadImage
from core.imagenet import group_of
from core.images import load_rgb
from core.layers import LayerInfo
from core.models import LoadedModel
from core.onepass import BatchResult, explained_batch
from core.pictures import jpeg
from core.reduce import LayerReduction
from core.separability import knn_votes, nearest_others
from core.stats import reduction_input
from core.thumbnails import thumbnail
from core.trajectory import CLASS, reading_level, settled_and_lost

VIEW_QUALITY = 90  # JPEG quality of the stored model-view image
GRAPH_BUDGET_BYTES = 1 << 30  # a batch's activations kept for the explanations' backwards


@dataclass
class Loaded:
    positions: list[int]
    views: list[Image.Image]
    images: torch.Tensor


@dataclass
class BuildState:
    """What the stages hand each other."""

    loaded: LoadedModel
    layers: list[LayerInfo]
    modules: dict[str, torch.nn.Module]
    dataset: Dataset
    features: dict[int, np.ndarray] = field(default_factory=dict)  # layer_id -> (N, D) memmap
    kept: list[int] = field(default_factory=list)  # positions of usable samples
    top1: dict[int, int] = field(default_factory=dict)
    correct: int = 0
    target_layer: str = ""  # where Grad-CAM looks
    skipped: list[tuple[Sample, str]] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=dict)


def batches(state: BuildState, positions: list[int], batch_size: int) -> Iterator[tuple[Loaded | None, int]]:
    """Decode and preprocess images batch by batch: (the usable ones or None, how many were read).
    Unreadable ones are recorded and skipped."""
    preprocess = state.loaded.preprocess
    for start in range(0, len(positions), batch_size):
        chunk = positions[start:start + batch_size]
        kept, views = [], []
        for position in chunk:
            sample = state.dataset.samples[position]
            try:
                views.append(preprocess.view(load_rgb(sample.path)))
                kept.append(position)
            except BadImage as bad:
                state.skipped.append((sample, bad.reason))
        if kept:
            images = torch.stack([preprocess.normalize(v) for v in views]).to(state.loaded.device)
            yield Loaded(kept, views, images), len(chunk)
        else:
            yield None, len(chunk)


def prepare_one_pass(writer: CatalogWriter, state: BuildState) -> torch.nn.Module:
    """Scratch arrays for every layer's reduction inputs, and the explanations' Grad-CAM layer (its
    name recorded in `state`). Returns that layer's module."""
    n = len(state.dataset.samples)
    state.features = {lid: writer.scratch_array(f"features_{lid:03d}", (n, d))
                      for lid, d in _reduction_dims(state.layers).items()}
    target = explain.default_target_layer(state.loaded.model, list(state.modules),
                                          input_size=state.loaded.preprocess.crop)
    state.target_layer = next(name for name, module in state.modules.items() if module is target)
    return target


def layer_info(reduction: LayerReduction, separability: dict) -> dict:
    """A layer's row of the `layers` table beyond its structure, its separability and votes, its PCA
    features (for `depth_tables`) and its reduction, whose maps `cluster_tables` reads."""
    return {"reduction_dim": int(reduction.pca_mean.shape[0]), "pca_components": reduction.features.shape[1],
            "pca_variance": reduction.variance_kept, "features": reduction.features, "reduction": reduction,
            **separability}


def collect(writer: CatalogWriter, encoding: Future | None) -> float:
    """Append a batch's encoded pictures (made in the background) to their tables; returns the seconds
    waited for them."""
    if encoding is None:
        return 0.0
    started = time.perf_counter()
    tables = encoding.result()
    waited = time.perf_counter() - started
    for name, table_rows in tables.items():
        writer.append(name, table_rows)
    return waited


def fused_batch_size(layers: list[LayerInfo], asked: int, budget: int = GRAPH_BUDGET_BYTES) -> int:
    """At most `asked` images, fewer where one image's activations (every layer's, float32: what the
    backwards keep, about) times the batch would pass `budget`: VGG16 (115 MB an image) runs 9
    at a time, EfficientNet-Lite0 16. Per-image cost hardly depends on the batch beyond a few images."""
    per_image = 4 * sum(layer.size for layer in layers)
    return max(1, min(asked, budget // max(per_image, 1)))


def one_batch(writer: CatalogWriter, state: BuildState, batch: Loaded, target: torch.nn.Module,
               encoder: Executor) -> tuple[float, Future]:
    """One forward for the batch's rows of every table. The pictures (model views as JPEG, explanations
    as PNG/WebP) are encoded by `encoder`'s thread while the next batch runs (PIL and numpy release the
    GIL); the future gives their tables' rows. Returns the seconds spent explaining, and that future."""
    with explained_batch(state.loaded.model, state.layers, state.modules, target, batch.images) as (result, explain_top1):
        store_batch(writer, state, batch, result)
        started = time.perf_counter()
        maps = explain_top1()
    classes = [int(c) for c in result.top_classes[:, 0]]
    return time.perf_counter() - started, encoder.submit(_encoded, batch, classes, maps)


def _encoded(batch: Loaded, classes: list[int], maps: explain.Explanations) -> dict[str, dict]:
    ids = np.asarray(batch.positions, dtype=np.int32)
    encoded = [explain.encode(maps, i) for i in range(len(classes))]
    return {"images": {"sample_id": ids, "image": [jpeg(v, VIEW_QUALITY) for v in batch.views]},
            "explanations": rows.explanations(batch.positions, classes, encoded),
            "thumbnails": rows.thumbnails(ids, [thumbnail(v) for v in batch.views])}


def release_pages(array: np.ndarray) -> None:
    """Unmap the pages of a scratch memmap from this process (they stay in the file and the page
    cache), so the resident set does not grow by every feature written or read (41 layers x 7000
    images x up to 4096 floats is 4.7 GB)."""
    mapping = getattr(array, "_mmap", None)
    if mapping is not None and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)


def _reduction_dims(layers: list[LayerInfo]) -> dict[int, int]:
    return {layer.layer_id: reduction_input(torch.zeros(1, *layer.shape)).shape[1] for layer in layers}


def store_batch(writer: CatalogWriter, state: BuildState, batch: Loaded, result: BatchResult) -> None:
    ids = np.asarray(batch.positions, dtype=np.int32)
    writer.append("predictions", rows.predictions(ids, result.top_classes, result.top_probs))
    for layer in state.layers:
        state.features[layer.layer_id][ids] = result.layers[layer.layer_id].features
        release_pages(state.features[layer.layer_id])
    writer.append("channels", rows.channels(ids, [(layer.layer_id, result.layers[layer.layer_id])
                                                  for layer in state.layers]))
    for position, top in zip(batch.positions, result.top_classes[:, 0]):
        state.kept.append(position)
        state.top1[position] = int(top)
        state.correct += int(top) == state.dataset.samples[position].label_idx


def separability(features: np.ndarray, samples: list[Sample]) -> dict:
    """Leave-one-out 10-NN accuracy of the classes and the coarse groups, and each sample's `votes` (its
    trajectory's step at this layer): both from one neighbour search, so they never disagree."""
    neighbours = nearest_others(features)
    votes = {}
    accuracy = {}
    for level, labels in (("class", np.array([s.label_idx for s in samples], np.int32)),
                          ("group", np.array([s.group_name for s in samples]))):
        voted, share = knn_votes(neighbours, labels)
        votes[f"vote_{level}"], votes[f"vote_{level}_share"] = voted, share.astype(np.float32)
        accuracy[level] = float(np.mean(voted == labels)) if len(voted) else float("nan")
    return {"knn_accuracy": accuracy["class"], "knn_accuracy_group": accuracy["group"], "votes": votes}


def depth_tables(state: BuildState, info: dict[int, dict]) -> dict[str, dict]:
    """The tables read across the layers, from each layer's `info` (layer_info): every sample's
    trajectory, where it settles and is lost (at the catalog's reading level), and the layers' CKA."""
    kept = np.asarray(sorted(state.kept), dtype=np.int32)
    samples = [state.dataset.samples[p] for p in kept]
    layer_ids = [layer.layer_id for layer in state.layers]
    votes = [info[layer_id]["votes"] for layer_id in layer_ids]
    level = reading_level([s.label_idx for s in samples])
    top1 = [state.top1[int(p)] for p in kept]
    if level == CLASS:
        truth, answer = np.array([s.label_idx for s in samples]), np.array(top1)
    else:
        truth, answer = np.array([s.group_name for s in samples]), np.array([group_of(c) for c in top1])
    if len(kept) >= 2:
        settled, lost = settled_and_lost(np.stack([v[f"vote_{level}"] for v in votes]), answer, truth)
    else:
        settled = lost = np.full(len(kept), -1)
    return {"trajectories": rows.trajectories(kept, layer_ids, votes),
            "settling": rows.settling(kept, level, answer == truth, layer_ids, settled, lost),
            "layer_similarity": rows.layer_similarity(
                layer_ids, cka_matrix([info[layer_id]["features"] for layer_id in layer_ids]))}


def cluster_tables(state: BuildState, info: dict[int, dict]) -> dict[str, pa.Table]:
    """Every map's clusters (each layer's PCA plane and t-SNE per perplexity used), named at the
    catalog's reading level, and each point's cluster. A layer sharing another's reduction shares its
    clusters."""
    kept = np.asarray(sorted(state.kept), dtype=np.int32)
    samples = [state.dataset.samples[p] for p in kept]
    level = reading_level([s.label_idx for s in samples])
    labels = [s.label_name if level == CLASS else s.group_name for s in samples]
    clustered: dict[int, list] = {}  # id(reduction) -> its maps, clustered
    tables: dict[str, list[pa.Table]] = {"clusters": [], "cluster_members": []}
    for layer in state.layers:
        reduction = info[layer.layer_id]["reduction"]
        if id(reduction) not in clustered:
            clustered[id(reduction)] = cluster_maps(reduction.pca2, reduction.tsne, labels)
        for name, table_rows in zip(tables, rows.clusters(layer.layer_id, kept, clustered[id(reduction)])):
            tables[name].append(pa.table(table_rows, schema=TABLES[name]))
    return {name: pa.concat_tables(parts) if parts else TABLES[name].empty_table()
            for name, parts in tables.items()}


def layer_inputs(state: BuildState, layer_id: int, kept: np.ndarray) -> np.ndarray:
    """A layer's reduction inputs of the kept samples: a copy in memory, its scratch file's pages let go."""
    x = np.asarray(state.features[layer_id][kept])
    release_pages(state.features[layer_id])
    return x


class IdentityCheck:
    """Whether a layer's reduction inputs equal the previous layer's (an identity layer, such as dropout
    at inference, then shares that layer's maps instead of computing equal ones).

    It keeps a fingerprint of the previous layer's inputs (shape, sum, minimum, maximum: three passes,
    no copy), not the inputs themselves, which at 7000 images are up to 115 MB; a matching fingerprint
    is confirmed against the previous layer's inputs read again with `read(layer_id)`."""

    def __init__(self, read: Callable[[int], np.ndarray]):
        self.read = read
        self.previous: tuple[int, tuple] | None = None  # (layer id, fingerprint)

    def same_as_previous(self, layer_id: int, x: np.ndarray) -> bool:
        fingerprint = (x.shape, float(x.sum(dtype=np.float64)), float(x.min()), float(x.max())) if x.size else (x.shape,)
        previous, self.previous = self.previous, (layer_id, fingerprint)
        return previous is not None and previous[1] == fingerprint and np.array_equal(self.read(previous[0]), x)
