"""The disk cache of full activation maps, kept outside the (read-only) catalog.

The catalog keeps only channel statistics; the gallery and the channel view need whole maps, which
one forward computes (`core.activations`) and this cache keeps as float16 `.npy` files. It is:

- scoped per catalog build: `<root>/<catalog name>/<build id>/`, the build id taken from the
  manifest's `created_at`, so a rebuilt catalog never reads the old model's maps; the folders of other
  builds of the same catalog name are removed when a build is opened;
- bounded: after each write the least recently used files (by modification time, which a read
  refreshes) go until the whole root is under the limit;
- safe for concurrent writers: each writes a uniquely named temporary file in the same folder and
  renames it into place, so a reader sees a whole file or none.

`LAYERSCOPE_ACTIVATION_CACHE` moves the root (default `.cache/activations/` in the repository) and
`LAYERSCOPE_ACTIVATION_CACHE_MB` sets the limit (default 512). `LAYERSCOPE_CACHE` is another cache:
downloaded datasets (`core.datasets`).
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from catalog.paths import REPO_ROOT

ROOT_ENV = "LAYERSCOPE_ACTIVATION_CACHE"
LIMIT_ENV = "LAYERSCOPE_ACTIVATION_CACHE_MB"
DEFAULT_LIMIT_MB = 512
_TEMP_SUFFIX = ".tmp"
_STALE_TEMP_S = 600  # a temporary file this old belongs to a writer that died


def default_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or REPO_ROOT / ".cache" / "activations")


def default_limit_bytes() -> int:
    raw = os.environ.get(LIMIT_ENV)
    megabytes = float(raw) if raw else DEFAULT_LIMIT_MB
    return int(megabytes * 1024 * 1024)


def build_id(manifest: dict) -> str:
    """A folder name for one build of a catalog: its creation time, without characters paths dislike."""
    return re.sub(r"[^0-9A-Za-z._-]", "", str(manifest.get("created_at", ""))) or "unknown"


class ActivationCache:
    """One catalog build's activation maps, under a root shared with every other catalog."""

    def __init__(self, root: Path, catalog_name: str, build: str, limit_bytes: int):
        self.root = Path(root)
        self.folder = self.root / catalog_name / build
        self.limit_bytes = int(limit_bytes)

    @classmethod
    def for_catalog(cls, catalog_path: Path | str, manifest: dict, root: Path | None = None,
                    limit_bytes: int | None = None) -> ActivationCache:
        """The cache of this catalog's current build; other builds' folders of its name are removed."""
        cache = cls(root if root is not None else default_root(), Path(catalog_path).name, build_id(manifest),
                    default_limit_bytes() if limit_bytes is None else limit_bytes)
        cache.drop_other_builds()
        return cache

    def file(self, sample_id: int, layer_id: int) -> Path:
        return self.folder / f"s{int(sample_id):06d}_l{int(layer_id):03d}.npy"

    def get(self, sample_id: int, layer_id: int) -> np.ndarray | None:
        """The stored map as float32 (and now the most recently used), or None."""
        file = self.file(sample_id, layer_id)
        try:
            array = np.load(file).astype(np.float32)
            os.utime(file)
        except (OSError, ValueError, EOFError):
            return None
        return array

    def put(self, sample_id: int, layer_id: int, array: np.ndarray) -> None:
        self.put_many(sample_id, {layer_id: array})

    def put_many(self, sample_id: int, maps: dict[int, np.ndarray]) -> None:
        """Store one sample's maps of several layers (as float16), then evict down to the limit."""
        self.put_entries((sample_id, layer_id, array) for layer_id, array in maps.items())

    def put_entries(self, entries: Iterable[tuple[int, int, np.ndarray]]) -> None:
        """Store (sample_id, layer_id, map) entries (as float16), then evict down to the limit once. Best
        effort: a failed write is a miss."""
        for sample_id, layer_id, array in entries:
            self._write(self.file(sample_id, layer_id), array.astype(np.float16))
        self.evict()

    def _write(self, file: Path, array: np.ndarray) -> None:
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            handle = tempfile.NamedTemporaryFile(dir=file.parent, prefix=f".{file.stem}.", suffix=_TEMP_SUFFIX,
                                                 delete=False)
        except OSError:
            return
        try:
            with handle:
                np.save(handle, array)
            os.replace(handle.name, file)
        except OSError:
            Path(handle.name).unlink(missing_ok=True)

    def evict(self) -> int:
        """Remove the least recently used files until the whole root fits the limit; the bytes kept."""
        entries, total, now = [], 0, time.time()
        for file in self.root.rglob("*"):
            try:
                info = file.stat()
            except OSError:
                continue
            if not file.is_file():
                continue
            if file.name.endswith(_TEMP_SUFFIX):
                if now - info.st_mtime > _STALE_TEMP_S:
                    file.unlink(missing_ok=True)
                continue
            entries.append((info.st_mtime_ns, info.st_size, file))
            total += info.st_size
        for _, size, file in sorted(entries, key=lambda entry: entry[0]):
            if total <= self.limit_bytes:
                break
            try:
                file.unlink()
            except FileNotFoundError:
                pass
            total -= size
        return total

    def drop_other_builds(self) -> None:
        """Remove this catalog name's folders of other builds (a rebuilt catalog's old maps)."""
        parent = self.folder.parent
        if not parent.is_dir():
            return
        for folder in parent.iterdir():
            if folder.is_dir() and folder.name != self.folder.name:
                shutil.rmtree(folder, ignore_errors=True)
