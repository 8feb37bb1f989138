"""Full-scale build benchmark: N distinct images, the model's plain-forward floor, a real build.

    python -m benchmarks.seed_scale --n 200 [--model vgg16] [--weights random] [--device cpu]

1. Makes an N-image folder from ../shared/data/imagenet-sample (800 images named <wnid>_<name>.jpg)
   by deterministic augmentation: image i is source i % 800 under a random resized crop, a flip and a
   colour jitter seeded by i, so every image is distinct (never a copy), up to any N. Augmented images
   are cached in .cache/seed_scale/pool/ and hard-linked into .cache/seed_scale/n<N>/.
2. Measures the floor: a plain forward of the same model in this process (batch 16, no hooks, no grad),
   before and after the build, since the machine's load drifts.
3. Builds the catalog with the builder (all layers, the perplexities asked) and prints stage times,
   images/s, the per-image cost of the one pass plus explanations in plain forwards, and peak RSS
   (ru_maxrss of this process, and the largest RSS sampled during the build).

`--weights random` is for speed work where real weights cannot be downloaded; any other value goes
through the same code. Prints one JSON line at the end (also written to --json).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, ImageEnhance, ImageOps

from builder import BuildConfig, NoProgress, build_catalog
from core.images import load_rgb
from core.models import load_model
from harness.rss import RssSampler

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "imagenet-sample"
CACHE = ROOT / ".cache" / "seed_scale"
FLOOR_BATCH = 16


class StageLog:
    """Progress as timestamped lines on stderr, one per tenth of a stage: a long run stays watchable
    through a log file, without a terminal bar's redraws."""

    def __init__(self, desc: str = "", total: int = 0, unit: str = "img"):
        self.desc, self.total, self.unit, self.done, self.start = desc, total, unit, 0, time.perf_counter()
        self._next = max(1, total // 10)
        self._say(f"{desc}: 0/{total} {unit}")

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.done >= self._next or self.done == self.total:
            self._next = self.done + max(1, self.total // 10)
            self._say(f"{self.desc}: {self.done}/{self.total} {self.unit}, {time.perf_counter() - self.start:.0f} s")

    def close(self) -> None:
        pass

    @staticmethod
    def _say(line: str) -> None:
        print(time.strftime("%H:%M:%S"), line, file=sys.stderr, flush=True)


def augment(image: Image.Image, seed: int) -> Image.Image:
    """A random resized crop (45-100 % of the area), a coin-flip mirror and a colour jitter, all from `seed`."""
    rng = random.Random(seed)
    width, height = image.size
    scale, aspect = rng.uniform(0.45, 1.0), rng.uniform(3 / 4, 4 / 3)
    crop_w = min(width, round((scale * width * height * aspect) ** 0.5))
    crop_h = min(height, round((scale * width * height / aspect) ** 0.5))
    left, top = rng.randint(0, width - crop_w), rng.randint(0, height - crop_h)
    image = image.crop((left, top, left + crop_w, top + crop_h))
    if rng.random() < 0.5:
        image = ImageOps.mirror(image)
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        image = enhancer(image).enhance(rng.uniform(0.7, 1.3))
    return image


def pool_image(sources: list[Path], i: int) -> Path:
    """Augmented image i, made once and kept: <wnid>_<name>_a<i>.jpg, so the folder loader finds the class."""
    source = sources[i % len(sources)]
    path = CACHE / "pool" / f"{source.stem}_a{i:05d}.jpg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        augment(load_rgb(source), seed=i).save(partial, format="JPEG", quality=90)
        partial.rename(path)
    return path


def image_folder(n: int, source: Path = SOURCE) -> Path:
    """A folder of exactly n distinct augmented images (hard links into the pool)."""
    folder = CACHE / f"n{n}"
    sources = sorted(source.glob("*.jpg"))
    if not sources:
        raise SystemExit(f"no images in {source}")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        made = pool_image(sources, i)
        link = folder / made.name
        if not link.exists():
            os.link(made, link)
    return folder


def plain_forward_seconds_per_image(model: str, weights: str, device: str, folder: Path, batches: int) -> float:
    """The floor: model(x) on real preprocessed images, batch 16, no hooks, no grad; one warm-up batch."""
    loaded = load_model(model, weights, device)
    paths = sorted(folder.glob("*.jpg"))[:FLOOR_BATCH]
    x = torch.stack([loaded.preprocess(load_rgb(p)) for p in paths]).to(loaded.device)
    with torch.no_grad():
        loaded.model(x)
        start = time.perf_counter()
        for _ in range(batches):
            loaded.model(x)
        if loaded.device.type == "cuda":
            torch.cuda.synchronize()
    return (time.perf_counter() - start) / (batches * len(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--model", default="vgg16")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--perplexities", default="10,30,90")
    parser.add_argument("--floor-batches", type=int, default=3, help="timed batches of 16 per floor measurement")
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--verbose", action="store_true", help="stage progress as timestamped lines on stderr")
    parser.add_argument("--out", type=Path, default=None,
                        help="keep the catalog in this new folder (default: a temporary one, removed)")
    args = parser.parse_args()

    folder = image_folder(args.n, args.source)
    floor_before = plain_forward_seconds_per_image(args.model, args.weights, args.device, folder, args.floor_batches)
    perplexities = tuple(float(p) for p in args.perplexities.split(","))
    with tempfile.TemporaryDirectory() as workdir, RssSampler(os.getpid(), interval=0.2) as rss:
        config = BuildConfig(model=args.model, weights=args.weights, dataset=str(folder), device=args.device,
                             perplexities=perplexities, out=args.out or Path(workdir) / "catalog")
        _, manifest = build_catalog(config, progress=StageLog if args.verbose else NoProgress,
                                    log=StageLog._say if args.verbose else (lambda _: None))
    floor_after = plain_forward_seconds_per_image(args.model, args.weights, args.device, folder, args.floor_batches)
    floor = (floor_before + floor_after) / 2
    times, n = manifest["stage_seconds"], manifest["n_samples"]
    per_image = (times["one_pass"] + times.get("explanations", 0.0)) / n
    result = {
        "model": manifest["model"]["label"], "n": n, "layers": manifest["n_layers"],
        "stage_seconds": times,
        "one_pass_img_s": round(n / times["one_pass"], 3),
        "explain_img_s": round(n / times["explanations"], 3) if times.get("explanations") else None,
        "floor_img_s": round(1 / floor, 3), "floor_img_s_before_after": [round(1 / floor_before, 3), round(1 / floor_after, 3)],
        "per_image_s": round(per_image, 4), "ratio_to_floor": round(per_image / floor, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "build_peak_rss_mb_sampled": round(rss.peak_mb),
        "load_avg": os.getloadavg(), "torch_threads": torch.get_num_threads(),
        "machine": platform.platform(), "torch": torch.__version__,
    }
    print(f"{result['model']}, N={n}, {result['layers']} layers: " +
          ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    print(f"one pass {result['one_pass_img_s']} img/s, explanations {result['explain_img_s']} img/s, "
          f"floor {result['floor_img_s']} img/s; (one pass + explanations) per image = "
          f"{result['ratio_to_floor']} plain forwards; peak RSS {result['peak_rss_mb']} MB "
          f"(build, sampled: {result['build_peak_rss_mb_sampled']} MB)")
    print(json.dumps(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
