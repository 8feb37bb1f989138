"""Reading a catalog: its manifest, and a read-only DuckDB connection with one view per table."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np

from catalog.layout import join_parts, reference_files, table_files
from catalog.schema import MANIFEST, SCHEMA_VERSION, TABLES
from core.errors import CatalogError
from core.reference import LayerReference


def load_manifest(path: Path) -> dict:
    """The manifest of a complete catalog; CatalogError for anything else."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise CatalogError(f"{path} is not a LayerScope catalog (no {MANIFEST}); build one with "
                           "python -m scripts.build_catalog")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise CatalogError(f"{path} has catalog schema {manifest.get('schema_version')}, this LayerScope "
                           f"reads schema {SCHEMA_VERSION}: rebuild it with python -m scripts.build_catalog")
    return manifest


def open_catalog(path: Path, memory_mb: int | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose views read the catalog's Parquet files, and nothing else.

    File access is limited to the catalog's own folder and the configuration is locked, so queries
    typed by users cannot read other files or re-enable access. memory_mb and threads bound what one
    query may use (and switch off spilling to disk); they are set before the lock, which freezes them.
    Order matters: allowed_directories must be set while external access is still on.
    """
    path = Path(path).resolve()
    load_manifest(path)
    con = duckdb.connect(":memory:")
    for name in TABLES:
        files = ", ".join("'" + f.as_posix().replace("'", "''") + "'" for f in table_files(path, name))
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{files}])")
    folder = path.as_posix().replace("'", "''")
    con.execute(f"SET allowed_directories = ['{folder}/']")
    if memory_mb is not None:
        con.execute(f"SET memory_limit = '{int(memory_mb)}MiB'")
        con.execute("SET temp_directory = ''")  # no spilling: a hostile query must not fill the disk
    if memory_mb is not None or threads is not None:
        con.execute("SET enable_progress_bar = false")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def load_reference(path: Path, layer_id: int) -> LayerReference:
    """The PCA basis and t-SNE reference of one layer, as saved by the builder (or published in parts)."""
    return LayerReference.from_arrays(load_reference_arrays(path, layer_id))


def load_reference_arrays(path: Path, layer_id: int) -> dict[str, np.ndarray]:
    """One layer's reference file(s) as stored, every array by name, parts joined."""
    arrays: dict[str, np.ndarray] = {}
    for file in reference_files(path, layer_id):
        with np.load(file) as stored:
            arrays.update({key: stored[key] for key in stored.files})
    return join_parts(arrays)


def find_catalogs(root: Path) -> list[tuple[Path, dict]]:
    """Complete catalogs directly under root, newest first; incomplete or foreign folders are skipped."""
    root = Path(root)
    found = []
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.is_dir() and not folder.name.startswith("."):
                try:
                    found.append((folder, load_manifest(folder)))
                except (CatalogError, ValueError):
                    continue
    return sorted(found, key=lambda item: item[1].get("created_at", ""), reverse=True)
