"""The catalog: Parquet tables and a manifest, written atomically, read through DuckDB."""
from catalog.paths import catalog_roots, default_root
from catalog.reader import CatalogScan, find_catalogs, load_manifest, load_reference, scan_catalogs
from catalog.reader import open_catalog as open  # noqa: A001  (catalog.open(path), as documented)
from catalog.schema import SCHEMA_VERSION, TABLES

__all__ = ["open", "load_manifest", "load_reference", "find_catalogs", "scan_catalogs", "CatalogScan",
           "catalog_roots", "default_root", "SCHEMA_VERSION", "TABLES"]
