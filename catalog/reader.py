"""Reading a catalog: its manifest, and a read-only DuckDB connection with one view per table."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Collection, Iterable, NamedTuple

import duckdb
import numpy as np

from catalog.layout import join_parts, reference_files, table_files, whole_key
from catalog.schema import MANIFEST, SCHEMA_VERSION, TABLES
from catalog.staging import recover_folder, recover_quietly
from core.errors import CatalogError
from core.reference import LayerReference


class UnreadableCatalog(CatalogError):
    """A folder that holds a manifest this LayerScope cannot use; `reason` names why, without any path."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path} is unreadable: {reason}")
        self.reason = reason


def load_manifest(path: Path) -> dict:
    """The manifest of a complete catalog; CatalogError for anything else (UnreadableCatalog if damaged)."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise CatalogError(f"{path} is not a LayerScope catalog (no {MANIFEST}); build one with "
                           "python -m scripts.build_catalog")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad JSON or UTF-8; too deeply nested
        raise UnreadableCatalog(path, f"{MANIFEST} is not valid JSON ({type(exc).__name__})") from exc
    if not isinstance(manifest, dict):
        raise UnreadableCatalog(path, f"{MANIFEST} holds {_kind(manifest)}, not an object")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise UnreadableCatalog(path, f"it has catalog schema {manifest.get('schema_version')}, this LayerScope "
                                f"reads schema {SCHEMA_VERSION}: rebuild it with python -m scripts.build_catalog")
    return manifest


def _kind(value) -> str:
    """What a JSON value is, in words: `a number`, `text`, `a list`..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "text", list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _text(value) -> bool:
    return isinstance(value, str)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _names(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# The manifest fields the pages read, parents before their children: (what it must be, check).
REQUIRED_FIELDS = {
    "created_at": ("text", _text),
    "model": ("an object", lambda v: isinstance(v, dict)),
    "model.name": ("text", _text),
    "model.weights": ("text", _text),
    "dataset": ("an object", lambda v: isinstance(v, dict)),
    "dataset.name": ("text", _text),
    "n_samples": ("a whole number", _count),
    "top1_accuracy": ("a number", _number),
    "layers": ("a list of layer names", _names),
    "perplexities": ("an object", lambda v: isinstance(v, dict)),
    "perplexities.max_for_n": ("a number", _number),
}
OPTIONAL_FIELDS = {  # absent or null is fine
    "model.label": ("text", _text),
    "model.display_name": ("text", _text),
    "model.trained": ("true/false", lambda v: isinstance(v, bool)),
    "dataset.source": ("text", _text),
    "dataset.classes": ("a whole number", _count),
}


def manifest_problem(manifest: dict) -> str | None:
    """Why the pages cannot show this manifest (a field they read missing or of the wrong type), or None."""
    for field, (wanted, fits) in {**REQUIRED_FIELDS, **OPTIONAL_FIELDS}.items():
        *parents, key = field.split(".")
        holder = manifest
        for parent in parents:
            holder = holder[parent]
        if key not in holder or holder[key] is None:
            if field in REQUIRED_FIELDS:
                return f"{field} is missing from {MANIFEST}"
            continue
        if not fits(holder[key]):
            return f"{field} in {MANIFEST} is {_kind(holder[key])}, not {wanted}"
    return None


def load_complete_manifest(path: Path) -> dict:
    """`load_manifest`, and UnreadableCatalog unless every field the pages read is there with its type."""
    manifest = load_manifest(path)
    problem = manifest_problem(manifest)
    if problem:
        raise UnreadableCatalog(Path(path), problem)
    return manifest


def open_catalog(path: Path, memory_mb: int | None = None, threads: int | None = None,
                 relative: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose views read the catalog's Parquet files, and nothing else.

    File access is limited to the catalog's own folder and the configuration is locked, so queries
    typed by users cannot read other files or re-enable access. memory_mb and threads bound what one
    query may use (and switch off spilling to disk); they are set before the lock, which freezes them.
    Order matters: allowed_directories must be set while external access is still on.

    relative: the views name their files relative to the working directory (the caller has moved there)
    and DuckDB's home, secret and extension folders are blanked, so that the only absolute path left in
    the connection is the allowed directory, which DuckDB resolves itself (catalog.sql_public hides it).
    """
    absolute = Path(path).resolve()
    path = Path(os.path.relpath(absolute)) if relative else absolute
    recover_quietly(path)  # a writer killed mid-swap left the catalog set aside: put it back first
    load_manifest(path)
    con = duckdb.connect(":memory:")
    for name in TABLES:
        files = ", ".join("'" + f.as_posix().replace("'", "''") + "'" for f in table_files(path, name))
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{files}])")
    folder = absolute.as_posix().replace("'", "''")
    con.execute(f"SET allowed_directories = ['{folder}/']")
    if relative:
        for setting in ("home_directory", "secret_directory", "extension_directory"):
            con.execute(f"SET {setting} = ''")
        con.execute("SET python_enable_replacements = false")  # no Python variable of the caller as a table
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


def load_reference_arrays(path: Path, layer_id: int, names: Collection[str] | None = None) -> dict[str, np.ndarray]:
    """One layer's reference file(s) as stored, every array by name (or only `names`), parts joined.

    Each array is a compressed member of the file: reading only the ones asked for (a comparison needs
    the features, not the basis and the maps) skips decompressing the rest."""
    arrays: dict[str, np.ndarray] = {}
    for file in reference_files(path, layer_id):
        with np.load(file) as stored:
            arrays.update({key: stored[key] for key in stored.files
                           if names is None or whole_key(key) in names})
    return join_parts(arrays)


class CatalogScan(NamedTuple):
    found: list[tuple[Path, dict]]  # usable catalogs, newest first
    unreadable: list[tuple[Path, str]]  # folders with a damaged or foreign manifest, and why (no path in it)


def scan_catalogs(roots: Path | Iterable[Path]) -> CatalogScan:
    """The catalogs directly under one folder or several, and the ones whose manifest cannot be used.

    Folders without a manifest (a build in progress, anything else) are not catalogs and are skipped.
    Catalogs are told apart by name (the Explorer's URL names them), so a name found again in a later
    folder is listed as unreadable. A catalog whose writer was killed mid-swap is restored first.
    """
    found, unreadable, seen = [], [], {}
    for root in [Path(roots)] if isinstance(roots, (str, Path)) else [Path(r) for r in roots]:
        if not root.is_dir():
            continue
        recover_folder(root)
        for folder in sorted(root.iterdir()):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            try:
                manifest = load_complete_manifest(folder)
            except UnreadableCatalog as exc:
                unreadable.append((folder, exc.reason))
                continue
            except CatalogError:
                continue
            if folder.name in seen:
                unreadable.append((folder, f"another catalog named {folder.name} is listed first "
                                           f"(in {seen[folder.name].parent.name}/)"))
                continue
            seen[folder.name] = folder
            found.append((folder, manifest))
    return CatalogScan(sorted(found, key=lambda item: item[1]["created_at"], reverse=True), unreadable)


def find_catalogs(roots: Path | Iterable[Path]) -> list[tuple[Path, dict]]:
    """Complete catalogs directly under the folder(s), newest first; incomplete, damaged or foreign ones
    are skipped."""
    return scan_catalogs(roots).found
