"""A visitor of a public deployment reads catalog names on the SQL page, never the server's folders."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app import settings
from tests.apptest_tools import rerun


@pytest.fixture
def public_sql_page(app_test, small_catalog, tmp_path, monkeypatch):
    """The SQL page in public mode over a published folder holding `demo` and `broken` (a damaged table)."""
    root = tmp_path / "server" / "published"
    shutil.copytree(small_catalog[0], root / "demo")
    shutil.copytree(small_catalog[0], root / "broken")
    (root / "broken" / "layers.parquet").write_bytes(b"not a parquet file")
    monkeypatch.setenv(settings.PUBLIC_ENV, "1")
    monkeypatch.setenv("LAYERSCOPE_PUBLISHED_DIR", str(root))
    return app_test("pages/2_SQL.py"), root


def _shown(at, query: str, catalog: Path) -> str:
    """Everything the page shows after running query over catalog: error, column names and values."""
    at.selectbox(key="sql_catalog").set_value(str(catalog))
    at.text_area(key="sql_query").input(query)
    at.button(key="sql_run").click()
    rerun(at)
    if at.error:
        return "\n".join(e.value for e in at.error)
    frame = at.dataframe[0].value
    return "\n".join([*map(str, frame.columns), *(str(v) for v in frame.to_numpy().ravel())])


@pytest.mark.parametrize("query, catalog, expected", [
    ("SELECT current_setting('allowed_directories') AS d", "demo", "not available on a public deployment"),
    ("SELECT string_agg(sql, ' ') AS s FROM duckdb_views() WHERE NOT internal", "demo", "'demo/samples.parquet'"),
    ("SELECT DISTINCT filename FROM read_parquet('{root}/demo/samples.parquet', filename=true)", "demo",
     "demo/samples.parquet"),
    ("SELECT * FROM layers", "broken", "broken/layers.parquet"),
    ("SELECT value FROM duckdb_settings() WHERE name = 'secret_directory'", "demo", "not available"),
])
def test_results_and_errors_name_the_catalog_not_the_server_folder(public_sql_page, query, catalog, expected):
    at, root = public_sql_page
    shown = _shown(at, query.format(root=root), root / catalog)
    assert expected in shown
    for folder in (root, root.resolve(), Path.home()):
        assert f"{folder}/" not in shown


def test_the_owner_sees_the_folders_of_their_own_machine(app_test, small_catalog, monkeypatch):
    monkeypatch.delenv(settings.PUBLIC_ENV, raising=False)
    at = app_test("pages/2_SQL.py")
    shown = _shown(at, "SELECT current_setting('allowed_directories') AS d", small_catalog[0])
    assert str(small_catalog[0].resolve()) in shown


def test_masked_column_names_stay_distinct(tmp_path):
    import pyarrow as pa

    from catalog.sql_result import mask_table, path_masks
    catalog = tmp_path / "published" / "demo"
    table = pa.table({f"{catalog}/a": [1], "demo/a": [f"see {catalog}/b"]})
    masked = mask_table(table, path_masks(catalog, catalog.parent))
    assert masked.column_names == ["demo/a", "demo/a_2"]
    assert masked.column("demo/a_2").to_pylist() == ["see demo/b"]
