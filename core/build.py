"""The batch builder: model and dataset in, a complete catalog out.

Stages, each with its own progress bar and timer: load the model and trace its layers; resolve the
dataset; the one pass (predictions, channel statistics, reduction inputs); explanations; reduction
(PCA and t-SNE per layer); commit. Nothing is visible in the catalog folder until the commit.
"""
from __future__ import annotations

import io
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from PIL import Image

from catalog.paths import default_name, default_root
from catalog.schema import SCHEMA_VERSION
from catalog.writer import CatalogWriter
from core import explain
from core.datasets import Dataset, Sample, resolve_dataset
from core.errors import BadImage, LayerScopeError
from core.imagenet import by_index
from core.images import load_rgb
from core.layers import LayerInfo, trace_layers
from core.models import DEFAULT_MODEL, LoadedModel, load_model
from core.onepass import BatchResult, run_batch
from core.reduce import (DEFAULT_PERPLEXITIES, max_perplexity, pca_layer, resolve_perplexities, tsne_maps,
                         tsne_perplexities, tsne_pool)
from core.separability import K as KNN_K
from core.separability import knn_accuracy
from core.stats import reduction_input

VIEW_QUALITY = 90  # JPEG quality of the stored model-view image
PACKAGES = ("torch", "torchvision", "timm", "grad-cam", "openTSNE", "scikit-learn", "numpy", "duckdb",
            "pyarrow", "pillow")


class Progress:
    """What a stage reports to: tqdm on the command line, a Streamlit bar in the app."""

    def __init__(self, desc: str, total: int, unit: str = "img"):
        from tqdm.auto import tqdm
        self._bar = tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


class NoProgress(Progress):
    """For callers that show nothing: tests, benchmarks."""

    def __init__(self, *args, **kwargs):
        pass

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


ProgressFactory = Callable[..., Progress]  # (description, total, unit="img") -> Progress


@dataclass
class BuildConfig:
    model: str = DEFAULT_MODEL
    dataset: str = "sample"
    samples: int | None = None
    perplexities: tuple[float, ...] = DEFAULT_PERPLEXITIES
    weights: str = "default"
    device: str = "cpu"
    data_dir: Path | None = None
    out: Path | None = None
    size: str = "160"
    batch_size: int = 16
    seed: int = 0
    workers: int | None = None  # layers in t-SNE at once; None: one per core

    def target(self) -> Path:
        if self.out is not None:
            return Path(self.out)
        return default_root() / default_name(self.model, self.dataset, self.samples, self.weights)


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


def build_catalog(config: BuildConfig, progress: ProgressFactory = Progress,
                  log: Callable[[str], None] = print) -> tuple[Path, dict]:
    """Build the catalog described by config; returns its folder and manifest."""
    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise LayerScopeError("--device cuda was asked for, but torch sees no CUDA GPU here; use --device cpu")
    started = time.perf_counter()
    times: dict[str, float] = {}
    with _timed(times, "model"):
        loaded = load_model(config.model, config.weights, config.device)
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
            _one_pass(writer, state, config, progress)
        if not state.kept:
            reasons = "; ".join(f"{s.path.name}: {r}" for s, r in state.skipped[:5])
            raise LayerScopeError(f"no image of the dataset could be used ({reasons})")
        _write_samples(writer, [dataset.samples[p] for p in state.kept], state.kept)
        with _timed(times, "explanations"):
            _explanations(writer, state, config, progress)
        with _timed(times, "reduction"):
            reductions = _reduce(writer, state, config, progress)
        writer.write("layers", _layer_rows(layers, reductions))
        writer.write("separability", {
            "layer_id": [layer.layer_id for layer in layers], "k": [KNN_K] * len(layers),
            "knn_accuracy": [reductions[layer.layer_id]["knn_accuracy"] for layer in layers],
            "knn_accuracy_group": [reductions[layer.layer_id]["knn_accuracy_group"] for layer in layers]})
        writer.write("skipped", {"key": [s.key for s, _ in state.skipped],
                                 "path": [str(s.path) for s, _ in state.skipped],
                                 "reason": [r for _, r in state.skipped]})
        times["total"] = round(time.perf_counter() - started, 3)
        manifest = _manifest(config, state, reductions)
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


def _write_samples(writer: CatalogWriter, s: list[Sample], ids: list[int]) -> None:
    """The samples that made it into the catalog; skipped files are in `skipped` instead."""
    writer.write("samples", {
        "sample_id": ids, "key": [x.key for x in s], "wnid": [x.wnid for x in s],
        "label_idx": [x.label_idx for x in s], "label_name": [x.label_name for x in s],
        "group_name": [x.group_name for x in s], "dataset_class": [x.dataset_class for x in s],
        "path": [str(x.path) for x in s],
    })


def _batches(state: BuildState, positions: list[int], batch_size: int,
             bar: Progress) -> Iterator[_Loaded]:
    """Decode and preprocess images batch by batch; unreadable ones are recorded and skipped."""
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
        bar.update(len(chunk))
        if kept:
            images = torch.stack([preprocess.normalize(v) for v in views]).to(state.loaded.device)
            yield _Loaded(kept, views, images)


def _one_pass(writer: CatalogWriter, state: BuildState, config: BuildConfig,
              progress: ProgressFactory) -> None:
    n = len(state.dataset.samples)
    dims = _reduction_dims(state.layers)
    state.features = {layer.layer_id: writer.scratch_array(f"features_{layer.layer_id:03d}", (n, dims[layer.layer_id]))
                      for layer in state.layers}
    bar = progress("one pass", n)
    try:
        for batch in _batches(state, list(range(n)), config.batch_size, bar):
            result = run_batch(state.loaded.model, state.layers, state.modules, batch.images)
            _store_batch(writer, state, batch, result)
    finally:
        bar.close()


def _reduction_dims(layers: list[LayerInfo]) -> dict[int, int]:
    return {layer.layer_id: reduction_input(torch.zeros(1, *layer.shape)).shape[1] for layer in layers}


def _store_batch(writer: CatalogWriter, state: BuildState, batch: _Loaded, result: BatchResult) -> None:
    ids = np.asarray(batch.positions, dtype=np.int32)
    k = result.top_classes.shape[1]
    classes = result.top_classes.reshape(-1)
    writer.append("predictions", {
        "sample_id": np.repeat(ids, k), "rank": np.tile(np.arange(1, k + 1, dtype=np.int8), len(ids)),
        "class_idx": classes.astype(np.int32), "class_name": [by_index(int(c)).name for c in classes],
        "prob": result.top_probs.reshape(-1),
    })
    channel_rows: dict[str, list[np.ndarray]] = {c: [] for c in ("sample_id", "layer_id", "channel", "mean",
                                                               "entropy", "score")}
    for layer in state.layers:
        summary = result.layers[layer.layer_id]
        state.features[layer.layer_id][ids] = summary.features
        if summary.mean is not None:
            c = summary.mean.shape[1]
            channel_rows["sample_id"].append(np.repeat(ids, c))
            channel_rows["layer_id"].append(np.full(len(ids) * c, layer.layer_id, np.int32))
            channel_rows["channel"].append(np.tile(np.arange(c, dtype=np.int32), len(ids)))
            for stat in ("mean", "entropy", "score"):
                channel_rows[stat].append(getattr(summary, stat).reshape(-1))
    writer.append("channels", {name: np.concatenate(parts) for name, parts in channel_rows.items()})
    writer.append("images", {"sample_id": ids, "image": [_jpeg(v) for v in batch.views]})
    for position, top in zip(batch.positions, result.top_classes[:, 0]):
        state.kept.append(position)
        state.top1[position] = int(top)
        state.correct += int(top) == state.dataset.samples[position].label_idx


def _jpeg(view: Image.Image) -> bytes:
    buffer = io.BytesIO()
    view.save(buffer, format="JPEG", quality=VIEW_QUALITY)
    return buffer.getvalue()


def _explanations(writer: CatalogWriter, state: BuildState, config: BuildConfig,
                  progress: ProgressFactory) -> None:
    target = explain.default_target_layer(state.loaded.model, list(state.modules),
                                          input_size=state.loaded.preprocess.crop)
    state.target_layer = next(name for name, module in state.modules.items() if module is target)
    bar = progress("explanations", len(state.kept))
    try:
        for batch in _batches(state, list(state.kept), config.batch_size, bar):
            classes = [state.top1[p] for p in batch.positions]
            maps = explain.explain_batch(state.loaded.model, target, batch.images, classes)
            encoded = [explain.encode(maps, i) for i in range(len(classes))]
            writer.append("explanations", {
                "sample_id": batch.positions, "class_idx": classes,
                **{kind: [e[kind] for e in encoded] for kind in ("gradcam", "guided", "guided_gradcam")},
            })
    finally:
        bar.close()
    writer.append("explanations", {"sample_id": [], "class_idx": [], "gradcam": [], "guided": [],
                                   "guided_gradcam": []})  # the table exists even if every batch failed


def _reduce(writer: CatalogWriter, state: BuildState, config: BuildConfig,
            progress: ProgressFactory) -> dict[int, dict]:
    """One PCA and one t-SNE per perplexity for every layer; identical inputs give identical maps.

    PCA runs here, layer by layer; t-SNE runs in a pool of threads, so layers proceed side by side.
    """
    rows = np.asarray(sorted(state.kept))
    used = resolve_perplexities(tuple(config.perplexities), len(rows))
    bar = progress("reduction", len(state.layers), unit="layer")
    info: dict[int, dict] = {}
    try:
        with tsne_pool(config.workers) as pool:
            pending = []
            previous_x, previous = None, None
            for layer in state.layers:
                x = np.asarray(state.features[layer.layer_id][rows])
                if previous is not None and previous_x.shape == x.shape and np.array_equal(previous_x, x):
                    reduction, maps = previous  # an identity layer: same data, so the same maps
                else:
                    reduction = pca_layer(x)
                    maps = pool.submit(tsne_maps, reduction.features, tsne_perplexities(used), config.seed, 1)
                previous_x, previous = x, (reduction, maps)
                info[layer.layer_id] = {"reduction_dim": x.shape[1], "pca_components": reduction.features.shape[1],
                                        "pca_variance": reduction.variance_kept,
                                        **_separability(reduction.features, [state.dataset.samples[r] for r in rows])}
                pending.append((layer, reduction, maps))
            for layer, reduction, maps in pending:
                reduction.tsne = maps.result()
                writer.save_reference(layer.layer_id, {**reduction.to_arrays(), "sample_id": rows.astype(np.int32)})
                _write_embeddings(writer, layer, rows, reduction, used)
                bar.update(1)
    finally:
        bar.close()
    return info


def _separability(features: np.ndarray, samples: list[Sample]) -> dict[str, float]:
    return {"knn_accuracy": knn_accuracy(features, np.array([s.label_idx for s in samples])),
            "knn_accuracy_group": knn_accuracy(features, np.array([s.group_name for s in samples]))}


def _write_embeddings(writer, layer: LayerInfo, rows: np.ndarray, reduction, used: dict[float, float]) -> None:
    n = len(rows)
    maps = [("pca", None, None, reduction.pca2)]
    maps += [("tsne", used[p], p, reduction.tsne[used[p]]) for p in used]
    writer.append("embeddings", {
        "sample_id": np.tile(rows.astype(np.int32), len(maps)),
        "layer_id": np.full(n * len(maps), layer.layer_id, np.int32),
        "method": [m for m, *_ in maps for _ in range(n)],
        "perplexity": [p for _, p, _, _ in maps for _ in range(n)],
        "perplexity_requested": [r for _, _, r, _ in maps for _ in range(n)],
        "x": np.concatenate([c[:, 0] for *_, c in maps]), "y": np.concatenate([c[:, 1] for *_, c in maps]),
    })


def _layer_rows(layers: list[LayerInfo], reductions: dict[int, dict]) -> dict[str, list]:
    columns = ("layer_id", "position", "name", "kind", "channels", "height", "width", "params",
               "module_type", "identity")
    rows = {c: [layer.as_row()[c] for layer in layers] for c in columns}
    for extra in ("reduction_dim", "pca_components", "pca_variance"):
        rows[extra] = [reductions[layer.layer_id][extra] for layer in layers]
    return rows


def _manifest(config: BuildConfig, state: BuildState, reductions: dict[int, dict]) -> dict:
    n = len(state.kept)
    used = resolve_perplexities(tuple(config.perplexities), n)
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": state.loaded.name, "display_name": state.loaded.display_name,
                  "label": state.loaded.label, "weights": state.loaded.weights,
                  "trained": state.loaded.trained, "preprocess": state.loaded.preprocess.as_dict()},
        "dataset": {"name": state.dataset.name, "source": state.dataset.source, "spec": config.dataset,
                    "requested_samples": config.samples, "seed": config.seed,
                    "classes": len(state.dataset.class_wnids)},
        "n_samples": n,
        "n_skipped": len(state.skipped),
        "skipped": [{"key": s.key, "path": str(s.path), "reason": r} for s, r in state.skipped],
        "top1_accuracy": state.correct / n if n else None,
        "n_layers": len(state.layers),
        "layers": [layer.name for layer in state.layers],
        "perplexities": {"requested": list(config.perplexities), "used": {f"{k:g}": v for k, v in used.items()},
                         "max_for_n": max_perplexity(n)},
        "explanations": {"target_layer": state.target_layer},
        "stage_seconds": state.times,
        "device": config.device,
        "machine": {"platform": platform.platform(), "processor": platform.machine(),
                    "torch_threads": torch.get_num_threads()},
        "packages": versions,
    }


def summary_lines(path: Path, manifest: dict) -> list[str]:
    """The closing summary printed by the command line."""
    times = manifest["stage_seconds"]
    lines = [
        f"catalog: {path}",
        f"model: {manifest['model']['label']} ({manifest['model']['weights']})",
        f"dataset: {manifest['dataset']['name']}: {manifest['n_samples']} samples, "
        f"{manifest['n_skipped']} skipped, {manifest['n_layers']} layers",
        f"top-1 accuracy: {manifest['top1_accuracy']:.1%}",
        "perplexities used: " + ", ".join(f"{k} -> {v:g}" for k, v in manifest["perplexities"]["used"].items()),
        "time: " + ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in times.items()),
    ]
    lines += [f"skipped {s['path']}: {s['reason']}" for s in manifest["skipped"]]
    return lines
