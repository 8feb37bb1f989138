"""Which catalogs there are, and the name a catalog's model goes by on every page."""
from __future__ import annotations

from pathlib import Path

import catalog


def catalog_root() -> Path:
    return catalog.default_root()


def list_catalogs() -> list[tuple[Path, dict]]:
    return catalog.find_catalogs(catalog_root())


def model_label(manifest: dict) -> str:
    """The model's display name, marked '(untrained)' when it was built with random weights."""
    model = manifest["model"]
    label = model.get("label") or model.get("display_name") or model["name"]
    if not model.get("trained", True) and "untrained" not in label:
        label += " (untrained)"
    return label
