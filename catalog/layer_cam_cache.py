"""The disk cache of layer CAMs and their faithfulness scores, per catalog build.

The same cache as the activation maps (`catalog.activation_cache`: one folder per catalog build,
least recently used files evicted to a limit, atomic writes), under its own root: a CAM is keyed by
sample, layer, class and method (`.npy`, float16), a sample's faithfulness scores by sample, layer
and class (`.json`). `LAYERSCOPE_LAYER_CAM_CACHE` moves the root (default `.cache/layer_cams/`) and
`LAYERSCOPE_LAYER_CAM_CACHE_MB` sets the limit (default 256).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from catalog.activation_cache import ActivationCache, build_id
from catalog.paths import REPO_ROOT

ROOT_ENV = "LAYERSCOPE_LAYER_CAM_CACHE"
LIMIT_ENV = "LAYERSCOPE_LAYER_CAM_CACHE_MB"
DEFAULT_LIMIT_MB = 256


def default_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or REPO_ROOT / ".cache" / "layer_cams")


def default_limit_bytes() -> int:
    raw = os.environ.get(LIMIT_ENV)
    return int((float(raw) if raw else DEFAULT_LIMIT_MB) * 1024 * 1024)


def _safe(method: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]", lambda m: "p" if m.group() == "+" else "_", method)


class LayerCamCache(ActivationCache):
    """One catalog build's layer CAMs and faithfulness scores."""

    @classmethod
    def for_catalog(cls, catalog_path: Path | str, manifest: dict, root: Path | None = None,
                    limit_bytes: int | None = None) -> LayerCamCache:
        """The cache of this catalog's current build; other builds' folders of its name are removed."""
        cache = cls(root if root is not None else default_root(), Path(catalog_path).name, build_id(manifest),
                    default_limit_bytes() if limit_bytes is None else limit_bytes)
        cache.drop_other_builds()
        return cache

    def cam_file(self, sample_id: int, layer_id: int, class_idx: int, method: str) -> Path:
        return self.folder / f"s{int(sample_id):06d}_l{int(layer_id):03d}_c{int(class_idx):04d}_{_safe(method)}.npy"

    def scores_file(self, sample_id: int, layer_id: int, class_idx: int) -> Path:
        return self.folder / f"s{int(sample_id):06d}_l{int(layer_id):03d}_c{int(class_idx):04d}_scores.json"

    def get_cams(self, sample_id: int, layer_id: int, class_idx: int, methods) -> dict[str, np.ndarray]:
        """The stored maps among `methods` (float32); a missing or damaged one is left out."""
        found = {}
        for method in methods:
            file = self.cam_file(sample_id, layer_id, class_idx, method)
            try:
                found[method] = np.load(file).astype(np.float32)
                os.utime(file)
            except (OSError, ValueError, EOFError):
                continue
        return found

    def put_cams(self, sample_id: int, layer_id: int, class_idx: int, maps: dict[str, np.ndarray]) -> None:
        for method, array in maps.items():
            self._write(self.cam_file(sample_id, layer_id, class_idx, method), np.asarray(array).astype(np.float16))
        self.evict()

    def get_scores(self, sample_id: int, layer_id: int, class_idx: int) -> dict[str, dict[str, float]] | None:
        file = self.scores_file(sample_id, layer_id, class_idx)
        try:
            scores = json.loads(file.read_text())
            os.utime(file)
        except (OSError, ValueError):
            return None
        return scores if isinstance(scores, dict) else None

    def put_scores(self, sample_id: int, layer_id: int, class_idx: int, scores: dict[str, dict[str, float]]) -> None:
        file = self.scores_file(sample_id, layer_id, class_idx)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=file.parent, prefix=f".{file.stem}.", suffix=".tmp",
                                             delete=False) as handle:
                json.dump(scores, handle)
            os.replace(handle.name, file)
        except OSError:
            return
        self.evict()
