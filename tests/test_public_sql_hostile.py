"""No query of a public deployment's visitor shows where the server keeps its files, in any disguise.

The catalogs sit in a folder with a recognisable name; every hostile query's result and error is
searched for that folder, the repository's and the home folder, as they are and as the usual
transformations of a text would show them (separators replaced, reversed, hex, character codes).
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from catalog import sql_process, sql_public
from catalog.paths import REPO_ROOT
from catalog.publish import publish
from catalog.reader import open_catalog
from catalog.sql import run_capped
from catalog.sql_limits import SqlLimits
from core.errors import LayerScopeError

SECRET_FOLDER = "srv-secret-x9"
LIMITS = SqlLimits(time_limit_s=20, max_rows=200, max_bytes=2_000_000, memory_mb=192, threads=1)

SETTING = "current_setting('allowed_directories')::VARCHAR"
REFUSED = [
    f"SELECT {SETTING} AS d",
    f"SELECT replace({SETTING}, '/', '|') AS d",
    f"SELECT reverse({SETTING}) AS d",
    f"SELECT substr({SETTING}, 2, 12) AS a, substr({SETTING}, 14, 12) AS b",
    f"SELECT hex({SETTING}) AS d",
    f"SELECT to_base64({SETTING}::BLOB) AS d",
    f"SELECT list_transform(string_split({SETTING}, ''), c -> ascii(c)) AS codes",
    "SELECT \"CURRENT_SETTING\"('allowed_directories') AS d",
    "SELECT 'allowed_directories'.current_setting() AS d",
    "SELECT list_transform(['allowed_directories'], x -> current_setting(x)) AS d",
    "SELECT (SELECT current_setting(name) FROM (SELECT 'allowed_directories' AS name)) AS d",
    "WITH s AS (SELECT current_setting('allowed_directories') AS d) SELECT * FROM s",
    "SELECT current_setting('temp_directory') AS t, current_setting('home_directory') AS h",
    "SELECT getvariable('anything') AS v",
    "SELECT name, replace(value, '/', '|') AS v FROM duckdb_settings()",
    "SELECT * FROM system.main.duckdb_settings()",
    "SELECT name, reverse(setting) AS v FROM pg_catalog.pg_settings",
    "SELECT * FROM (SUMMARIZE pg_settings)",
    "SELECT * FROM query('SELECT current_setting(''allowed_directories'') AS d')",
    "SELECT * FROM query_table('pg_settings')",
    "SELECT * FROM duckdb_databases()",
    "SELECT * FROM pragma_database_list",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM duckdb_temporary_files()",
    "SELECT * FROM duckdb_logs",
    "SELECT * FROM which_secret('s3://bucket/x', 's3')",
    "PIVOT (SELECT current_setting('allowed_directories') AS a, 1 AS b) ON a IN ('x') USING sum(b)",
    "SELECT * FROM (PIVOT (SELECT name AS a, 1 AS b FROM duckdb_settings()) ON a IN ('x') USING sum(b))",
]
ANSWERED = [  # allowed, and must name the catalog's files only by the catalog's name
    "SELECT * FROM glob('demo/*') ORDER BY 1",
    "SELECT DISTINCT replace(filename, '/', '|') AS f FROM read_parquet('demo/*.parquet', filename=true, "
    "union_by_name=true)",
    "SELECT reverse(string_agg(sql, ' ')) AS s FROM duckdb_views() WHERE NOT internal",
    "SELECT hex(string_agg(sql, ' ')) AS s FROM duckdb_views() WHERE NOT internal",
    "SELECT file_name FROM parquet_metadata('demo/samples.parquet') LIMIT 1",
    "SELECT * FROM sniff_csv('demo/manifest.json')",
    "SELECT filename, size FROM read_blob('demo/*')",
    "SELECT key, path FROM samples LIMIT 20",
    "SELECT * FROM duckdb_functions() WHERE function_name = 'glob'",
    "SELECT current_query() AS q, version() AS v",
]
FAILING = [  # errors, which must not name the server's folders either
    "SELECT * FROM glob('*')",
    "SELECT * FROM read_text('demo')",
    "SELECT * FROM read_parquet('demo/missing.parquet')",
    "SELECT * FROM read_csv('demo/samples.parquet')",
    "SELECT * FROM read_text('../')",
    "SELECT * FROM read_text('/proc/self/cwd/../../etc/passwd')",
    "SELECT * FROM read_text('/proc/self/environ')",
    "SELECT * FROM 'demo/nothing-here.csv'",
    "SELECT * FROM read_xlsx('demo/x.xlsx')",
    "SELECT * FROM broken_view_name",
    "SELECT CAST('x' AS INT)",
]


@pytest.fixture(scope="module")
def published(small_catalog, tmp_path_factory) -> Path:
    """A public deployment's folder, `<tmp>/srv-secret-x9/published`, holding `demo` (as published)."""
    root = tmp_path_factory.mktemp("deploy") / SECRET_FOLDER / "published"
    publish(small_catalog[0], "demo", root)
    return root


def _secrets(root: Path) -> list[str]:
    """Every piece of the server's folders a visitor must not read, in every disguise searched for."""
    # the checkout's folder with its parent's name, never alone: a clone in a folder named "c" or "main"
    # would match any text
    pieces = {str(root.resolve()), str(root), SECRET_FOLDER, root.resolve().parent.parent.name,
              str(REPO_ROOT), f"{REPO_ROOT.parent.name}/{REPO_ROOT.name}", str(Path.home()) + "/",
              tempfile.gettempdir() + "/"}
    forms = set()
    for piece in pieces:
        forms |= {piece, piece.replace("/", "|"), piece[::-1], piece.encode().hex(), piece.encode().hex().upper(),
                  ", ".join(str(ord(c)) for c in piece)}
    return sorted(forms)


def _shown(table) -> str:
    return "\n".join([*table.column_names, *(str(v) for column in table.columns for v in column.to_pylist())])


def _answer(con, query: str) -> str:
    """The text a visitor reads after `query`: the whole result, or the error message."""
    try:
        return _shown(run_capped(con, query, LIMITS, public=True).table)
    except LayerScopeError as exc:
        return f"error: {exc}"


@pytest.fixture
def visitor(published, monkeypatch):
    """A connection as the SQL worker opens it: from the catalogs' folder, with relative views."""
    monkeypatch.chdir(published)
    return open_catalog(published / "demo", memory_mb=LIMITS.memory_mb, threads=LIMITS.threads, relative=True)


@pytest.mark.parametrize("query", REFUSED)
def test_queries_reading_the_settings_are_refused_by_name(visitor, published, query):
    shown = _answer(visitor, query)
    assert shown.startswith("error:") and "not available on a public deployment" in shown
    assert not [secret for secret in _secrets(published) if secret in shown]


@pytest.mark.parametrize("query", ANSWERED)
def test_file_names_and_view_definitions_name_only_the_catalog(visitor, published, query):
    shown = _answer(visitor, query)
    assert not shown.startswith("error:"), shown
    assert not [secret for secret in _secrets(published) if secret in shown]


@pytest.mark.parametrize("query", FAILING)
def test_errors_name_no_server_folder(visitor, published, query):
    shown = _answer(visitor, query)
    assert shown.startswith("error:")
    assert "root:" not in shown  # nothing outside the catalog was read
    assert not [secret for secret in _secrets(published) if secret in shown]


def test_no_setting_but_the_refused_one_holds_a_server_folder(visitor, published):
    rows = visitor.execute("SELECT name, value FROM duckdb_settings() WHERE name <> 'allowed_directories'").fetchall()
    leaks = [(name, value) for name, value in rows for secret in _secrets(published) if secret in str(value)]
    assert leaks == []
    assert "demo/samples.parquet" in visitor.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'samples'"
                                                     ).fetchall()[0][0]


def test_the_worker_refuses_and_answers_the_same(published, small_catalog, tmp_path):
    """Through the real worker process: a damaged catalog's error and a disguised setting."""
    shutil.copytree(published / "demo", published / "broken")
    (published / "broken" / "layers.parquet").write_bytes(b"not a parquet file")
    try:
        with pytest.raises(LayerScopeError) as refused:
            sql_process.run_isolated(published / "demo", REFUSED[1], LIMITS, public=True)
        with pytest.raises(LayerScopeError) as damaged:
            sql_process.run_isolated(published / "broken", "SELECT * FROM layers", LIMITS, public=True)
        answered = sql_process.run_isolated(published / "demo", ANSWERED[1], LIMITS, public=True)
    finally:
        shutil.rmtree(published / "broken")
    assert "not available on a public deployment" in str(refused.value)
    assert "broken/layers.parquet" in str(damaged.value)
    assert _shown(answered.table).count("demo|") >= 1
    for shown in (str(refused.value), str(damaged.value), _shown(answered.table)):
        assert not [secret for secret in _secrets(published) if secret in shown]


def test_the_owner_may_still_read_the_settings(published):
    result = sql_process.run_isolated(published / "demo", f"SELECT {SETTING} AS d", LIMITS)
    assert str(published.resolve() / "demo") in _shown(result.table)


@pytest.mark.parametrize("query", ["SELECT * FROM (SELECT \"Current_Setting\"('allowed_directories'))",
                                   "SELECT * FROM pg_catalog.pg_settings", "SELECT * FROM duckdb_logs_parsed('x')"])
def test_a_query_the_parser_cannot_serialize_is_judged_by_its_words(visitor, query):
    with pytest.raises(LayerScopeError, match="not available on a public deployment"):
        sql_public._refuse_by_tokens(visitor, query)
    sql_public._refuse_by_tokens(visitor, "SELECT 'current_setting' AS word, * FROM range(3)")  # text is no call
