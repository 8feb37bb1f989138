"""What the map pictures cost a build: each sample's thumbnail (`core.thumbnails.thumbnail`, made from
the model view in the one pass's encoding thread) and the clusters stage (`core.clusters.cluster_maps`
on every layer's PCA plane and t-SNE maps), in wall and CPU seconds.

    python -m benchmarks.pictures_cost --catalog catalogs/efficientnet_lite0-sample-all [--rounds 3]
    python -m benchmarks.pictures_cost --n 50000 [--rounds 1]

With --catalog: the catalog's own images (its stored 224 px views) and maps; with --n: one synthetic
map of n points in 100 Gaussian clusters, clustered as one layer's four maps would be.
"""
from __future__ import annotations

import argparse
import io
import json
import time

import numpy as np
from PIL import Image

from core.clusters import cluster_maps
from core.thumbnails import thumbnail


def _timed(work) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return round(time.perf_counter() - wall, 3), round(time.process_time() - cpu, 3)


def from_catalog(path: str, rounds: int) -> dict:
    import catalog
    from catalog import queries
    con = catalog.open(path)
    views = [Image.open(io.BytesIO(bytes(b))) for (b,) in con.execute("SELECT image FROM images").fetchall()]
    for view in views:
        view.load()
    samples = queries.samples(con).set_index("sample_id")
    labels_by_id = samples["group_name"] if samples["label_idx"].value_counts().max() < 2 else samples["label_name"]
    references = [catalog.load_reference(path, int(layer_id)) for layer_id in queries.layers(con)["layer_id"]]

    def clusters():
        for ref in references:
            cluster_maps(ref.features[:, :2], ref.tsne, labels_by_id.loc[ref.sample_id].tolist())

    return {"catalog": path, "samples": len(views), "layers": len(references),
            "thumbnails": [_timed(lambda: [thumbnail(v) for v in views]) for _ in range(rounds)],
            "clusters": [_timed(clusters) for _ in range(rounds)]}


def synthetic(n: int, rounds: int) -> dict:
    rng = np.random.default_rng(0)
    centres = rng.uniform(-100, 100, (100, 2))
    truth = rng.integers(100, size=n)
    xy = centres[truth] + rng.normal(size=(n, 2)) * 4
    labels = [str(t) for t in truth]
    maps = {10.0: xy, 30.0: xy * 0.8, 90.0: xy * 0.6}
    return {"n": n, "clusters_one_layer": [_timed(lambda: cluster_maps(xy, maps, labels)) for _ in range(rounds)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog")
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = from_catalog(args.catalog, args.rounds) if args.catalog else synthetic(args.n, args.rounds)
    print(json.dumps(result))  # each timing is [wall s, CPU s]


if __name__ == "__main__":
    main()
