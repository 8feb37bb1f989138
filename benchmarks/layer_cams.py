"""What explanations at a layer cost, warm model: each grad-cam package method at one layer, Score-CAM
with its progress, faithfulness of all fast methods (+ random) for one sample, and the concepts.

    python -m benchmarks.layer_cams                                   # EfficientNet-Lite0, real weights
    python -m benchmarks.layer_cams --model vgg16 --weights random --scorecam-batches 3   # VGG16 (timing)
    python -m benchmarks.layer_cams --layer blocks.4.0 --threads 2 --json out.json

The layer is the build's Grad-CAM layer unless `--layer` names another; the image is a bundled sample.
Each method is timed after one warm-up call (the first call of a method builds its autograd graph).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch
from PIL import Image

from core import explain
from core.concepts import concepts
from core.datasets import SAMPLE_DIR
from core.faithfulness import faithfulness
from core.layer_cams import FAST_METHODS, Cancelled, layer_cams, predicted_class
from core.layers import trace_layers
from core.models import load_model


def _scorecam(model, target, x, klass, batches: int | None) -> dict:
    """Score-CAM in full, or stopped (through its `should_stop` hook) after `batches` masked batches and
    extrapolated from their pace: VGG16's 512 channels take minutes on 2 cores."""
    steps: list[tuple[float, int, int]] = []
    start = time.perf_counter()
    stop = (lambda: bool(steps) and steps[-1][1] > batches) if batches else None
    try:
        layer_cams(model, target, x, klass, ["scorecam"],
                   progress=lambda d, t: steps.append((time.perf_counter() - start, d, t)), should_stop=stop)
    except Cancelled:
        seconds, done, total = steps[-1]
        first = next(s for s, d, _ in steps if d >= 1)
        pace = (seconds - first) / max(done - 1, 1)
        return {"scorecam_seconds_estimated": round(first + pace * (total - 1), 1),
                "scorecam_forwards": total, "scorecam_progress_reports": len(steps)}
    return {"scorecam_seconds": round(time.perf_counter() - start, 3), "scorecam_forwards": steps[-1][2],
            "scorecam_progress_reports": len(steps)}


def run(model: str, weights: str, layer: str | None, image: str, rounds: int,
        scorecam_batches: int | None = None) -> dict:
    loaded = load_model(model, weights)
    layers, modules = trace_layers(loaded.model, loaded.preprocess.crop)
    if layer is None:
        target = explain.default_target_layer(loaded.model, list(modules), input_size=loaded.preprocess.crop)
        layer = next(name for name, m in modules.items() if m is target)
    info = next(i for i in layers if i.name == layer)
    x = loaded.preprocess(Image.open(SAMPLE_DIR / image).convert("RGB"))
    klass = predicted_class(loaded.model, x)
    figures: dict = {"model": loaded.label, "layer": layer, "shape": list(info.shape), "image": image,
                     "threads": torch.get_num_threads(), "load": os.getloadavg()[0], "seconds": {}}
    maps = {}
    for name in FAST_METHODS:
        layer_cams(loaded.model, modules[layer], x, klass, [name])  # warm-up
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            maps.update(layer_cams(loaded.model, modules[layer], x, klass, [name]))
            times.append(time.perf_counter() - start)
        figures["seconds"][name] = round(min(times), 3)
    figures.update(_scorecam(loaded.model, modules[layer], x, klass, scorecam_batches))
    start = time.perf_counter()
    faithfulness(loaded.model, x, klass, maps, layer_size=(info.height, info.width))
    figures["seconds"]["faithfulness_all_fast_plus_random"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    concepts(loaded.model, modules[layer], x, 4)
    figures["seconds"]["concepts_4"] = round(time.perf_counter() - start, 3)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.layer_cams", description=__doc__)
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--weights", default="default")
    parser.add_argument("--layer", default=None, help="a layer name (default: the build's Grad-CAM layer)")
    parser.add_argument("--image", default="n01484850_great_white_shark.jpg")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scorecam-batches", type=int, default=None,
                        help="stop Score-CAM after this many masked batches and extrapolate (default: run it all)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    figures = run(args.model, args.weights, args.layer, args.image, args.rounds, args.scorecam_batches)
    print(json.dumps(figures, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=1)


if __name__ == "__main__":
    main()
