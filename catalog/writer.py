"""Writing a catalog so that it appears complete or not at all.

Everything is written into a staging folder beside the target (`.NAME.tmp-TOKEN-PID`); the manifest is
written last, and the finished folder is swapped in with renames. A build killed at any point leaves
the previous catalog (if any) in place and only a staging folder behind, which the next build removes.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from catalog.schema import MANIFEST, REFERENCE_DIR, TABLES


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(target: Path) -> None:
    """Tidy up after an interrupted build: restore a set-aside catalog, drop dead staging folders."""
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return
    for leftover in parent.glob(f".{target.name}.*-*"):
        pid = leftover.name.rpartition("-")[2]
        if not pid.isdigit() or _pid_alive(int(pid)):  # a live build (maybe this process's) owns it
            continue
        set_aside = leftover.name.startswith(f".{target.name}.old-")
        if set_aside and not target.exists() and (leftover / MANIFEST).is_file():
            leftover.rename(target)  # killed between the two renames of a swap
        else:
            shutil.rmtree(leftover, ignore_errors=True)


class CatalogWriter:
    """Collects tables and reference arrays in a staging folder; `commit` makes them the catalog."""

    def __init__(self, target: Path):
        self.target = Path(target).resolve()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        recover(self.target)
        self.token = f"{uuid.uuid4().hex[:8]}-{os.getpid()}"  # unique even for two builds in one process
        self.staging = self.target.parent / f".{self.target.name}.tmp-{self.token}"
        (self.staging / REFERENCE_DIR).mkdir(parents=True)
        self.scratch = self.staging / "scratch"  # large intermediate arrays, dropped at commit
        self.scratch.mkdir()
        self._streams: dict[str, pq.ParquetWriter] = {}

    def write(self, name: str, rows: dict | pa.Table) -> None:
        table = rows if isinstance(rows, pa.Table) else pa.table(rows, schema=TABLES[name])
        pq.write_table(table.cast(TABLES[name]), self.staging / f"{name}.parquet", compression="zstd")

    def append(self, name: str, rows: dict) -> None:
        """Stream rows into a table in row groups, so large tables never sit whole in memory."""
        if name not in self._streams:
            self._streams[name] = pq.ParquetWriter(self.staging / f"{name}.parquet", TABLES[name],
                                                   compression="zstd")
        self._streams[name].write_table(pa.table(rows, schema=TABLES[name]))

    def save_reference(self, layer_id: int, arrays: dict[str, np.ndarray]) -> None:
        np.savez(self.staging / REFERENCE_DIR / f"layer_{layer_id:03d}.npz", **arrays)

    def scratch_array(self, name: str, shape: tuple[int, ...]) -> np.memmap:
        return np.lib.format.open_memmap(self.scratch / f"{name}.npy", mode="w+", dtype=np.float32,
                                         shape=shape)

    def commit(self, manifest: dict) -> Path:
        for stream in self._streams.values():
            stream.close()
        self._streams.clear()
        missing = [name for name in TABLES if not (self.staging / f"{name}.parquet").exists()]
        if missing:
            raise RuntimeError(f"catalog tables never written: {missing}")
        shutil.rmtree(self.scratch, ignore_errors=True)
        manifest_path = self.staging / MANIFEST
        manifest_path.write_text(json.dumps(manifest, indent=2, default=str))
        old = self.target.parent / f".{self.target.name}.old-{self.token}"
        if self.target.exists():
            self.target.rename(old)
        self.staging.rename(self.target)
        shutil.rmtree(old, ignore_errors=True)
        return self.target

    def abort(self) -> None:
        for stream in self._streams.values():
            stream.close()
        shutil.rmtree(self.staging, ignore_errors=True)
