"""The catalog: Parquet tables and a manifest, written atomically, read through DuckDB."""
from catalog.paths import default_root
from catalog.reader import CatalogScan, find_catalogs, load_manifest, load_reference, scan_catalogs
from catalog.reader import open_catalog as open  # noqa: A001  (catalog.open(path), as documented)
from catalog.schema import SCHEMA_VERSION, TABLES

__all__ = ["open", "load_manifest", "load_reference", "find_catalogs", "scan_catalogs", "CatalogScan",
           "default_root", "SCHEMA_VERSION", "TABLES"]


def open(path, memory_mb=None, threads=None):  # noqa: A001,F811  (catalog.open(path), as documented)
    """reader.open_catalog, after restoring the catalog if its writer was killed mid-swap (catalog.staging)."""
    from pathlib import Path

    from catalog import reader
    from catalog.staging import recover_quietly
    recover_quietly(Path(path).resolve())
    return reader.open_catalog(path, memory_mb=memory_mb, threads=threads)


def scan_catalogs(root):  # noqa: F811
    """reader.scan_catalogs, after restoring the catalogs under root whose writer was killed mid-swap."""
    from catalog import reader
    from catalog.staging import recover_folder
    recover_folder(root)
    return reader.scan_catalogs(root)


def find_catalogs(root):  # noqa: F811
    """Complete catalogs under root, newest first (scan_catalogs, so restored ones included)."""
    return scan_catalogs(root).found
