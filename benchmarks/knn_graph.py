"""t-SNE's kNN graph at full scale: openTSNE's approximate index against the exact blocks of
`core.neighbors`, in CPU seconds (one BLAS thread, as a layer runs in the builder's pool) and recall.

    python -m benchmarks.knn_graph [--n 7000] [--dims 50] [--perplexity 90] [--rounds 3]

The input is `benchmarks.tsne_scale.synthetic`, the stand-in for a layer's PCA features; k is
openTSNE's for the perplexity (3 x perplexity). Rounds alternate the two searches, so drift in the
machine's load touches both alike. Prints one JSON line per round and a summary line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from openTSNE.nearest_neighbors import Annoy
from threadpoolctl import threadpool_limits

from benchmarks.tsne_scale import synthetic
from core.neighbors import exact_neighbors


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each row's true neighbours that `found` has."""
    return float(np.mean([len(np.intersect1d(a, b)) for a, b in zip(found, truth)]) / truth.shape[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=7000)
    parser.add_argument("--dims", type=int, default=50)
    parser.add_argument("--perplexity", type=float, default=90.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    x, _ = synthetic(args.n, args.dims)
    k = min(args.n - 1, int(3 * args.perplexity))
    seconds: dict[str, list[float]] = {"annoy": [], "exact": []}
    with threadpool_limits(limits=1, user_api="blas"):
        for round_ in range(args.rounds):
            started = time.process_time()
            approximate, _ = Annoy(x, k, random_state=round_).build()
            seconds["annoy"].append(time.process_time() - started)
            started = time.process_time()
            exact, _ = exact_neighbors(x, k)
            seconds["exact"].append(time.process_time() - started)
            print(json.dumps({"round": round_, "annoy_cpu_s": round(seconds["annoy"][-1], 3),
                              "exact_cpu_s": round(seconds["exact"][-1], 3),
                              "annoy_recall": round(recall(approximate, exact), 4)}), flush=True)
    annoy, ours = statistics.median(seconds["annoy"]), statistics.median(seconds["exact"])
    print(f"n={args.n}, dims={args.dims}, k={k}: Annoy {annoy:.2f} CPU-s, exact {ours:.2f} CPU-s "
          f"(median of {args.rounds}), {annoy / ours:.1f}x")


if __name__ == "__main__":
    main()
