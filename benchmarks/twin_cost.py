"""What an explanation's twin of the shared model costs (`core.twins`): resident memory and time to make
one, against a full `copy.deepcopy`, and the peak memory of one Grad-CAM on the shared model (whose
parameters take weight gradients) against one on a twin (frozen aliases: none).

    python -m benchmarks.twin_cost                                  # EfficientNet-Lite0, real weights
    python -m benchmarks.twin_cost --model vgg16 --weights random

Each Grad-CAM runs in a process of its own, so its peak (ru_maxrss) is not the deep copy's.
"""
from __future__ import annotations

import argparse
import copy
import gc
import os
import resource
import subprocess
import sys
import time

MB = 2 ** 20


def _resident_mb() -> float:
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _loaded(model: str, weights: str):
    import torch

    from core.explain import default_target_layer
    from core.models import load_model
    torch.set_num_threads(1)
    net = load_model(model, weights).model
    return net, default_target_layer(net)


def copies(model: str, weights: str) -> None:
    from core import twins
    net, _ = _loaded(model, weights)
    tensors = [*net.parameters(), *net.buffers()]
    print(f"{model} ({weights}): weights and buffers {sum(t.numel() * t.element_size() for t in tensors) / MB:.1f} MB")
    base = _resident_mb()
    start = time.perf_counter()
    twin = twins.aliased_copy(net)
    made = time.perf_counter() - start
    after_twin = _resident_mb()
    start = time.perf_counter()
    full = copy.deepcopy(net)
    copied = time.perf_counter() - start
    print(f"  twin: +{after_twin - base:.1f} MB resident, {made * 1000:.0f} ms")
    print(f"  deep copy: +{_resident_mb() - after_twin:.1f} MB resident, {copied * 1000:.0f} ms")
    del twin, full


def gradcam_peak(model: str, weights: str, on: str) -> None:
    import torch

    from core import twins
    from core.layer_cams import layer_cams
    net, target = _loaded(model, weights)
    twin = twins.aliased_copy(net)
    image = torch.randn(3, 224, 224, generator=torch.Generator().manual_seed(0))
    before = _peak_mb()
    if on == "twin":
        layer_cams(twin, twins.counterpart(net, twin, target), image, 1, ["gradcam"])
    else:
        layer_cams(net, target, image, 1, ["gradcam"])
    print(f"  Grad-CAM on the {on}: peak {_peak_mb():.0f} MB, {_peak_mb() - before:.0f} MB above the peak before it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--weights", default="default")
    parser.add_argument("--gradcam-on", choices=("shared", "twin"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gradcam_on:
        gradcam_peak(args.model, args.weights, args.gradcam_on)
        return
    copies(args.model, args.weights)
    for on in ("shared", "twin"):
        subprocess.run([sys.executable, "-m", "benchmarks.twin_cost", "--model", args.model,
                        "--weights", args.weights, "--gradcam-on", on], check=True)


if __name__ == "__main__":
    main()
