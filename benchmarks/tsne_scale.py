"""t-SNE at full scale: which gradient method and how many iterations, for cost and for the maps' quality.

    python -m benchmarks.tsne_scale [--n 7000] [--setups bh-500,fft-500,fft-250] [--catalog DIR --layer 5]
    python -m benchmarks.tsne_scale --catalog DIR --all-layers [--layers 3,13,23,33] --setups fft-250-250,fft-150-125

One layer's reduction is openTSNE at perplexities 90, 30 and 10 sharing one kNN graph
(`core.reduce.tsne_maps`). This runs that for two layers side by side in the builder's pool (one
single-threaded openTSNE per core, both cores busy, as in a build) under each setup, and reports per
setup the seconds per layer (the wall time of the pair, halved; and CPU time per layer, which other
load on the machine sways less) and, per perplexity, the maps' quality:

- kNN preservation: the share of each point's 10 nearest neighbours in the 50-d input that are among
  its 10 nearest in the map (1 = every neighbourhood kept);
- class separability: leave-one-out 10-NN accuracy of the labels in the map (`core.separability`),
  beside the same in the input.

Setups are `<method>-<n_iter>[-<early>]`: `bh` Barnes-Hut or `fft` interpolation gradients, `n_iter`
iterations after `early` early-exaggeration ones (default: what `core.reduce.tsne_settings` chooses for
N: 125 then 150). The input is, by default, a synthetic stand-in for a CNN layer's PCA
features at 7000 samples (`synthetic`: up to 800 classes of ~9 neighbours each, as seed_scale's augmented
copies of the 800 sample images, classes grouped in 40 clusters, a decaying variance spectrum like
PCA's); `--catalog` takes a built catalog's stored PCA features of one layer instead.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from core.reduce import tsne_maps, tsne_pool
from core.separability import knn_accuracy, neighbour_preservation

K = 10


def synthetic(n: int, dims: int = 50, classes: int = 800, groups: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clustered stand-in for a layer's PCA features: (n, dims) float32 and a class label per row."""
    rng = np.random.default_rng(seed)
    spectrum = 1.0 / np.sqrt(np.arange(1, dims + 1))  # component i's spread ~ i^-1/2, variance ~ 1/i
    group_centres = rng.normal(size=(groups, dims)) * spectrum * 4
    class_centres = group_centres[rng.integers(groups, size=classes)] + rng.normal(size=(classes, dims)) * spectrum * 2
    labels = np.arange(n) % classes
    x = class_centres[labels] + rng.normal(size=(n, dims)) * spectrum
    return x.astype(np.float32), labels


def from_catalog(folder: Path, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """One layer's stored PCA features and each row's class, from a built catalog."""
    import pandas as pd

    import catalog
    from catalog.layout import table_files

    reference = catalog.load_reference(folder, layer)
    samples = pd.concat([pd.read_parquet(f) for f in table_files(folder, "samples")]).set_index("sample_id")
    labels = samples.loc[np.asarray(reference.sample_id), "label_idx"].to_numpy()
    return np.asarray(reference.features, np.float32), labels


def run(features: list[np.ndarray], setup: str, perplexities: list[float],
        workers: int | None = None) -> tuple[float, float, list[dict]]:
    """Wall and CPU seconds (all threads) of the layers side by side (`workers` at once, default all),
    and their maps. A setup is `<method>-<n_iter>[-<early-exaggeration iterations>]`."""
    method, n_iter, *early = setup.split("-")
    early_iter = int(early[0]) if early else None
    start, cpu = time.perf_counter(), time.process_time()
    with tsne_pool(workers or len(features)) as pool:
        jobs = [pool.submit(tsne_maps, f, perplexities, 0, 1, method, int(n_iter), early_iter) for f in features]
        maps = [job.result() for job in jobs]
    return time.perf_counter() - start, time.process_time() - cpu, maps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=7000)
    parser.add_argument("--setups", default="bh-500,fft-500,fft-250")
    parser.add_argument("--perplexities", default="90,30,10")
    parser.add_argument("--catalog", type=Path, default=None)
    parser.add_argument("--layer", type=int, default=5)
    parser.add_argument("--all-layers", action="store_true",
                        help="with --catalog: every layer, two at a time as a build runs them; totals and means")
    parser.add_argument("--layers", default=None,
                        help="with --all-layers: only these layer ids (comma-separated), e.g. 3,13,23,33")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    perplexities = sorted((float(p) for p in args.perplexities.split(",")), reverse=True)
    if args.catalog and args.all_layers:
        chosen = [int(layer) for layer in args.layers.split(",")] if args.layers else None
        return every_layer(args.catalog, args.setups.split(","), perplexities, args.json, chosen)
    if args.catalog:
        x, labels = from_catalog(args.catalog, args.layer)
        source = f"{args.catalog.name} layer {args.layer}"
    else:
        x, labels = synthetic(args.n, classes=min(800, max(2, args.n // 9)))
        source = "synthetic"
    pair = [x, x[::-1].copy()]  # two layers' worth of work, both cores busy
    print(f"{source}: {x.shape[0]} x {x.shape[1]}, perplexities {perplexities}; input class 10-NN accuracy "
          f"{knn_accuracy(x, labels):.3f}", flush=True)
    results = []
    for setup in args.setups.split(","):
        seconds, cpu, maps = run(pair, setup, perplexities)
        row = {"setup": setup, "seconds_per_layer": round(seconds / len(pair), 1), "seconds_pair": round(seconds, 1),
               "cpu_seconds_per_layer": round(cpu / len(pair), 1)}
        for p in perplexities:
            y = maps[0][p]
            row[f"p{p:g}"] = {"knn_preservation": round(neighbour_preservation(x, y), 3),
                              "class_knn": round(knn_accuracy(y, labels), 3)}
        results.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"source": source, "n": len(x), "results": results}, indent=2))


def every_layer(folder: Path, setups: list[str], perplexities: list[float], json_path: Path | None,
                only: list[int] | None = None) -> None:
    """Each setup on all of a catalog's layers, or `only` those (two at a time, as a build runs them):
    wall and CPU seconds in all, and kNN preservation per layer and perplexity (mean and worst)."""
    import catalog

    layers = [row[0] for row in catalog.open(folder).execute("SELECT layer_id FROM layers ORDER BY layer_id").fetchall()]
    if only:
        missing = sorted(set(only) - set(layers))
        if missing:
            raise SystemExit(f"{folder.name} has no layer {missing[0]} (its layers: {layers[0]}-{layers[-1]})")
        layers = [layer for layer in layers if layer in only]
    inputs = [from_catalog(folder, layer)[0] for layer in layers]
    print(f"{folder.name}: {len(layers)} layers, {len(inputs[0])} samples, perplexities {perplexities}", flush=True)
    results = []
    for setup in setups:
        seconds, cpu, maps = run(inputs, setup, perplexities, workers=2)
        kept = [neighbour_preservation(x, m[p]) for x, m in zip(inputs, maps) for p in perplexities]
        row = {"setup": setup, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
               "knn_preservation_mean": round(float(np.mean(kept)), 4), "knn_preservation": [round(k, 4) for k in kept]}
        results.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "knn_preservation"}), flush=True)
    base = np.asarray(results[0]["knn_preservation"])
    for row in results[1:]:
        print(f"{row['setup']} against {results[0]['setup']}: worst layer and perplexity "
              f"{float((np.asarray(row['knn_preservation']) - base).min()):+.4f}", flush=True)
    if json_path:
        json_path.write_text(json.dumps({"source": folder.name, "layers": layers, "results": results}, indent=2))


if __name__ == "__main__":
    main()
