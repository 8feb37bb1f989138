"""Writing a catalog so that it appears complete or not at all.

Everything is written into a staging folder beside the target, claimed through catalog.staging (which
`scripts.publish` uses too); the manifest is written last, and the finished folder is swapped in with
renames. A build killed at any point leaves the previous catalog (if any) in place and only leftovers
that the next build, `catalog.open` or `catalog.find_catalogs` tidies up. A failed write (disk full,
permission denied) removes the staging folder and raises CatalogWriteError, whose message names the
path and the way out.
"""
from __future__ import annotations

import errno
import functools
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from catalog.encoding import parquet_options
from catalog.layout import table_files, table_part_name
from catalog.schema import MANIFEST, REFERENCE_DIR, TABLES
from catalog.staging import Claim, recover  # noqa: F401  (recover: the writer's callers tidy up through it)
from core.errors import CatalogError


class CatalogWriteError(CatalogError):
    """Writing the catalog failed in the environment (no space, no permission, read-only disk)."""


def describe_os_error(exc: OSError, target: Path, staging: Path | None = None, verb: str = "build") -> str:
    """One line naming the path and the way out, e.g. `no space left on /x: free space or ...`.

    A file inside the staging folder (gone once the build is aborted) is named by the target's folder.
    verb names what the way out does again elsewhere (`build`, `publish`).
    """
    where = exc.filename or Path(target).parent
    if staging is not None and str(where).startswith(str(staging)):
        where = Path(target).parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left on {where}: free space there or {verb} into another folder (--out)"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (f"permission denied on {where} ({exc.strerror or exc}): {verb} into a folder you may write to "
                "(--out) or fix its permissions")
    return f"could not write {where} ({exc.strerror or exc}): check the disk or {verb} into another folder (--out)"


def _failing_cleanly(method):
    """An OSError inside a writer method removes the staging folder and becomes a CatalogWriteError."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except OSError as exc:
            self.abort()
            raise CatalogWriteError(describe_os_error(exc, self.target, getattr(self, "staging", None))) from exc
    return guarded


class CatalogWriter:
    """Collects tables and reference arrays in a staging folder; `commit` makes them the catalog."""

    @_failing_cleanly
    def __init__(self, target: Path):
        self.target = Path(target).resolve()
        self._streams: dict[str, pq.ParquetWriter] = {}
        self._parts: dict[str, int] = {}  # table -> parts written (write_part)
        self.claim = Claim(self.target)
        self.staging = self.claim.staging
        (self.staging / REFERENCE_DIR).mkdir(parents=True)
        self.scratch = self.staging / "scratch"  # large intermediate arrays, dropped at commit
        self.scratch.mkdir()

    @_failing_cleanly
    def write(self, name: str, rows: dict | pa.Table) -> None:
        table = rows if isinstance(rows, pa.Table) else pa.table(rows, schema=TABLES[name])
        pq.write_table(table.cast(TABLES[name]), self.staging / f"{name}.parquet", **parquet_options(TABLES[name]))

    @_failing_cleanly
    def append(self, name: str, rows: dict) -> None:
        """Stream rows into a table in row groups, so large tables never sit whole in memory."""
        if name not in self._streams:
            self._streams[name] = pq.ParquetWriter(self.staging / f"{name}.parquet", TABLES[name],
                                                   **parquet_options(TABLES[name]))
        self._streams[name].write_table(pa.table(rows, schema=TABLES[name]))

    @_failing_cleanly
    def write_part(self, name: str, rows: dict | pa.Table) -> None:
        """One more part of a table kept as a folder of parts (catalog/layout.py), which readers take
        as one table: the way a distributed build stores rows that arrive from many workers."""
        folder = self.staging / name
        folder.mkdir(exist_ok=True)
        index = self._parts.get(name, 0)
        table = rows if isinstance(rows, pa.Table) else pa.table(rows, schema=TABLES[name])
        pq.write_table(table.cast(TABLES[name]), folder / table_part_name(index), **parquet_options(TABLES[name]))
        self._parts[name] = index + 1

    @_failing_cleanly
    def save_reference(self, layer_id: int, arrays: dict[str, np.ndarray]) -> None:
        np.savez(self.staging / REFERENCE_DIR / f"layer_{layer_id:03d}.npz", **arrays)

    @_failing_cleanly
    def scratch_array(self, name: str, shape: tuple[int, ...]) -> np.memmap:
        """A float32 array on disk, its space reserved now: a full disk is an OSError here, not a SIGBUS later."""
        path = self.scratch / f"{name}.npy"
        array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
        with open(path, "r+b") as file:
            try:
                os.posix_fallocate(file.fileno(), 0, os.fstat(file.fileno()).st_size)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # file systems without fallocate
                    raise
        return array

    @_failing_cleanly
    def commit(self, manifest: dict) -> Path:
        for stream in self._streams.values():
            stream.close()
        self._streams.clear()
        missing = [name for name in TABLES if not table_files(self.staging, name)[0].exists()]
        if missing:
            raise RuntimeError(f"catalog tables never written: {missing}")
        shutil.rmtree(self.scratch, ignore_errors=True)
        manifest_path = self.staging / MANIFEST
        manifest_path.write_text(json.dumps(manifest, indent=2, default=str))
        return self.claim.swap_in()

    def abort(self) -> None:
        """Drop the staging folder; safe to call twice, and after a failed write (a stream may not close)."""
        for stream in self._streams.values():
            try:
                stream.close()
            except OSError:
                pass
        self._streams.clear()
        if hasattr(self, "claim"):
            self.claim.abandon()
