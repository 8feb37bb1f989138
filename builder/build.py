"""The batch builder's stages: model and dataset in, a complete catalog out.

Stages, each with its own progress bar and timer: load the model and trace its layers; resolve the
dataset; the one pass (predictions, channel statistics, reduction inputs and, from the same forward,
the explanations of each top-1 class); reduction (PCA and t-SNE per layer, each sample's 10-NN vote);
faithfulness (`--faithfulness N`: the stored explanations scored on N samples, builder/faithfulness.py);
depth (trajectories, settling, layer similarity across the layers); clusters of each map; commit. Nothing is
visible in the catalog folder until the commit. Images are decoded by a background thread one batch
ahead of the model, and each batch's pictures are encoded by another while the next batch runs. The
manifest times the one pass's explaining part (backwards, and waiting for the encoding) as
`explanations` and the rest as `one_pass`, so the two add up to the stage.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import torch

from builder.batch import (
    BuildState,
    IdentityCheck,
    batches,
    cluster_tables,
    collect,
    depth_tables,
    fused_batch_size,
    layer_info,
    layer_inputs,
    one_batch,
    prepare_one_pass,
    separability,
)
from builder.config import BuildConfig
from builder.faithfulness import faithfulness_rows
from builder.manifest import manifest as make_manifest
from builder.memory import GrowthLimit, freed_memory_kept, release_freed_memory
from builder.progress import NoProgress, ProgressFactory
from builder.threads import background_executor, lower_this_thread
from catalog import rows
from catalog.writer import CatalogWriter
from core.datasets import resolve_dataset
from core.errors import LayerScopeError
from core.layers import trace_layers
from core.models import load_model
from core.reduce import (
    pca_layer,
    perplexities_to_run,
    resolve_perplexities,
    tsne_maps,
    tsne_pool,
)
from core.separability import K as KNN_K


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
        from builder.ray_engine import (
            RayEngine,  # Ray is optional (requirements-ray.txt)
        )
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
        with _timed(times, "faithfulness"):  # both engines: it needs only the driver's model
            writer.write("faithfulness", faithfulness_rows(state, config.faithfulness, config.seed))
        with _timed(times, "reduction"):
            reductions = engine.reduce(writer, state, config, progress)
        writer.write("layers", rows.layers(layers, reductions))
        writer.write("separability", rows.separability(layers, reductions, KNN_K))
        with _timed(times, "depth"):
            for name, table_rows in depth_tables(state, reductions).items():
                writer.write(name, table_rows)
        with _timed(times, "clusters"):
            for name, table_rows in cluster_tables(state, reductions).items():
                writer.write(name, table_rows)
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
        lower_this_thread()  # builder/threads.py: it must not hold up the model's threads
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
    target = prepare_one_pass(writer, state)
    bar = progress("one pass", n)
    explaining = 0.0
    try:
        batch_size = fused_batch_size(state.layers, config.batch_size)
        heap = GrowthLimit()
        with freed_memory_kept(), background_executor("layerscope-encode") as encoder:
            encoding: Future | None = None
            for batch, read in _prefetched(batches(state, list(range(n)), batch_size)):
                if batch is not None:
                    seconds, next_encoding = one_batch(writer, state, batch, target, encoder)
                    explaining += seconds + collect(writer, encoding)
                    encoding = next_encoding
                    heap.check()
                bar.update(read)
            explaining += collect(writer, encoding)
    finally:
        bar.close()
    writer.append("explanations", rows.explanations([], [], []))  # the table exists even if every batch failed
    return explaining


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
            identity = IdentityCheck(lambda layer_id: layer_inputs(state, layer_id, kept))
            previous = None
            for layer in state.layers:
                x = layer_inputs(state, layer.layer_id, kept)
                if identity.same_as_previous(layer.layer_id, x):
                    reduction, maps = previous  # an identity layer: same data, so the same maps
                else:
                    reduction = pca_layer(x, overwrite=True)  # x is this loop's own copy: no second one
                    maps = pool.submit(tsne_maps, reduction.features, perplexities_to_run(used), config.seed, 1)
                previous = (reduction, maps)
                info[layer.layer_id] = layer_info(
                    reduction, separability(reduction.features, [state.dataset.samples[r] for r in kept]))
                pending.append((layer, reduction, maps))
                del x
                release_freed_memory()  # the layer's inputs and PCA's work arrays
            for layer, reduction, maps in pending:
                reduction.tsne = maps.result()
                release_freed_memory()  # that layer's t-SNE work (kNN graph, affinities)
                writer.save_reference(layer.layer_id, reduction.reference(kept.astype(np.int32)).to_arrays())
                writer.append("embeddings", rows.embeddings(layer.layer_id, kept, reduction, used))
                bar.update(1)
    finally:
        bar.close()
    return info
