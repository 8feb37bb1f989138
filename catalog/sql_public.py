"""What a visitor's query may call on a public deployment: nothing that reads DuckDB's settings.

The SQL worker names the catalog's files relative to its working directory (catalog.reader.open_catalog
with relative=True), so views, file names and errors hold only catalog names. One absolute path remains:
DuckDB resolves `allowed_directories` itself and shows it in the settings. Masking a result afterwards
cannot catch a transformed copy (`replace(current_setting(...), '/', '|')`), so the query is refused
before it runs, by its parse tree: no settings reader, no SQL run from a string, and only table
functions that read data or describe the catalog.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import duckdb

from core.errors import LayerScopeError

REFUSED_FUNCTIONS = {"current_setting", "getvariable", "getenv"}
TABLE_FUNCTIONS = {  # the table functions a visitor may call
    "range", "generate_series", "unnest", "repeat", "repeat_row", "glob", "summary", "histogram",
    "histogram_values", "test_all_types", "test_vector_types", "json_each", "json_tree",
    "read_parquet", "parquet_scan", "parquet_metadata", "parquet_schema", "parquet_file_metadata",
    "parquet_kv_metadata", "read_text", "read_blob", "read_csv", "read_csv_auto", "sniff_csv", "read_json",
    "read_json_auto", "read_ndjson", "read_ndjson_auto", "read_json_objects", "read_ndjson_objects",
    "duckdb_views", "duckdb_tables", "duckdb_columns", "duckdb_schemas", "duckdb_types", "duckdb_functions",
    "duckdb_keywords", "pragma_table_info", "pragma_show", "pragma_version", "pragma_platform",
    "pg_timezone_names", "icu_calendar_names",
}
REFUSED_TABLES = {"pg_settings", "duckdb_logs", "duckdb_databases", "pragma_database_list", "pg_database"}
NOT_HERE = "is not available on a public deployment (it would show the server's settings or folders)"


def refuse_server_details(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """LayerScopeError if the (single, checked) SELECT would call anything that reveals the server."""
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])
    except (duckdb.Error, ValueError) as exc:
        raise LayerScopeError(f"the query could not be checked ({type(exc).__name__})") from exc
    if tree.get("error"):  # a form the serializer does not cover (PIVOT): judged by its words instead
        _refuse_by_tokens(con, sql)
        return
    for kind, name in _references(tree):
        if kind == "function" and name in REFUSED_FUNCTIONS:
            raise LayerScopeError(f"{name}() {NOT_HERE}")
        if kind == "table function" and name not in TABLE_FUNCTIONS:
            raise LayerScopeError(f"the table function {name}() {NOT_HERE}: query the catalog's views, "
                                  "or read_parquet, glob, range, unnest")
        if kind == "table" and name in REFUSED_TABLES:
            raise LayerScopeError(f"the view {name} {NOT_HERE}")


def _references(node) -> Iterator[tuple[str, str]]:
    """Every (kind, lower-case name) the parse tree calls or reads: function, table function, table."""
    if isinstance(node, list):
        for item in node:
            yield from _references(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "TABLE_FUNCTION" and isinstance(node.get("function"), dict):
        yield "table function", str(node["function"].get("function_name", "")).lower()
        yield from _references(node["function"].get("arguments"))
        yield from _references({k: v for k, v in node.items() if k != "function"})
        return
    if node.get("class") == "FUNCTION" and "function_name" in node:
        yield "function", str(node["function_name"]).lower()
    if node.get("type") == "BASE_TABLE" and "table_name" in node:
        yield "table", str(node["table_name"]).lower()
    for value in node.values():
        yield from _references(value)


def _refuse_by_tokens(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse a query that names any settings reader or table function outside the allowed ones."""
    names = {row[0].lower() for row in con.execute("SELECT function_name FROM duckdb_functions() "
                                                   "WHERE function_type IN ('table', 'table_macro')").fetchall()}
    refused = REFUSED_FUNCTIONS | REFUSED_TABLES | (names - TABLE_FUNCTIONS)
    for word in _words(sql):
        if word in refused:
            raise LayerScopeError(f"{word} {NOT_HERE}")


def _words(sql: str) -> Iterator[str]:
    """The identifiers and keywords of sql, unquoted and in lower case (string literals left out)."""
    data = sql.encode()
    tokens = duckdb.tokenize(sql)
    for (start, kind), following in zip(tokens, [*(t[0] for t in tokens[1:]), len(data)]):
        if kind in (duckdb.token_type.identifier, duckdb.token_type.keyword):
            word = data[start:following].decode(errors="replace").strip()
            if word.startswith('"') and word.endswith('"') and len(word) > 1:
                word = word[1:-1].replace('""', '"')
            yield word.lower()
