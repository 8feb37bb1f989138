"""What one batch of the builder's one pass and explanations costs, in plain forwards of the same model.

    python -m benchmarks.batch_cost [--model vgg16] [--weights random] [--batch 16] [--rounds 3]

Each round times a plain forward (no hooks, no grad) and then the builder's per-batch work on the
same images (statistics of every layer, predictions, explanations of the top-1 class, their encoding),
so each round's ratio is taken under the same machine load; the median ratio is printed, of wall time
and of CPU time (all threads of the process; with --threads 1 it is the least sensitive to other load). It runs the
code it finds: `core.onepass.explained_batch` (one forward for everything) where it exists, else the
earlier `run_batch` followed by `core.explain.explain_batch`, so the same script measures an export
of an earlier commit (run it from that folder).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from core import explain, onepass
from core.images import load_rgb
from core.layers import trace_layers
from core.models import load_model

ROOT = Path(__file__).resolve().parents[1]


def builder_batch(loaded, layers, modules, target, images) -> None:
    """The one pass and the explanations of one batch, as the builder of this code runs them."""
    if hasattr(onepass, "explained_batch"):
        with onepass.explained_batch(loaded.model, layers, modules, target, images) as (result, explain_top1):
            maps = explain_top1()
    else:
        result = onepass.run_batch(loaded.model, layers, modules, images)
        maps = explain.explain_batch(loaded.model, target, images, result.top_classes[:, 0])
    for i in range(len(images)):
        explain.encode(maps, i)


def parts(loaded, layers, modules, target, images) -> dict[str, float]:
    """Wall seconds of each part of the builder's batch, cumulatively: the twin's forward alone, with
    the statistics hooks, plus the backward, plus the encoding (differences give each part)."""
    from core.explain import explainable_forward
    out = {}
    start = time.perf_counter()
    with explainable_forward(loaded.model, target, images):
        pass
    out["forward"] = time.perf_counter() - start
    start = time.perf_counter()
    with onepass.explained_batch(loaded.model, layers, modules, target, images) as (result, explain_top1):
        out["forward+stats"] = time.perf_counter() - start
        maps = explain_top1()
    out["+backwards"] = time.perf_counter() - start
    for i in range(len(images)):
        explain.encode(maps, i)
    out["+encoding"] = time.perf_counter() - start
    return out


def builder_inputs(model: str, weights: str, folder: Path, batch: int):
    """What a builder batch needs: the loaded model, its layers and modules, the explanations' target
    layer, and the first `batch` JPEGs of `folder` preprocessed as the builder does."""
    loaded = load_model(model, weights, "cpu")
    layers, modules = trace_layers(loaded.model, loaded.preprocess.crop)
    target = explain.default_target_layer(loaded.model, list(modules), input_size=loaded.preprocess.crop)
    paths = sorted(folder.glob("*.jpg"))[:batch]
    images = torch.stack([loaded.preprocess(load_rgb(p)) for p in paths])
    return loaded, layers, modules, target, images


def seconds(work) -> tuple[float, float]:
    """Wall and CPU seconds (all of this process's threads) of work()."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vgg16")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--images", type=Path, default=ROOT / ".cache" / "seed_scale" / "n64",
                        help="a folder of JPEGs (python -m benchmarks.seed_scale makes one)")
    parser.add_argument("--channels-last", action="store_true",
                        help="model and images in channels-last memory format (the floor too)")
    parser.add_argument("--parts", action="store_true", help="also time the batch's parts, in plain forwards")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    loaded, layers, modules, target, images = builder_inputs(args.model, args.weights, args.images, args.batch)
    if args.channels_last:
        loaded.model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)

    def plain() -> None:
        with torch.no_grad():
            loaded.model(images)

    builder_batch(loaded, layers, modules, target, images[:2])  # warm-up: the twin, first allocations
    plain()
    rounds = []
    for _ in range(args.rounds):
        floor, work = seconds(plain), seconds(lambda: builder_batch(loaded, layers, modules, target, images))
        rounds.append({"floor_s": round(floor[0], 2), "builder_s": round(work[0], 2), "ratio": round(work[0] / floor[0], 2),
                       "floor_cpu_s": round(floor[1], 2), "builder_cpu_s": round(work[1], 2),
                       "cpu_ratio": round(work[1] / floor[1], 2)})
        if args.parts:
            rounds[-1]["parts"] = {k: round(v / floor[0], 2) for k, v in parts(loaded, layers, modules, target, images).items()}
        print(json.dumps(rounds[-1]), flush=True)
    print(json.dumps({"model": loaded.label, "batch": len(images), "threads": torch.get_num_threads(),
                      "channels_last": args.channels_last,
                      "fused": hasattr(onepass, "explained_batch"),
                      "median_ratio": statistics.median(r["ratio"] for r in rounds),
                      "median_cpu_ratio": statistics.median(r["cpu_ratio"] for r in rounds), "rounds": rounds}))


if __name__ == "__main__":
    main()
