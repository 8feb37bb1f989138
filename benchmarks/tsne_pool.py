"""Is running t-SNE for separate layers side by side worth it? Inline vs a thread pool, side by side.

    python -m benchmarks.tsne_pool --catalog catalogs/efficientnet_lite0-sample-all [--layers 8]

Takes the stored PCA features of the first layers of a catalog and runs openTSNE at 10, 30 and 90 for
each: once inline (openTSNE n_jobs=1 and 2) and once in the builder's pool (one thread per core),
alternating A/B/A/B so that a noisy machine affects both alike. Prints seconds per round.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import catalog
from core.reduce import available_cores, tsne_maps, tsne_pool


def timed(features: list, perplexities: list[float], workers: int, n_jobs: int) -> float:
    start = time.perf_counter()
    with tsne_pool(workers) as pool:
        jobs = [pool.submit(tsne_maps, f, perplexities, 0, n_jobs) for f in features]
        for job in jobs:
            job.result()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    manifest = catalog.load_manifest(args.catalog)
    features = [catalog.load_reference(args.catalog, i).features for i in range(args.layers)]
    perplexities = sorted(set(manifest["perplexities"]["used"].values()), reverse=True)
    cores = available_cores()
    print(f"{len(features)} layers x {len(features[0])} samples, perplexities {perplexities}, {cores} cores")
    setups = {"inline, n_jobs=1": (1, 1), "inline, n_jobs=2": (1, 2), f"{cores} threads, n_jobs=1": (cores, 1)}
    results: dict[str, list[float]] = {name: [] for name in setups}
    for _ in range(args.rounds):
        for name, (workers, n_jobs) in setups.items():
            results[name].append(timed(features, perplexities, workers, n_jobs))
    for name, seconds in results.items():
        print(f"{name:24s} " + "  ".join(f"{s:6.2f}s" for s in seconds) + f"   best {min(seconds):.2f}s")


if __name__ == "__main__":
    main()
