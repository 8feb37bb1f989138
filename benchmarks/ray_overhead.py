"""Benchmark the Ray engine against the local one: the same build, side by side, overhead as a ratio.

    flock /work/bench.lock python -m benchmarks.ray_overhead [--samples 200] [--rounds 2]

Each round builds the same N images of ../shared/data/imagenet-sample with EfficientNet-Lite0 (real
weights) twice, local engine then `--engine ray` (a local Ray cluster started and stopped by the build,
one single-threaded model actor per core), into a temporary folder, and prints wall time and stage
times of each and the ratio ray / local. Rounds alternate so that a change in the machine's load
falls on both engines. Needs requirements-ray.txt.

    python -m benchmarks.ray_overhead --cpu-side [--samples 32]

times instead, on one thread, the CPU-only parts of each image's work in an actor (decoding and
preprocessing; encoding the explanations and the view), for the GPU projection in docs/SCALE.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from builder import BuildConfig, NoProgress, build_catalog

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "imagenet-sample"
STAGES = ("model", "one_pass", "explanations", "reduction", "total")


def run(engine: str, n: int, data: Path, out: Path, address: str | None) -> dict:
    config = BuildConfig(dataset=str(data), samples=n, out=out, engine=engine,
                         ray_address=address if engine == "ray" else None)
    started = time.perf_counter()
    _, manifest = build_catalog(config, progress=NoProgress, log=lambda _: None)
    wall = time.perf_counter() - started  # for Ray: with starting and stopping the cluster
    return {"engine": engine, "n": manifest["n_samples"], "wall": round(wall, 2), **manifest["stage_seconds"]}


def cpu_side(n: int, data: Path) -> dict:
    """Per image, one thread: decode + preprocess, and the encodings, on real Lite0 explanations."""
    from builder.batch import VIEW_QUALITY
    from core import explain
    from core.images import load_rgb
    from core.layers import trace_layers
    from core.models import load_model
    from core.onepass import explained_batch
    from core.pictures import jpeg

    torch.set_num_threads(1)
    loaded = load_model("efficientnet_lite0", "default", "cpu")
    layers, modules = trace_layers(loaded.model, loaded.preprocess.crop)
    target = explain.default_target_layer(loaded.model, list(modules), input_size=loaded.preprocess.crop)
    paths = sorted(data.glob("*.jpg"))[:n]
    started = time.perf_counter()
    views = [loaded.preprocess.view(load_rgb(p)) for p in paths]
    images = torch.stack([loaded.preprocess.normalize(v) for v in views])
    decode = (time.perf_counter() - started) / len(paths)
    encode = 0.0
    for start in range(0, len(paths), 16):
        with explained_batch(loaded.model, layers, modules, target, images[start:start + 16]) as (result, maps):
            explanations = maps()
        started = time.perf_counter()
        for i in range(len(result.top_classes)):
            explain.encode(explanations, i)
            jpeg(views[start + i], VIEW_QUALITY)
        encode += time.perf_counter() - started
    return {"images": len(paths), "decode_ms": round(1000 * decode, 1), "encode_ms": round(1000 * encode / len(paths), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--ray-address", default=None, help="an existing cluster (default: start a local one)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--cpu-side", action="store_true", help="time decoding and encoding per image instead")
    args = parser.parse_args()
    if args.cpu_side:
        print(f"load before: {os.getloadavg()}", flush=True)
        print(json.dumps(cpu_side(args.samples, args.data)))
        print(f"load after: {os.getloadavg()}")
        return
    print(f"load before: {os.getloadavg()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for round_ in range(args.rounds):
            for engine in ("local", "ray"):
                result = run(engine, args.samples, args.data, Path(workdir) / f"{engine}-{round_}", args.ray_address)
                results.append({"round": round_, **result})
                print(json.dumps(results[-1]), flush=True)
    print(f"load after: {os.getloadavg()}")
    print(f"\nMachine: {platform.platform()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads "
          f"(local engine); N = {args.samples}, EfficientNet-Lite0\n")
    print("| round | engine | wall s | model s | one pass s | explanations s | reduction s | one pass + expl. img/s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        per_image = r["n"] / (r["one_pass"] + r["explanations"])
        print(f"| {r['round'] + 1} | {r['engine']} | {r['wall']:.1f} | {r['model']:.1f} | {r['one_pass']:.1f} | "
              f"{r['explanations']:.1f} | {r['reduction']:.1f} | {per_image:.2f} |")
    print("\n| ratio ray / local (median of rounds) | wall | per-image stage | reduction |")
    print("|---|---|---|---|")
    ratios = {key: [] for key in ("wall", "image", "reduction")}
    for round_ in range(args.rounds):
        local, ray = (next(r for r in results if r["round"] == round_ and r["engine"] == e) for e in ("local", "ray"))
        ratios["wall"].append(ray["wall"] / local["wall"])
        ratios["image"].append((ray["one_pass"] + ray["explanations"]) / (local["one_pass"] + local["explanations"]))
        ratios["reduction"].append(ray["reduction"] / local["reduction"])
    print("| " + " | ".join([f"N = {args.samples}"] + [
        f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})" for v in ratios.values()]) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
