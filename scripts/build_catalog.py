"""Build a LayerScope catalog: python -m scripts.build_catalog --model M --dataset D [options]."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from builder import BuildConfig, build_catalog
from catalog import catalog_roots
from catalog.writer import describe_os_error
from core.errors import LayerScopeError
from core.models import DEFAULT_MODEL
from core.reduce import DEFAULT_PERPLEXITIES


class TerminalProgress:
    """One tqdm bar per build stage."""

    def __init__(self, desc: str, total: int, unit: str = "img"):
        from tqdm.auto import tqdm
        self._bar = tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


def summary_lines(path: Path, manifest: dict) -> list[str]:
    """The closing summary: where the catalog is, what it holds, how long each stage took."""
    times = manifest["stage_seconds"]
    lines = [
        f"catalog: {path}",
        f"model: {manifest['model']['label']} ({manifest['model']['weights']})",
        f"dataset: {manifest['dataset']['name']}: {manifest['n_samples']} samples, "
        f"{manifest['n_skipped']} skipped, {manifest['n_layers']} layers",
        f"top-1 accuracy: {manifest['top1_accuracy']:.1%}",
        "perplexities used: " + ", ".join(f"{k} -> {v:g}" for k, v in manifest["perplexities"]["used"].items()),
        "time: " + ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in times.items()),
    ]
    lines += [f"skipped {s['path']}: {s['reason']}" for s in manifest["skipped"]]
    roots = catalog_roots()
    if Path(path).resolve().parent not in {root.resolve() for root in roots}:
        folders = os.pathsep.join([*map(str, roots), str(Path(path).resolve().parent)])
        lines.append(f"the app looks for catalogs in {', '.join(map(str, roots))}: to see this one there, "
                     f"start it with LAYERSCOPE_CATALOG_DIR={folders}")
    return lines


def run(config: BuildConfig) -> tuple[Path, dict]:
    """Build with terminal progress bars and log lines."""
    return build_catalog(config, progress=TerminalProgress, log=print)


def _perplexities(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"perplexities are numbers separated by commas, not {text!r}") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError("give at least one positive perplexity, e.g. 10,30,90")
    return values


def _samples(text: str) -> int | None:
    if text == "all":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"--samples takes a positive number or 'all', not {text!r}")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"give a positive number, not {text!r}")
    return int(text)


def parse_args(argv: list[str] | None = None) -> BuildConfig:
    parser = argparse.ArgumentParser(prog="python -m scripts.build_catalog", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="vgg16, efficientnet_lite0, torchvision:NAME or timm:NAME (default %(default)s)")
    parser.add_argument("--dataset", default="sample",
                        help="sample, imagenette, imagewoof, or an image folder (default %(default)s)")
    parser.add_argument("--samples", type=_samples, default=None,
                        help="how many samples, stratified by class (default: all)")
    parser.add_argument("--perplexities", type=_perplexities, default=DEFAULT_PERPLEXITIES,
                        help="t-SNE perplexities, comma-separated (default 10,30,90)")
    parser.add_argument("--weights", default="default",
                        help="default (ImageNet), random (untrained), or a .pth state-dict file")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default %(default)s)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="an already downloaded Imagenette/Imagewoof archive or folder")
    parser.add_argument("--size", default="160", choices=("160", "320", "full"),
                        help="Imagenette/Imagewoof image size (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None,
                        help="catalog folder (default: catalogs/NAME, or under $LAYERSCOPE_CATALOG_DIR)")
    parser.add_argument("--engine", default="local", choices=("local", "ray"),
                        help="local (this process) or ray (a Ray cluster, pip install -r requirements-ray.txt; "
                             "see docs/SCALE.md) (default %(default)s)")
    parser.add_argument("--ray-address", default=None,
                        help="with --engine ray: join this cluster (HOST:PORT, ray://HOST:PORT or auto); "
                             "default: start a local one")
    parser.add_argument("--ray-actors", type=_positive, default=None,
                        help="with --engine ray: model copies (default: one per GPU with --device cuda, else per CPU)")
    args = parser.parse_args(argv)
    if args.engine != "ray" and (args.ray_address or args.ray_actors):
        parser.error("--ray-address and --ray-actors go with --engine ray")
    return BuildConfig(model=args.model, dataset=args.dataset, samples=args.samples,
                       perplexities=args.perplexities, weights=args.weights, device=args.device,
                       data_dir=args.data_dir, out=args.out, size=args.size,
                       batch_size=args.batch_size, seed=args.seed, engine=args.engine,
                       ray_address=args.ray_address, ray_actors=args.ray_actors)


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    try:
        path, manifest = run(config)
    except LayerScopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full or no permission outside the catalog writer: one line, no traceback
        print(f"error: {describe_os_error(exc, config.target())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written; the previous catalog, if any, is untouched", file=sys.stderr)
        return 130
    print("\n".join(summary_lines(path, manifest)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
