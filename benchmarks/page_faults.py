"""What freshly mapped memory costs the builder's batches: glibc's defaults against `freed_memory_kept`.

    python -m benchmarks.page_faults [--model vgg16] [--batch 9] [--rounds 3]

Each round times a plain forward and then the builder's batch (one forward, statistics, explanations,
encoding) on the same images, once with glibc's defaults (blocks over 32 MB get a mapping of their
own, faulted in page by page and unmapped when freed) and once inside `builder.memory.freed_memory_kept`
(freed blocks stay in the heap and the next batch reuses them; each round times the second of two
batches, as a build's batches follow one another), alternating in one process, and counts
the minor page faults of each. Ratios are of the builder's batch to the plain forward under the
default, as the builder's own figures are.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import time
from pathlib import Path

import torch

from benchmarks.batch_cost import builder_batch, builder_inputs
from builder.memory import freed_memory_kept

ROOT = Path(__file__).resolve().parents[1]


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def timed(work) -> tuple[float, int]:
    before, start = faults(), time.perf_counter()
    work()
    return time.perf_counter() - start, faults() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vgg16")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--batch", type=int, default=9)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", type=Path, default=ROOT.parent / "shared" / "data" / "imagenet-sample")
    args = parser.parse_args()
    loaded, layers, modules, target, images = builder_inputs(args.model, args.weights, args.images, args.batch)

    def plain() -> None:
        with torch.no_grad():
            loaded.model(images)

    def batch() -> None:
        builder_batch(loaded, layers, modules, target, images)

    settings = {"default": contextlib.nullcontext, "kept": freed_memory_kept}
    results: dict[str, list[dict]] = {name: [] for name in settings}
    for _ in range(args.rounds):
        for name, setting in settings.items():
            floor, _ = timed(plain)
            with setting():
                batch()  # as in a build, the batch before fills the heap (leaving the block empties it)
                seconds, count = timed(batch)
            results[name].append({"floor_s": round(floor, 3), "batch_s": round(seconds, 3),
                                  "ratio": round(seconds / floor, 3), "faults": count})
            print(json.dumps({name: results[name][-1]}), flush=True)
    print(json.dumps({"model": loaded.label, "batch": args.batch, **{
        name: {"median_batch_s": statistics.median(r["batch_s"] for r in rounds),
               "median_ratio": statistics.median(r["ratio"] for r in rounds),
               "median_faults": statistics.median(r["faults"] for r in rounds)}
        for name, rounds in results.items()}}))


if __name__ == "__main__":
    main()
