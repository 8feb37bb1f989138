"""Benchmark the batch builder: images/s of the one pass, and whole-build time per stage.

    python -m benchmarks.build_speed [--samples 100,800] [--models efficientnet_lite0,vgg16]

Runs each (model, N) as a real build on ../shared/data/imagenet-sample (800 ImageNet images) into a
temporary folder, one after another in this process, and prints a Markdown table for
docs/PERFORMANCE.md. EfficientNet-Lite0 uses its real weights, VGG16 random ones (structure and
speed only). Numbers from one run are comparable with each other; runs on a busy machine are not.
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

import torch

from builder import BuildConfig, NoProgress, build_catalog

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "imagenet-sample"
WEIGHTS = {"efficientnet_lite0": "default", "vgg16": "random"}


def run(model: str, n: int, data: Path, workdir: Path) -> dict:
    config = BuildConfig(model=model, weights=WEIGHTS.get(model, "default"), dataset=str(data), samples=n,
                         out=workdir / f"{model}-{n}")
    _, manifest = build_catalog(config, progress=NoProgress, log=lambda _: None)
    times = manifest["stage_seconds"]
    return {"label": manifest["model"]["label"], "n": manifest["n_samples"], "layers": manifest["n_layers"],
            "one_pass_img_s": manifest["n_samples"] / times["one_pass"],
            "explain_img_s": manifest["n_samples"] / times["explanations"], "seconds": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", default="100,800")
    parser.add_argument("--models", default="efficientnet_lite0,vgg16")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for model in args.models.split(","):
            for n in (int(s) for s in args.samples.split(",")):
                results.append(run(model, n, args.data, Path(workdir)))
                print(json.dumps(results[-1]), flush=True)
    print(f"\nMachine: {platform.platform()}, {torch.get_num_threads()} torch threads, "
          f"{torch.__version__}\n")
    print("| model | N | layers | one pass img/s | explain img/s | one pass s | explanations s | reduction s | total s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        t = r["seconds"]
        print(f"| {r['label']} | {r['n']} | {r['layers']} | {r['one_pass_img_s']:.1f} | {r['explain_img_s']:.1f} | "
              f"{t['one_pass']:.1f} | {t['explanations']:.1f} | {t['reduction']:.1f} | {t['total']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
