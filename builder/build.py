"""The batch builder's stages: model and dataset in, a complete catalog out.

Stages, each with its own progress bar and timer: load the model and trace its layers; resolve the
dataset; the one pass (predictions, channel statistics, reduction inputs and, from the same forward,
the explanations of each top-1 class); reduction (PCA and t-SNE per layer); commit. Nothing is
visible in the catalog folder until the commit. Images are decoded by a background thread one batch
ahead of the model, and each batch's pictures are encoded by another while the next batch runs. The
manifest times the one pass's explaining part (backwards, and waiting for the encoding) as
`explanations` and the rest as `one_pass`, so the two add up to the stage.
"""
from __future__ import annotations

import mmap
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from builder.config import BuildConfig
from builder.manifest import manifest as make_manifest
from builder.progress import NoProgress, ProgressFactory
from catalog import rows
from catalog.writer import CatalogWriter
from core import explain
from core.datasets import Dataset, Sample, resolve_dataset
from core.errors import BadImage, LayerScopeError
from core.images import load_rgb
from core.layers import LayerInfo, trace_layers
from core.models import LoadedModel, load_model
from core.onepass import BatchResult, explained_batch
from core.pictures import jpeg
from core.reduce import (
    LayerReduction,
    pca_layer,
    resolve_perplexities,
    tsne_maps,
    tsne_perplexities,
    tsne_pool,
)
from core.separability import K as KNN_K
from core.separability import knn_accuracy
from core.stats import reduction_input

VIEW_QUALITY = 90  # JPEG quality of the stored model-view image
GRAPH_BUDGET_BYTES = 1 << 30  # a batch's activations kept for the explanations' backwards


@dataclass
class _Loaded:
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


def build_catalog(config: BuildConfig, progress: ProgressFactory = NoProgress,
                  log: Callable[[str], None] = lambda _: None) -> tuple[Path, dict]:
    """Build the catalog described by config; returns its folder and manifest.

    `progress` makes one bar per stage and `log` takes one line per step; both show nothing by default.
    """
    engine = _engine(config, log)
    try:
        return _build(config, engine, progress, log)
    finally:
        engine.close()


class LocalEngine:
    """The one-process engine: the one pass and the reductions here (see builder/ray_engine.py for Ray)."""

    def __init__(self, config: BuildConfig):
        if config.device.startswith("cuda") and not torch.cuda.is_available():
            raise LayerScopeError("--device cuda was asked for, but torch sees no CUDA GPU here; use --device cpu")
        self.driver_device = config.device  # where this process runs the model

    def one_pass(self, writer: CatalogWriter, state: BuildState, config: BuildConfig,
                 progress: ProgressFactory) -> float:
        return _one_pass(writer, state, config, progress)

    def reduce(self, writer: CatalogWriter, state: BuildState, config: BuildConfig,
               progress: ProgressFactory) -> dict[int, dict]:
        return _reduce(writer, state, config, progress)

    def close(self) -> None:
        pass


def _engine(config: BuildConfig, log: Callable[[str], None]):
    if config.engine == "ray":
        from builder.ray_engine import RayEngine  # Ray is optional (requirements-ray.txt)
        return RayEngine(config, log)
    if config.engine != "local":
        raise LayerScopeError(f"unknown engine {config.engine!r}: use local or ray")
    return LocalEngine(config)


def _build(config: BuildConfig, engine, progress: ProgressFactory,
           log: Callable[[str], None]) -> tuple[Path, dict]:
    started = time.perf_counter()
    times: dict[str, float] = {}
    with _timed(times, "model"):
        loaded = load_model(config.model, config.weights, engine.driver_device)
        layers, modules = trace_layers(loaded.model, loaded.preprocess.crop)
    log(f"model: {loaded.label}, weights {loaded.weights}, {len(layers)} layers")
    with _timed(times, "dataset"):
        dataset = resolve_dataset(config.dataset, n=config.samples, seed=config.seed,
                                  data_dir=config.data_dir, size=config.size)
    if not dataset.samples:
        raise LayerScopeError(f"the dataset {config.dataset!r} has no images")
    log(f"dataset: {dataset.name}, {len(dataset.samples)} samples")
    state = BuildState(loaded, layers, modules, dataset, times=times)
    writer = CatalogWriter(config.target())
    try:
        with _timed(times, "one_pass"):
            explaining = engine.one_pass(writer, state, config, progress)
        times["explanations"] = round(explaining, 3)
        times["one_pass"] = round(times["one_pass"] - explaining, 3)
        if not state.kept:
            reasons = "; ".join(f"{s.path.name}: {r}" for s, r in state.skipped[:5])
            raise LayerScopeError(f"no image of the dataset could be used ({reasons})")
        writer.write("samples", rows.samples([dataset.samples[p] for p in state.kept], state.kept))
        with _timed(times, "reduction"):
            reductions = engine.reduce(writer, state, config, progress)
        writer.write("layers", rows.layers(layers, reductions))
        writer.write("separability", rows.separability(layers, reductions, KNN_K))
        writer.write("skipped", rows.skipped(state.skipped))
        times["total"] = round(time.perf_counter() - started, 3)
        manifest = make_manifest(config, state)
        path = writer.commit(manifest)
    except BaseException:
        writer.abort()
        raise
    return path, manifest


class _timed:
    def __init__(self, times: dict[str, float], stage: str):
        self.times, self.stage = times, stage

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.times[self.stage] = round(time.perf_counter() - self.start, 3)


def _batches(state: BuildState, positions: list[int], batch_size: int) -> Iterator[tuple[_Loaded | None, int]]:
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
            yield _Loaded(kept, views, images), len(chunk)
        else:
            yield None, len(chunk)


_DONE = object()


def _prefetched(items: Iterator, depth: int = 1) -> Iterator:
    """`items`, made by a background thread up to `depth` ahead, so the next batch is decoded (PIL
    releases the GIL) while the model computes on this one. The thread's error is raised here; leaving
    early stops the thread. Progress bars stay in the caller's thread (Streamlit's need its context)."""
    made: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                made.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except Exception as exc:  # noqa: BLE001  (handed to the consumer, raised there)
            put((_DONE, exc))

    thread = threading.Thread(target=produce, name="layerscope-decode", daemon=True)
    thread.start()
    try:
        while True:
            item, error = made.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _one_pass(writer: CatalogWriter, state: BuildState, config: BuildConfig,
              progress: ProgressFactory) -> float:
    """Every batch through the model once: stored statistics, predictions and explanations.
    Returns the seconds spent explaining (backwards and encoding)."""
    n = len(state.dataset.samples)
    target = _prepare_one_pass(writer, state)
    bar = progress("one pass", n)
    explaining = 0.0
    try:
        batch_size = fused_batch_size(state.layers, config.batch_size)
        with ThreadPoolExecutor(1, thread_name_prefix="layerscope-encode") as encoder:
            encoding: Future | None = None
            for batch, read in _prefetched(_batches(state, list(range(n)), batch_size)):
                if batch is not None:
                    seconds, next_encoding = _one_batch(writer, state, batch, target, encoder)
                    explaining += seconds + _collect(writer, encoding)
                    encoding = next_encoding
                bar.update(read)
            explaining += _collect(writer, encoding)
    finally:
        bar.close()
    writer.append("explanations", rows.explanations([], [], []))  # the table exists even if every batch failed
    return explaining


def _prepare_one_pass(writer: CatalogWriter, state: BuildState) -> torch.nn.Module:
    """Scratch arrays for every layer's reduction inputs, and the explanations' Grad-CAM layer (its
    name recorded in `state`); shared by both engines. Returns that layer's module."""
    n = len(state.dataset.samples)
    state.features = {lid: writer.scratch_array(f"features_{lid:03d}", (n, d))
                      for lid, d in _reduction_dims(state.layers).items()}
    target = explain.default_target_layer(state.loaded.model, list(state.modules),
                                          input_size=state.loaded.preprocess.crop)
    state.target_layer = next(name for name, module in state.modules.items() if module is target)
    return target


def _layer_info(reduction: LayerReduction, separability: dict[str, float]) -> dict:
    """A layer's row of the `layers` table beyond its structure; shared by both engines."""
    return {"reduction_dim": int(reduction.pca_mean.shape[0]), "pca_components": reduction.features.shape[1],
            "pca_variance": reduction.variance_kept, **separability}


def _collect(writer: CatalogWriter, encoding: Future | None) -> float:
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


def _one_batch(writer: CatalogWriter, state: BuildState, batch: _Loaded, target: torch.nn.Module,
               encoder: Executor) -> tuple[float, Future]:
    """One forward for the batch's rows of every table. The pictures (model views as JPEG, explanations
    as PNG/WebP) are encoded by `encoder`'s thread while the next batch runs (PIL and numpy release the
    GIL); the future gives their tables' rows. Returns the seconds spent explaining, and that future."""
    with explained_batch(state.loaded.model, state.layers, state.modules, target, batch.images) as (result, explain_top1):
        _store_batch(writer, state, batch, result)
        started = time.perf_counter()
        maps = explain_top1()
    classes = [int(c) for c in result.top_classes[:, 0]]
    return time.perf_counter() - started, encoder.submit(_encoded, batch, classes, maps)


def _encoded(batch: _Loaded, classes: list[int], maps: explain.Explanations) -> dict[str, dict]:
    ids = np.asarray(batch.positions, dtype=np.int32)
    encoded = [explain.encode(maps, i) for i in range(len(classes))]
    return {"images": {"sample_id": ids, "image": [jpeg(v, VIEW_QUALITY) for v in batch.views]},
            "explanations": rows.explanations(batch.positions, classes, encoded)}


def _release_pages(array: np.ndarray) -> None:
    """Unmap the pages of a scratch memmap from this process (they stay in the file and the page
    cache), so the resident set does not grow by every feature written or read (41 layers x 7000
    images x up to 4096 floats is 4.7 GB)."""
    mapping = getattr(array, "_mmap", None)
    if mapping is not None and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)


def _reduction_dims(layers: list[LayerInfo]) -> dict[int, int]:
    return {layer.layer_id: reduction_input(torch.zeros(1, *layer.shape)).shape[1] for layer in layers}


def _store_batch(writer: CatalogWriter, state: BuildState, batch: _Loaded, result: BatchResult) -> None:
    ids = np.asarray(batch.positions, dtype=np.int32)
    writer.append("predictions", rows.predictions(ids, result.top_classes, result.top_probs))
    for layer in state.layers:
        state.features[layer.layer_id][ids] = result.layers[layer.layer_id].features
        _release_pages(state.features[layer.layer_id])
    writer.append("channels", rows.channels(ids, [(layer.layer_id, result.layers[layer.layer_id])
                                                  for layer in state.layers]))
    for position, top in zip(batch.positions, result.top_classes[:, 0]):
        state.kept.append(position)
        state.top1[position] = int(top)
        state.correct += int(top) == state.dataset.samples[position].label_idx


def _reduce(writer: CatalogWriter, state: BuildState, config: BuildConfig,
            progress: ProgressFactory) -> dict[int, dict]:
    """One PCA and one t-SNE per perplexity for every layer; identical inputs give identical maps.

    PCA runs here, layer by layer; t-SNE runs in a pool of threads, so layers proceed side by side.
    """
    kept = np.asarray(sorted(state.kept))
    used = resolve_perplexities(tuple(config.perplexities), len(kept))
    bar = progress("reduction", len(state.layers), unit="layer")
    info: dict[int, dict] = {}
    try:
        with tsne_pool(config.workers) as pool:
            pending = []
            previous_x, previous = None, None
            for layer in state.layers:
                x = np.asarray(state.features[layer.layer_id][kept])
                _release_pages(state.features[layer.layer_id])
                if previous is not None and previous_x.shape == x.shape and np.array_equal(previous_x, x):
                    reduction, maps = previous  # an identity layer: same data, so the same maps
                else:
                    reduction = pca_layer(x)
                    maps = pool.submit(tsne_maps, reduction.features, tsne_perplexities(used), config.seed, 1)
                previous_x, previous = x, (reduction, maps)
                info[layer.layer_id] = _layer_info(
                    reduction, _separability(reduction.features, [state.dataset.samples[r] for r in kept]))
                pending.append((layer, reduction, maps))
            for layer, reduction, maps in pending:
                reduction.tsne = maps.result()
                writer.save_reference(layer.layer_id, {**reduction.to_arrays(), "sample_id": kept.astype(np.int32)})
                writer.append("embeddings", rows.embeddings(layer.layer_id, kept, reduction, used))
                bar.update(1)
    finally:
        bar.close()
    return info


def _separability(features: np.ndarray, samples: list[Sample]) -> dict[str, float]:
    return {"knn_accuracy": knn_accuracy(features, np.array([s.label_idx for s in samples])),
            "knn_accuracy_group": knn_accuracy(features, np.array([s.group_name for s in samples]))}
