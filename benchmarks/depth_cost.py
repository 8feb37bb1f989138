"""What the depth tables cost a build: each layer's separability with its votes (one neighbour search,
class and group votes; `builder.batch.separability`) and the depth stage (`builder.batch.depth_tables`:
settling, trajectories, every pair's CKA), in wall and CPU seconds, per layer and per sample-layer.

    python -m benchmarks.depth_cost --catalog catalogs/efficientnet_lite0-sample-all
    python -m benchmarks.depth_cost --n 1000 --layers 41 --classes 10 [--rounds 3]

With --catalog it uses the catalog's stored PCA features and labels (its predictions as the model's
answers); otherwise `benchmarks.tsne_scale.synthetic` features of 50 dimensions (VGG16 at 1000 Imagenette
images: 41 layers, 10 classes). Run from an export of an older commit, it times that commit's
`separability` alone (it has no `depth_tables`), so before and after can run side by side.
"""
from __future__ import annotations

import argparse
import json
import time
from types import SimpleNamespace

import numpy as np

from builder import batch
from core.datasets import Sample
from core.imagenet import by_index, group_of


def _from_catalog(path: str):
    """Read with pyarrow, not catalog.open, so a catalog of an older schema serves both sides."""
    import pyarrow.parquet as pq

    import catalog
    layer_ids = pq.read_table(f"{path}/layers.parquet").to_pandas().sort_values("position")["layer_id"].tolist()
    samples = pq.read_table(f"{path}/samples.parquet").to_pandas().sort_values("sample_id")
    predictions = pq.read_table(f"{path}/predictions.parquet").to_pandas()
    top1 = dict(predictions[predictions["rank"] == 1][["sample_id", "class_idx"]].to_numpy())
    ids = samples["sample_id"].to_numpy()
    features = []
    for layer_id in layer_ids:
        reference = catalog.load_reference(path, layer_id)
        row_of = {int(s): i for i, s in enumerate(reference["sample_id"])}
        features.append(reference["features"][[row_of[int(s)] for s in ids]])
    return features, samples["label_idx"].tolist(), [int(top1[int(s)]) for s in ids]


def _synthetic(n: int, layers: int, classes: int):
    from benchmarks.tsne_scale import synthetic
    imagenette = [0, 217, 482, 491, 497, 566, 569, 571, 574, 701]  # Imagenette's ImageNet indices
    chosen = (imagenette * (classes // len(imagenette) + 1))[:classes]
    features, labels = [], None
    for layer in range(layers):
        x, labels = synthetic(n, classes=classes, groups=max(1, classes // 3), seed=layer)
        features.append(x)
    label_idx = [chosen[c] for c in labels]
    rng = np.random.default_rng(0)
    top1 = [c if rng.random() > 0.1 else chosen[rng.integers(classes)] for c in label_idx]
    return features, label_idx, top1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=None)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--layers", type=int, default=41)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    features, label_idx, top1 = (_from_catalog(args.catalog) if args.catalog
                                 else _synthetic(args.n, args.layers, args.classes))
    n, layers = len(label_idx), len(features)
    samples = [Sample(f"s{i:05d}", None, by_index(c).wnid, c, by_index(c).name, 0, group_of(c))
               for i, c in enumerate(label_idx)]
    state = SimpleNamespace(kept=list(range(n)), dataset=SimpleNamespace(samples=samples),
                            top1=dict(enumerate(top1)), layers=[SimpleNamespace(layer_id=i) for i in range(layers)])
    for round_ in range(args.rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        info = {i: {**batch.separability(x, samples), "features": x} for i, x in enumerate(features)}
        separability = (time.perf_counter() - wall, time.process_time() - cpu)
        depth = (0.0, 0.0)
        if hasattr(batch, "depth_tables"):
            wall, cpu = time.perf_counter(), time.process_time()
            batch.depth_tables(state, info)
            depth = (time.perf_counter() - wall, time.process_time() - cpu)
        print(json.dumps({"round": round_, "n": n, "layers": layers,
                          "separability_wall_s": round(separability[0], 3),
                          "separability_cpu_s": round(separability[1], 3),
                          "depth_wall_s": round(depth[0], 3), "depth_cpu_s": round(depth[1], 3),
                          "depth_cpu_us_per_sample_layer": round(1e6 * depth[1] / (n * layers), 2)}))


if __name__ == "__main__":
    main()
