"""Where catalogs live: `catalogs/` beside the code (or the folders LAYERSCOPE_CATALOG_DIR lists) for
builds, and `published/` (or LAYERSCOPE_PUBLISHED_DIR), the committed folder a public deployment serves."""
from __future__ import annotations

import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "LAYERSCOPE_CATALOG_DIR"
PUBLISHED_ENV_VAR = "LAYERSCOPE_PUBLISHED_DIR"


def catalog_roots() -> list[Path]:
    """The folders catalogs are looked for in: LAYERSCOPE_CATALOG_DIR, one folder or several joined by
    os.pathsep (`catalogs:/data/more`), else `catalogs/` beside the code."""
    value = os.environ.get(ENV_VAR, "")
    roots = [Path(part.strip()).expanduser() for part in value.split(os.pathsep) if part.strip()]
    return roots or [REPO_ROOT / "catalogs"]


def default_root() -> Path:
    """Where a build goes without --out: the first of the catalog folders."""
    return catalog_roots()[0]


def published_root() -> Path:
    """Published catalogs: committed with the code (not git-ignored), read-only once there."""
    return Path(os.environ.get(PUBLISHED_ENV_VAR) or REPO_ROOT / "published")


def default_name(model: str, dataset: str, n: int | None, weights: str) -> str:
    """e.g. `efficientnet_lite0-sample-all`, `vgg16-imagenette-1000-random`."""
    dataset_name = Path(dataset).name if ("/" in dataset or os.sep in dataset) else dataset
    parts = [model, dataset_name, str(n) if n else "all"]
    if weights == "random":
        parts.append("random")
    elif weights != "default":
        parts.append(Path(weights).stem)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts))
