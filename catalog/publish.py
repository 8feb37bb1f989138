"""Publishing a finished catalog into a folder that is committed with the code and served to the public.

What changes on the way: every file stays under a size cap (GitHub refuses files over 100 MB and warns
above 50 MB), so a large table becomes a folder of Parquet parts and a large reference continues in
part files (see `catalog.layout`; the reader takes them as one); and nothing of the build machine goes
public: absolute paths in `samples.path`, `skipped.path` and the manifest become relative keys. The
result is written beside its target, opened and queried, scanned for leftover paths, and only then
swapped in, through the same claim, swap and recovery as a build (catalog.staging). A failed write (disk
full, permission denied) leaves nothing behind and raises CatalogWriteError, one line.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePath

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from catalog.compact import DESCRIPTION, compact_reference, compact_table
from catalog.encoding import parquet_options
from catalog.layout import reference_file, reference_layer_ids, split_key, table_files, table_part_name
from catalog.paths import REPO_ROOT, published_root
from catalog.reader import load_manifest, load_reference_arrays, open_catalog
from catalog.schema import MANIFEST, REFERENCE_DIR, TABLES
from catalog.staging import Claim
from catalog.writer import CatalogWriteError, describe_os_error
from core.errors import CatalogError

MAX_FILE_BYTES = 50 * 1000 * 1000  # GitHub warns above 50 MB and refuses above 100 MB
ZSTD_LEVEL = 19  # a publish is written once and served often: the smallest files, lossless, beat speed
PATH_COLUMNS = {"samples": "path", "skipped": "path"}
_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]")


@dataclass
class Published:
    path: Path
    files: dict[str, int] = field(default_factory=dict)  # relative file name -> bytes

    @property
    def total_bytes(self) -> int:
        return sum(self.files.values())

    @property
    def largest(self) -> tuple[str, int]:
        return max(self.files.items(), key=lambda item: item[1])


def is_absolute_path(text: str) -> bool:
    return text.startswith(("/", "~", "\\\\")) or bool(_WINDOWS_ABSOLUTE.match(text))


def public_path(path: str, key: str | None = None) -> str:
    """A build machine's file path as something safe to show: relative to the repository when the file
    is part of it (the bundled sample, which a deployment then still has), else the sample's key plus
    its extension (its place in the dataset), else the file name."""
    if not path or not is_absolute_path(path):
        return path
    if os.path.isabs(path):  # this machine's kind of path: maybe inside the repository
        try:
            return Path(path).resolve().relative_to(REPO_ROOT).as_posix()
        except ValueError:
            pass
    portable = PurePath(path.replace("\\", "/"))
    return f"{key}{portable.suffix}" if key else portable.name


def public_manifest(manifest: dict) -> dict:
    """The manifest with every absolute path made public (skipped files by their key)."""
    def clean(value, key=None):
        if isinstance(value, dict):
            return {k: clean(v, value.get("key") if k == "path" else None) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, str):
            return public_path(value, key)
        return value
    return clean(manifest)


def _public_table(name: str, table: pa.Table) -> pa.Table:
    column = PATH_COLUMNS.get(name)
    if column is None:
        return table
    keys = table.column("key").to_pylist()
    paths = [public_path(p, k) if p is not None else None for p, k in zip(table.column(column).to_pylist(), keys)]
    return table.set_column(table.schema.get_field_index(column), column, pa.array(paths, pa.string()))


def _write_table(table: pa.Table, folder: Path, name: str, max_bytes: int) -> list[Path]:
    """One Parquet file if it fits under max_bytes, else parts of as many rows as fit (checked)."""
    single = folder / f"{name}.parquet"
    options = parquet_options(table.schema, ZSTD_LEVEL)
    pq.write_table(table, single, **options)
    size = single.stat().st_size
    if size <= max_bytes:
        return [single]
    single.unlink()
    parts_dir = folder / name
    rows = max(1, int(table.num_rows * 0.8 * max_bytes / size))
    while True:
        shutil.rmtree(parts_dir, ignore_errors=True)
        parts_dir.mkdir()
        files = []
        for index, start in enumerate(range(0, table.num_rows, rows)):
            file = parts_dir / table_part_name(index)
            pq.write_table(table.slice(start, rows), file, **options)
            files.append(file)
        if all(f.stat().st_size <= max_bytes for f in files):
            return files
        if rows == 1:
            raise CatalogError(f"one row of {name} is larger than {max_bytes} bytes: it cannot be published "
                               "under this size cap")
        rows = max(1, rows // 2)


def _pieces(arrays: dict[str, np.ndarray], budget: int) -> list[tuple[str, np.ndarray]]:
    """Arrays larger than the budget cut along their first axis into keys `name@partNNN`."""
    pieces = []
    for key, array in arrays.items():
        if array.nbytes <= budget or array.ndim == 0 or len(array) < 2:
            pieces.append((key, array))
            continue
        row_bytes = max(1, array.nbytes // len(array))
        rows = max(1, budget // row_bytes)
        for index, start in enumerate(range(0, len(array), rows)):
            pieces.append((split_key(key, index), array[start:start + rows]))
    return pieces


def _write_reference(arrays: dict[str, np.ndarray], folder: Path, layer_id: int, max_bytes: int) -> list[Path]:
    """One .npz if it fits, else the arrays packed in order into `layer_NNN.npz`, `.part-001.npz`, ...
    Compressed (zip deflate): np.load reads it as it reads an uncompressed one."""
    first = reference_file(folder, layer_id)
    np.savez_compressed(first, **arrays)
    if first.stat().st_size <= max_bytes:
        return [first]
    budget = int(max_bytes * 0.9) - 4096  # room for the zip and .npy headers
    if budget <= 0:
        raise CatalogError(f"a size cap of {max_bytes} bytes leaves no room for reference arrays")
    groups: list[list[tuple[str, np.ndarray]]] = [[]]
    used = 0
    for key, array in _pieces(arrays, budget):
        if groups[-1] and used + array.nbytes > budget:
            groups.append([])
            used = 0
        groups[-1].append((key, array))
        used += array.nbytes
    files = []
    for part, group in enumerate(groups):
        file = reference_file(folder, layer_id, part)
        np.savez_compressed(file, **dict(group))
        if file.stat().st_size > max_bytes:
            raise CatalogError(f"{file.name} stays over {max_bytes} bytes: raise the size cap")
        files.append(file)
    return files


def _leaked_prefixes(source: Path) -> set[str]:
    """Absolute folders of the build machine that must not appear anywhere in the published folder."""
    prefixes = {str(Path.home()), str(REPO_ROOT), str(Path(source).resolve().parent)}
    rows = open_catalog(source).execute("SELECT path FROM samples WHERE path IS NOT NULL LIMIT 1").fetchall()
    if rows and is_absolute_path(rows[0][0]):
        prefixes.add(str(PurePath(rows[0][0]).parent.parent))
    return {p for p in prefixes if len(p) > 1}


def find_leaks(folder: Path, prefixes: set[str]) -> list[str]:
    """Where the published folder still shows the build machine: a prefix in a file's bytes (the
    manifest, the references) or in any text column (Parquet is compressed, so those are queried), or an
    absolute path in a path column."""
    found = []
    needles = [p.encode() for p in prefixes]
    for file in sorted(Path(folder).rglob("*")):
        if file.is_file():
            data = file.read_bytes()
            found += [f"{file.relative_to(folder)} contains {n.decode()}" for n in needles if n in data]
    con = open_catalog(folder)
    for name, schema in TABLES.items():
        for column in (f.name for f in schema if pa.types.is_string(f.type)):
            for prefix in prefixes:
                hits = con.execute(f"SELECT count(*) FROM {name} WHERE contains({column}, ?)", [prefix]).fetchone()[0]
                if hits:
                    found.append(f"{name}.{column} contains {prefix} ({hits} rows)")
    for name, column in PATH_COLUMNS.items():
        rows = con.execute(f"SELECT {column} FROM {name} WHERE {column} IS NOT NULL").fetchall()
        found += [f"{name}.{column} holds {v}" for (v,) in rows if is_absolute_path(v)]
    return found


def _check_opens(folder: Path, source: Path, compact: bool) -> None:
    """The published catalog opens, every table answers with the source's row count, references load
    as written."""
    src, dst = open_catalog(source), open_catalog(folder)
    for name in TABLES:
        expected = src.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        got = dst.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        if got != expected:
            raise CatalogError(f"published table {name} has {got} rows, the catalog has {expected}")
    for layer_id in reference_layer_ids(source):
        before, after = load_reference_arrays(source, layer_id), load_reference_arrays(folder, layer_id)
        before = compact_reference(before) if compact else before
        if before.keys() != after.keys() or not all(np.array_equal(before[k], after[k]) for k in before):
            raise CatalogError(f"published reference of layer {layer_id} differs from the catalog's")


def publish(source: Path, name: str | None = None, root: Path | None = None,
            max_file_bytes: int = MAX_FILE_BYTES, compact: bool = False) -> Published:
    """Copy the finished catalog at `source` into `root/name` (default `published/<its name>`);
    `compact`: with the precision catalog/compact.py drops where no view can tell."""
    source = Path(source).resolve()
    manifest = load_manifest(source)
    name = name or source.name
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise CatalogError(f"{name!r} cannot name a published catalog: use letters, digits, '_', '.', '-'")
    root = Path(root) if root is not None else published_root()
    target = (root / name).resolve()
    if target == source:
        raise CatalogError("a catalog cannot be published onto itself: give another --name")
    try:
        claim = Claim(target)
    except OSError as exc:
        raise CatalogWriteError(describe_os_error(exc, target, verb="publish")) from exc
    staging = claim.staging
    try:
        files = _publish_into(staging, source, manifest, max_file_bytes, compact)
        claim.swap_in()
    except OSError as exc:
        claim.abandon()
        raise CatalogWriteError(describe_os_error(exc, target, staging, verb="publish")) from exc
    except BaseException:
        claim.abandon()
        raise
    return Published(target, files)


def _publish_into(staging: Path, source: Path, manifest: dict, max_file_bytes: int, compact: bool) -> dict[str, int]:
    """Write the public copy of source into staging and check it; its files and their sizes."""
    (staging / REFERENCE_DIR).mkdir()
    layout: dict[str, list[str]] = {}
    already_compact = "compact" in (manifest.get("published") or {})
    for table_name in TABLES:
        whole = pa.concat_tables(pq.read_table(f) for f in table_files(source, table_name))
        table = _public_table(table_name, whole.cast(TABLES[table_name]))
        table = compact_table(table_name, table, pictures=not already_compact) if compact else table
        files = _write_table(table, staging, table_name, max_file_bytes)
        if not pa.concat_tables(pq.read_table(f) for f in files).equals(table):
            raise CatalogError(f"published table {table_name} reads back different from the catalog's")
        layout[table_name] = [f.relative_to(staging).as_posix() for f in files]
    for layer_id in reference_layer_ids(source):
        arrays = load_reference_arrays(source, layer_id)
        _write_reference(compact_reference(arrays) if compact else arrays, staging, layer_id, max_file_bytes)
    public = public_manifest(manifest)
    public["published"] = {"from": source.name, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           "max_file_bytes": max_file_bytes, "tables": layout}
    if compact:
        public["published"]["compact"] = DESCRIPTION
    (staging / MANIFEST).write_text(json.dumps(public, indent=2, default=str))
    _check_opens(staging, source, compact)
    leaks = find_leaks(staging, _leaked_prefixes(source))
    if leaks:
        raise CatalogError("the published copy still shows the build machine: " + "; ".join(leaks[:5]))
    files = {f.relative_to(staging).as_posix(): f.stat().st_size for f in sorted(staging.rglob("*")) if f.is_file()}
    too_big = [f for f, size in files.items() if size > max_file_bytes]
    if too_big:
        raise CatalogError(f"files over {max_file_bytes} bytes: {too_big}")
    return files
