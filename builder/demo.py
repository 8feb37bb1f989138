"""The demo a fork deploys as is: the bundled sample through the default model, published compactly as
`published/efficientnet_lite0-sample`. `python -m scripts.publish_demo` re-makes it whenever the catalog
schema moves past the committed copy (tests/test_demo.py says so)."""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from builder.build import build_catalog
from builder.config import BuildConfig
from builder.progress import NoProgress, ProgressFactory
from catalog.publish import Published, publish
from catalog.reader import load_manifest
from core.errors import CatalogError
from core.models import DEFAULT_MODEL

DEMO_NAME = f"{DEFAULT_MODEL}-sample"
DEMO_COMMAND = "python -m scripts.publish_demo"


def demo_config(out: Path) -> BuildConfig:
    """The bundled sample, every image, the default model and perplexities."""
    return BuildConfig(model=DEFAULT_MODEL, dataset="sample", out=out)


def check_is_demo(catalog: Path) -> None:
    """A catalog given to stand for the demo must be the bundled sample through the default model."""
    manifest = load_manifest(catalog)
    model, dataset = manifest["model"].get("name"), manifest["dataset"].get("name")
    if model != DEFAULT_MODEL or dataset != "sample" or manifest["dataset"].get("requested_samples"):
        raise CatalogError(f"{Path(catalog).name} is {model} on {dataset}, not the demo (every image of the bundled "
                           f"sample through {DEFAULT_MODEL}): build it with python -m scripts.build_catalog")


def publish_demo(catalog: Path | None = None, root: Path | None = None,
                 progress: ProgressFactory = NoProgress, log: Callable[[str], None] = lambda _: None) -> Published:
    """Publish `catalog` (a finished demo build) as the demo, or build one in a temporary folder first;
    the published copy replaces the previous demo under `root` (default `published/`)."""
    if catalog is not None:
        check_is_demo(catalog)
        return publish(catalog, name=DEMO_NAME, root=root, compact=True)
    with tempfile.TemporaryDirectory(prefix="layerscope-demo-") as folder:
        built, _ = build_catalog(demo_config(Path(folder) / f"{DEFAULT_MODEL}-sample-all"), progress=progress, log=log)
        log(f"publishing {DEMO_NAME}")
        return publish(built, name=DEMO_NAME, root=root, compact=True)
