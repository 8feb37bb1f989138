"""What explanations at a layer cost, warm model: each grad-cam package method at one layer, Score-CAM
with its progress, faithfulness of all fast methods (+ random) for one sample, and the concepts.

Beside LayerScope's calls, `--plain` times the package called directly, the way a script would (EigenCAM
with numpy's default BLAS threads; ROADCombined's two averages and the confidence change in turn, the
noise from torch's global generator, the garbage collector on) at `--plain-percentiles` (20, 50, 80 by
default), and ours at those thresholds too, alternating round by round, so the ratios hold even on a
loaded host.

    python -m benchmarks.layer_cams                                   # EfficientNet-Lite0, real weights
    python -m benchmarks.layer_cams --plain --scorecam-batches 2     # with the direct-call baselines
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

import numpy as np
import torch
from PIL import Image
from pytorch_grad_cam import EigenCAM
from pytorch_grad_cam.metrics.cam_mult_image import CamMultImageConfidenceChange
from pytorch_grad_cam.metrics.road import ROADCombined
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget, ClassifierOutputTarget

from core import explain
from core.concepts import concepts
from core.datasets import SAMPLE_DIR
from core.faithfulness import ROAD_PERCENTILES, faithfulness, random_map
from core.layer_cams import FAST_METHODS, Cancelled, as_batch, layer_cams, predicted_class
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


def _plain_eigencam(model, target, x, klass) -> None:
    """The package's EigenCAM called directly, numpy's BLAS threads as they are."""
    cam = EigenCAM(model, [target])
    try:
        cam(input_tensor=as_batch(x), targets=[ClassifierOutputTarget(klass)])
    finally:
        cam.activations_and_grads.release()


def _plain_faithfulness(model, x, klass, maps, layer_size, percentiles) -> None:
    """The package's metrics called directly on the same maps (+ the same random map): ROADCombined's
    two averages one after the other, then the confidence change."""
    batch = as_batch(x)
    cams = np.stack([*maps.values(), random_map(tuple(batch.shape[-2:]), layer_size)])
    inputs = batch.expand(len(cams), -1, -1, -1).contiguous()
    targets = [ClassifierOutputSoftmaxTarget(klass)] * len(cams)
    with torch.no_grad():
        CamMultImageConfidenceChange()(inputs, cams, targets, model)
        ROADCombined(percentiles=list(percentiles))(inputs, cams, targets, model)


def _alternate(calls: dict, rounds: int) -> dict[str, float]:
    """Best of `rounds` seconds for each call, run in turn round by round, and its CPU seconds (all the
    process's threads) in that best round as `NAME_cpu`, which a loaded host inflates less."""
    best = {name: (float("inf"), 0.0) for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start, cpu = time.perf_counter(), time.process_time()
            call()
            best[name] = min(best[name], (time.perf_counter() - start, time.process_time() - cpu))
    return {key: round(value, 3) for name, (seconds, cpu) in best.items()
            for key, value in ((name, seconds), (f"{name}_cpu", cpu))}


def run(model: str, weights: str, layer: str | None, image: str, rounds: int,
        scorecam_batches: int | None = None, plain: bool = False, faithfulness_rounds: int = 1,
        plain_percentiles: tuple[int, ...] = (20, 50, 80)) -> dict:
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
    if plain:
        _plain_eigencam(loaded.model, modules[layer], x, klass)  # warm-up
        figures["seconds"].update(_alternate({
            "eigencam_ours": lambda: layer_cams(loaded.model, modules[layer], x, klass, ["eigencam"]),
            "eigencam_package_direct": lambda: _plain_eigencam(loaded.model, modules[layer], x, klass)}, rounds))
    figures.update(_scorecam(loaded.model, modules[layer], x, klass, scorecam_batches))
    size = (info.height, info.width)

    def ours_faithfulness(percentiles=ROAD_PERCENTILES) -> None:
        faithfulness(loaded.model, x, klass, maps, layer_size=size, percentiles=percentiles)

    if plain:
        figures["road_percentiles"], figures["plain_percentiles"] = list(ROAD_PERCENTILES), list(plain_percentiles)
        figures["seconds"].update(_alternate({
            "faithfulness_all_fast_plus_random": ours_faithfulness,
            "faithfulness_ours_at_plain_percentiles": lambda: ours_faithfulness(plain_percentiles),
            "faithfulness_package_direct": lambda: _plain_faithfulness(loaded.model, x, klass, maps, size,
                                                                       plain_percentiles)}, faithfulness_rounds))
    else:
        start = time.perf_counter()
        ours_faithfulness()
        figures["seconds"]["faithfulness_all_fast_plus_random"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    concepts(loaded.model, modules[layer], x, 4)
    figures["seconds"]["concepts_4"] = round(time.perf_counter() - start, 3)
    figures["load_after"] = os.getloadavg()[0]
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
    parser.add_argument("--plain", action="store_true",
                        help="also time the package called directly (EigenCAM, the metrics), alternating with ours")
    parser.add_argument("--plain-percentiles", default="20,50,80",
                        help="ROAD thresholds of the direct call (and of ours beside it), comma-separated")
    parser.add_argument("--faithfulness-rounds", type=int, default=1,
                        help="rounds of faithfulness (each alternation with --plain)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    figures = run(args.model, args.weights, args.layer, args.image, args.rounds, args.scorecam_batches,
                  args.plain, args.faithfulness_rounds, tuple(int(p) for p in args.plain_percentiles.split(",")))
    print(json.dumps(figures, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=1)


if __name__ == "__main__":
    main()
