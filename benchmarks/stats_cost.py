"""What the channel statistics of every map of a model cost, in plain forwards, quiet and beside a helper.

    python -m benchmarks.stats_cost [--model vgg16] [--batch 9] [--rounds 4] [--helper none|plain|lowest]

Keeps every map of one forward (the builder's batch size for VGG16, channels-last as core.models loads
the model), then times `core.stats.channel_stats` over all of them, round by round beside a plain
forward of the same batch. `--helper` runs a thread that encodes WebP pictures without pause, as the
builder's decoding and encoding threads do, at normal priority (`plain`) or at the lowest
(`lowest`, builder/threads.py): torch's OpenMP threads wait for each other at the end of every
operation, so a helper that takes a core's turn stalls them.
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import threading
import time

import numpy as np
import torch
from PIL import Image

from builder.threads import lower_this_thread
from core.layers import trace_layers
from core.models import load_model
from core.stats import channel_stats


def keep_maps(model: torch.nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
    layers, modules = trace_layers(model, images.shape[-1])
    maps: list[torch.Tensor] = []
    handles = [modules[layer.name].register_forward_hook(lambda _m, _i, out: maps.append(out))
               for layer in layers if layer.name in modules and layer.is_map]
    try:
        with torch.no_grad():
            model(images)
    finally:
        for handle in handles:
            handle.remove()
    return maps


def encode_forever(stop: threading.Event, lowest: bool) -> None:
    if lowest:
        lower_this_thread()
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (224, 224, 3), dtype=np.uint8))
    while not stop.is_set():
        picture.save(io.BytesIO(), "WEBP", quality=90)


def seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vgg16")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--batch", type=int, default=9)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--helper", choices=["none", "plain", "lowest"], default="none")
    args = parser.parse_args()
    loaded = load_model(args.model, args.weights, "cpu")
    crop = loaded.preprocess.crop
    images = torch.randn(args.batch, 3, crop, crop, generator=torch.Generator().manual_seed(0))
    maps = keep_maps(loaded.model, images)

    def plain() -> None:
        with torch.no_grad():
            loaded.model(images)

    def all_stats() -> None:
        for activation in maps:
            channel_stats(activation)

    all_stats()
    stop = threading.Event()
    helper = None
    if args.helper != "none":
        helper = threading.Thread(target=encode_forever, args=(stop, args.helper == "lowest"), daemon=True)
        helper.start()
    try:
        rounds = []
        for _ in range(args.rounds):
            floor, cost = seconds(plain), min(seconds(all_stats) for _ in range(3))
            rounds.append({"floor_s": round(floor, 3), "stats_s": round(cost, 3), "ratio": round(cost / floor, 3)})
            print(json.dumps(rounds[-1]), flush=True)
    finally:
        stop.set()
        if helper is not None:
            helper.join()
    print(json.dumps({"model": loaded.label, "batch": args.batch, "maps": len(maps),
                      "values_millions": round(sum(m.numel() for m in maps) / 1e6, 1), "helper": args.helper,
                      "median_stats_s": statistics.median(r["stats_s"] for r in rounds),
                      "median_ratio": statistics.median(r["ratio"] for r in rounds)}))


if __name__ == "__main__":
    main()
