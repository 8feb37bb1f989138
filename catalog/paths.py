"""Where catalogs live: `catalogs/` beside the code, or the folder named by LAYERSCOPE_CATALOG_DIR."""
from __future__ import annotations

import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "LAYERSCOPE_CATALOG_DIR"


def default_root() -> Path:
    return Path(os.environ.get(ENV_VAR) or REPO_ROOT / "catalogs")


def default_name(model: str, dataset: str, n: int | None, weights: str) -> str:
    """e.g. `efficientnet_lite0-sample-all`, `vgg16-imagenette-1000-random`."""
    dataset_name = Path(dataset).name if ("/" in dataset or os.sep in dataset) else dataset
    parts = [model, dataset_name, str(n) if n else "all"]
    if weights == "random":
        parts.append("random")
    elif weights != "default":
        parts.append(Path(weights).stem)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts))
