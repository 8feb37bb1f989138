"""Which catalogs there are, and the name a catalog's model goes by on every page."""
from __future__ import annotations

import os
from pathlib import Path

import catalog
from app import settings
from catalog.paths import published_root


def catalog_roots() -> list[Path]:
    """Public mode serves the committed `published/` folder; owner mode the builder's `catalogs/` or the
    folders LAYERSCOPE_CATALOG_DIR lists."""
    return [published_root()] if settings.public_mode() else catalog.catalog_roots()


def scan_catalogs() -> catalog.CatalogScan:
    """The usable catalogs (newest first) and the damaged ones, which a page names with `skipped`."""
    return catalog.scan_catalogs(catalog_roots())


def build_folder() -> Path:
    """Where the owner's build button puts a catalog: the first catalog folder."""
    return catalog.default_root()


FOLDERS_HINT = f"LAYERSCOPE_CATALOG_DIR lists the folders to look in, joined by `{os.pathsep}`"


def folders_text() -> str:
    """The catalog folders as the owner reads them: `catalogs` or `a`, `b`."""
    return ", ".join(f"`{root}`" for root in catalog_roots())


def list_catalogs() -> list[tuple[Path, dict]]:
    return scan_catalogs().found


def none_found() -> str:
    """What a page says when there is no catalog: the folder for the owner, no server path for visitors."""
    if settings.public_mode():
        return "This deployment holds no published catalog yet."
    return f"No catalog found under {folders_text()}. Build the bundled sample on the Home page."


def unreadable(path: str, exc: Exception) -> str:
    """What a page says about a catalog it cannot read: the reason for the owner, only the name for visitors."""
    name = Path(path).name
    if settings.public_mode():
        return f"The catalog {name} cannot be read."
    return f"Cannot read the catalog {name} ({path}): {exc}. Rebuild it with `python -m scripts.build_catalog`."


def skipped(path: Path, reason: str) -> str:
    """What a page says about a catalog it leaves out: its name, and why for the owner (never a path)."""
    if settings.public_mode():
        return f"The catalog {path.name} cannot be read and is not shown."
    return f"The catalog {path.name} is unreadable and is not shown: {reason}."


def model_label(manifest: dict) -> str:
    """The model's display name, marked '(untrained)' when it was built with random weights."""
    model = manifest["model"]
    label = model.get("label") or model.get("display_name") or model["name"]
    if not model.get("trained", True) and "untrained" not in label:
        label += " (untrained)"
    return label


def choice_label(path: Path, manifest: dict) -> str:
    """A catalog as a picker shows it: its name, dataset and N."""
    return f"{path.name} · {manifest['dataset']['name']}, N={manifest['n_samples']}"


def summary(manifest: dict) -> str:
    """One line a visitor reads first: model, dataset, N and top-1 accuracy."""
    accuracy = manifest.get("top1_accuracy")
    accuracy_text = f"top-1 accuracy {accuracy:.1%}" if accuracy is not None else "top-1 accuracy unknown"
    return (f"**{model_label(manifest)}** on **{manifest['dataset']['name']}**, "
            f"N = {manifest['n_samples']} images, {accuracy_text}")
