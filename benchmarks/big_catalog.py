"""A generated catalog of any size, for browsing the Explorer at scale (50,000 points on 2 cores).

    python -m benchmarks.big_catalog --n 50000 --out /work/cats/big-50k [--classes 100] [--images sample]

A real build of 50,000 images through EfficientNet-Lite0 takes days on 2 CPU cores, so this writes what
such a build would write, through the real writer and row shaping (catalog/writer.py, catalog/rows.py,
catalog/schema.py): the same tables, reference arrays and manifest keys, so the app cannot tell. What is
real: the layer graph (EfficientNet-Lite0 traced by core/layers.py, with its reduction sizes) and the
pictures and their thumbnails (a handful of images of `--images`, each in a few deterministic
augmentations, reused by every sample of its class), and the clusters of every map (core/clusters.py,
named by class). What is generated: the maps (class clusters in coarse-group
neighbourhoods, separating with depth), the predictions, the channel statistics and the explanation
maps (a blob and the image's edges). The manifest says so under "generated".
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image, ImageOps

from catalog import rows
from catalog.schema import SCHEMA_VERSION, TABLES
from catalog.writer import CatalogWriter
from core import imagenet
from core.distance import METRIC as DISTANCE_METRIC
from core.clusters import cluster_maps
from core.pictures import jpeg
from core.reduce import LayerReduction, max_perplexity, resolve_perplexities
from core.separability import K as KNN_K
from core.separability import knn_accuracy
from core.thumbnails import thumbnail

MODEL = "efficientnet_lite0"
VARIANTS = 4  # augmentations per source image: as is, mirrored, and two crops
COMPONENTS = 16  # PCA components kept per layer (a real build keeps up to 50)
CHUNK = 2000  # samples per appended row group
TOP_K = 10
VIEW_QUALITY = 90  # as builder.build stores the model view
SEPARABILITY_SAMPLE = 2000  # the k-NN accuracy is computed on this many samples of each layer


@dataclass
class Source:
    """One real image and its class: what every generated sample of that class shows."""
    sample: object  # core.datasets.Sample
    views: list[bytes]  # JPEG of each augmentation
    explanations: list[dict[str, bytes]]  # encoded maps of each augmentation
    thumbs: list[bytes]  # thumbnail of each augmentation


def model_layers():
    """EfficientNet-Lite0's traced layer graph (random weights: only the structure is used)."""
    from core.layers import trace_layers
    from core.models import load_model
    from core.stats import reduction_input
    import torch

    loaded = load_model(MODEL, "random")
    layers, _ = trace_layers(loaded.model, loaded.preprocess.crop)
    dims = {layer.layer_id: reduction_input(torch.zeros(1, *layer.shape)).shape[1] for layer in layers}
    return loaded, layers, dims


def augmentations(image: Image.Image) -> list[Image.Image]:
    w, h = image.size
    cut = max(1, min(w, h) // 8)
    return [image, ImageOps.mirror(image), image.crop((cut, cut, w, h)), image.crop((0, 0, w - cut, h - cut))]


def synthetic_explanations(view: Image.Image, rng: np.random.Generator) -> dict[str, bytes]:
    """A Grad-CAM-like blob and the view's edges as guided maps, encoded as the builder encodes them."""
    from core.explain import encode
    rgb = np.asarray(view, dtype=np.float32) / 255
    h, w = rgb.shape[:2]
    cy, cx = rng.uniform(0.3, 0.7, 2) * (h, w)
    yy, xx = np.mgrid[0:h, 0:w]
    cam = np.exp(-(((yy - cy) / (0.25 * h)) ** 2 + ((xx - cx) / (0.25 * w)) ** 2)).astype(np.float32)
    guided = np.stack([np.gradient(rgb[..., c], axis=0) + np.gradient(rgb[..., c], axis=1) for c in range(3)], -1)
    expl = SimpleNamespace(gradcam=cam[None], guided=guided[None], guided_gradcam=(guided * cam[..., None])[None])
    return encode(expl, 0)


def sources(images: str, classes: int, preprocess, rng: np.random.Generator) -> tuple[object, list[Source]]:
    from core.datasets import resolve_dataset
    from core.images import load_rgb
    dataset = resolve_dataset(images, progress=False)
    by_class: dict[int, object] = {}
    for sample in dataset.samples:
        by_class.setdefault(sample.label_idx, sample)
    chosen = [by_class[c] for c in sorted(by_class)]
    step = max(1, len(chosen) // classes)
    chosen = chosen[::step][:classes]
    found = []
    for sample in chosen:
        views = [preprocess.view(v) for v in augmentations(load_rgb(sample.path))]
        found.append(Source(sample, [jpeg(v, VIEW_QUALITY) for v in views],
                            [synthetic_explanations(v, rng) for v in views], [thumbnail(v) for v in views]))
    return dataset, found


def class_geometry(labels: np.ndarray, groups: np.ndarray, n_classes: int, n_groups: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions per coarse group and per class (class = near its group), in COMPONENTS dims."""
    group_dirs = rng.normal(size=(n_groups, COMPONENTS))
    class_dirs = group_dirs[groups] + 0.6 * rng.normal(size=(n_classes, COMPONENTS))
    return group_dirs, class_dirs


def layer_maps(depth: float, labels: np.ndarray, shown_as: np.ndarray, class_dirs: np.ndarray,
               used: dict[float, float], rng: np.random.Generator) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """PCA features (N, COMPONENTS) and t-SNE maps per used perplexity for a layer at this depth (0..1):
    clusters by class that separate with depth; wrongly predicted samples lean to the predicted class."""
    n = len(labels)
    separation = 0.4 + 3.0 * depth ** 1.5
    centre = 0.7 * class_dirs[labels] + 0.3 * class_dirs[shown_as]
    features = (separation * centre + rng.normal(size=(n, COMPONENTS))).astype(np.float32)
    order = np.argsort(-features.var(axis=0))
    features = features[:, order]
    plane = np.linalg.qr(np.random.default_rng(1).normal(size=(COMPONENTS, 2)))[0]  # one view for every map
    tsne = {}
    for perplexity in sorted(set(used.values())):
        spread = 0.6 + perplexity / 60
        angle = rng.uniform(0, 2 * np.pi)
        rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        centres2 = (centre @ plane @ rotate) * (8 + 30 * depth)
        tsne[perplexity] = (centres2 + spread * rng.normal(size=(n, 2)) * (3 - 2 * depth)).astype(np.float32)
    return features, tsne


def generate(n: int, out: Path, classes: int = 100, images: str = "sample", seed: int = 0,
             perplexities: tuple[float, ...] = (10, 30, 90), log=print) -> Path:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    loaded, layers, dims = model_layers()
    dataset, found = sources(images, classes, loaded.preprocess, rng)
    k = len(found)
    log(f"{len(layers)} layers of {loaded.display_name}; {k} classes from {dataset.name}")
    # class-major sample ids, as a real build sorts samples by key (wnid first)
    per_class = np.bincount(np.arange(n) % k, minlength=k)
    source_of = np.repeat(np.arange(k), per_class)
    within = np.concatenate([np.arange(c) for c in per_class])
    variant = (within * VARIANTS) // np.maximum(per_class[source_of], 1)  # runs of one augmentation
    ids = np.arange(n, dtype=np.int32)
    label_idx = np.array([s.sample.label_idx for s in found])[source_of]
    group_names = [imagenet.group_of(int(s.sample.label_idx)) for s in found]
    group_index = {g: i for i, g in enumerate(dict.fromkeys(group_names))}
    class_group = np.array([group_index[g] for g in group_names])

    # predictions: right for most, else a class of the same group (or any); top-10 probabilities
    confident = rng.beta(5, 2, n).astype(np.float32)
    wrong = rng.random(n) < 0.18
    same_group = [np.flatnonzero(class_group == class_group[c]) for c in range(k)]
    confusion = np.array([rng.choice(same_group[c]) if rng.random() < 0.6 else rng.integers(k)
                          for c in source_of])
    shown_as = np.where(wrong, confusion, source_of)
    class_labels = np.array([s.sample.label_idx for s in found])
    top = np.empty((n, TOP_K), np.int32)
    top[:, 0] = class_labels[shown_as]
    others = rng.choice(1000, size=(n, TOP_K * 2))
    for i in range(n):
        rest = [int(c) for c in dict.fromkeys(others[i]) if c != top[i, 0]]
        top[i, 1:] = rest[:TOP_K - 1]
    tail = np.sort(rng.dirichlet(np.ones(TOP_K - 1), n), axis=1)[:, ::-1] * (1 - confident[:, None]) * 0.9
    probs = np.concatenate([confident[:, None], tail], axis=1).astype(np.float32)

    writer = CatalogWriter(out)
    try:
        kept = [found[c].sample for c in source_of]
        sample_rows = rows.samples(kept, ids.tolist())
        sample_rows["key"] = [f"{s.key}-aug{v}-{w:05d}" for s, v, w in zip(kept, variant, within)]
        sample_rows["dataset_class"] = source_of.tolist()
        writer.write("samples", sample_rows)
        for start in range(0, n, CHUNK):
            part = slice(start, min(n, start + CHUNK))
            writer.append("predictions", rows.predictions(ids[part], top[part], probs[part]))
            writer.append("images", {"sample_id": ids[part],
                                     "image": [found[c].views[v] for c, v in zip(source_of[part], variant[part])]})
            writer.append("explanations", rows.explanations(
                ids[part].tolist(), top[part, 0].tolist(),
                [found[c].explanations[v] for c, v in zip(source_of[part], variant[part])]))
            writer.append("thumbnails", rows.thumbnails(
                ids[part], [found[c].thumbs[v] for c, v in zip(source_of[part], variant[part])]))
        log(f"samples, predictions, images, explanations: {time.perf_counter() - started:.0f} s")

        used = resolve_perplexities(tuple(perplexities), n)
        _, class_dirs = class_geometry(source_of, class_group, k, len(group_index), rng)
        reductions = {}
        subset = rng.choice(n, min(n, SEPARABILITY_SAMPLE), replace=False)
        cluster_labels = [s.sample.label_name for s in found]
        cluster_labels = [cluster_labels[c] for c in source_of]
        clustering = 0.0
        for layer in layers:
            depth = layer.position / max(1, len(layers) - 1)
            features, tsne = layer_maps(depth, source_of, shown_as, class_dirs, used, rng)
            d = dims[layer.layer_id]
            variance = np.sort(rng.dirichlet(np.ones(COMPONENTS) * 0.5))[::-1].astype(np.float32) * 0.8
            basis, _ = np.linalg.qr(rng.normal(size=(d, COMPONENTS)).astype(np.float32))
            reduction = LayerReduction(np.zeros(d, np.float32), basis.T.copy(), variance, features, tsne)
            writer.save_reference(layer.layer_id, reduction.reference(ids).to_arrays())
            writer.append("embeddings", rows.embeddings(layer.layer_id, ids, reduction, used))
            clock = time.perf_counter()
            named, members = rows.clusters(layer.layer_id, ids, cluster_maps(reduction.pca2, tsne, cluster_labels))
            writer.append("clusters", named)
            writer.append("cluster_members", members)
            clustering += time.perf_counter() - clock
            reductions[layer.layer_id] = {
                "reduction_dim": d, "pca_components": COMPONENTS, "pca_variance": reduction.variance_kept,
                "knn_accuracy": knn_accuracy(features[subset], label_idx[subset]),
                "knn_accuracy_group": knn_accuracy(features[subset], class_group[source_of[subset]])}
            if layer.is_map:
                write_channels(writer, layer, ids, source_of, depth, rng)
        log(f"maps and channel statistics: {time.perf_counter() - started:.0f} s (clusters {clustering:.0f} s)")
        writer.write("layers", rows.layers(layers, reductions))
        writer.write("separability", rows.separability(layers, reductions, KNN_K))
        for name in ("trajectories", "settling", "layer_similarity", "faithfulness"):  # not generated: empty tables
            writer.write(name, TABLES[name].empty_table())
        writer.write("skipped", rows.skipped([]))
        correct = float(np.mean(top[:, 0] == label_idx))
        path = writer.commit(manifest(n, loaded, layers, dataset, k, images, seed, perplexities, used, correct,
                                      round(time.perf_counter() - started, 3)))
    except BaseException:
        writer.abort()
        raise
    log(f"wrote {path} in {time.perf_counter() - started:.0f} s")
    return path


def write_channels(writer: CatalogWriter, layer, ids: np.ndarray, source_of: np.ndarray, depth: float,
                   rng: np.random.Generator) -> None:
    """Per-channel mean, entropy and score: each class drives a few channels harder, more so with depth.
    Values are rounded to half precision (as stored they compress, the way real statistics partly do)."""
    c = layer.channels
    k = int(source_of.max()) + 1
    preferred = rng.random((k, c)) < 0.05
    for start in range(0, len(ids), CHUNK):
        part = slice(start, min(len(ids), start + CHUNK))
        m = len(ids[part])
        mean = np.abs(rng.normal(size=(m, c))) * 0.5 + preferred[source_of[part]] * (0.5 + 2 * depth)
        mean = mean.astype(np.float16).astype(np.float32)
        entropy = rng.uniform(2, 8, (m, c)).astype(np.float16).astype(np.float32)
        score = (mean / (1 + entropy)).astype(np.float16).astype(np.float32)
        summary = SimpleNamespace(mean=mean, entropy=entropy, score=score)
        writer.append("channels", rows.channels(ids[part], [(layer.layer_id, summary)]))


def manifest(n, loaded, layers, dataset, classes, images, seed, perplexities, used, correct, seconds) -> dict:
    """The keys a built catalog's manifest has (builder/manifest.py), plus `generated`."""
    from builder.manifest import package_versions
    return {
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": loaded.name, "display_name": loaded.display_name, "label": loaded.display_name,
                  "weights": "none: generated catalog", "trained": True, "preprocess": loaded.preprocess.as_dict()},
        "dataset": {"name": f"generated-{n}", "source": f"generated from {classes} images of {dataset.name} "
                    f"(benchmarks/big_catalog.py)", "spec": images, "requested_samples": n, "seed": seed,
                    "classes": classes},
        "n_samples": n, "n_skipped": 0, "skipped": [], "top1_accuracy": correct,
        "n_layers": len(layers), "layers": [layer.name for layer in layers],
        "perplexities": {"requested": list(perplexities), "used": {f"{k:g}": v for k, v in used.items()},
                         "max_for_n": max_perplexity(n)},
        "explanations": {"target_layer": "bn2"},
        "separability": {"k": KNN_K, "metric": DISTANCE_METRIC},
        "stage_seconds": {"total": seconds}, "device": "cpu",
        "machine": {}, "packages": package_versions(),
        "generated": {"by": "benchmarks.big_catalog", "maps": "synthetic clusters", "predictions": "synthetic",
                      "channels": "synthetic", "explanations": "synthetic (blob + image edges)",
                      "images": f"{classes} real images x {VARIANTS} augmentations, shared by their class"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--images", default="sample", help="'sample' (data/sample) or a folder of images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--perplexities", default="10,30,90")
    args = parser.parse_args()
    generate(args.n, args.out, args.classes, args.images, args.seed,
             tuple(float(p) for p in args.perplexities.split(",")))


if __name__ == "__main__":
    main()
