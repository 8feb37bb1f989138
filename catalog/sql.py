"""`python -m catalog.sql PATH "SELECT ..."`: run one read-only query over a catalog and print it.

Queries typed by users run in a worker process (catalog.sql_process) bounded in time, rows, result
bytes, memory and threads (catalog.sql_limits); `run_query` runs one in this process, for trusted callers
and tests, with the same checks and caps except the hard stop.
"""
from __future__ import annotations

import argparse
import logging
import re
import sys
import threading

import duckdb
import numpy as np
import pyarrow as pa

from catalog.sql_limits import SqlLimits
from catalog.sql_public import refuse_server_details
from catalog.sql_result import CappedResult, fetch_capped
from core.errors import LayerScopeError

ALLOWED = {duckdb.StatementType.SELECT}
MAX_ROWS = SqlLimits.max_rows
TIME_LIMIT_S = SqlLimits.time_limit_s
MAX_BYTES = SqlLimits.max_bytes


def check_query(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but one SELECT (writing, ATTACH, COPY, SET, INSTALL, PRAGMA ...)."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise LayerScopeError(f"could not parse the query: {_first_line(exc)}") from exc
    if len(statements) != 1:
        raise LayerScopeError(f"give exactly one statement (got {len(statements)})")
    if statements[0].type not in ALLOWED:
        kind = statements[0].type.name
        raise LayerScopeError(f"only SELECT queries are allowed here, not {kind}: the catalog is read-only "
                              "(no writing, ATTACH, INSTALL/LOAD, COPY or settings)")


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= limit else text[:limit] + "…"


# DuckDB's ways of saying that a function lives in an extension it has not loaded
_EXTENSION_NEEDED = re.compile(r"required extension '(\w+)|exists in the (\w+) extension")


def _extension_needed(exc: BaseException) -> str | None:
    """The extension a failed query needed, if that is why it failed."""
    found = _EXTENSION_NEEDED.search(str(exc))
    return (found.group(1) or found.group(2)) if found else None


def explain(exc: BaseException, limits: SqlLimits) -> LayerScopeError:
    """A short message for anything a query can raise (no traceback reaches a user)."""
    if isinstance(exc, LayerScopeError):
        return exc
    if isinstance(exc, duckdb.InterruptException):
        return LayerScopeError(f"the query took longer than {limits.time_limit_s:g} s and was stopped")
    if isinstance(exc, (duckdb.OutOfMemoryException, MemoryError)) or "failed to allocate" in str(exc).lower():
        return LayerScopeError(f"the query needed more than the {limits.memory_mb:,} MB of memory it may use "
                               "and was stopped: add a LIMIT, filter earlier or select fewer columns")
    if isinstance(exc, duckdb.Error) and _extension_needed(exc):
        return LayerScopeError(f"query failed: it needs DuckDB's {_extension_needed(exc)} extension, which is not "
                               "available here (extensions cannot be installed or loaded)")
    if isinstance(exc, duckdb.PermissionException):
        return LayerScopeError("only the catalog's own files can be read; reading other files or URLs is "
                               f"refused ({_first_line(exc)})")
    if isinstance(exc, duckdb.Error) and "configuration has been locked" in str(exc):
        return LayerScopeError(f"changing settings is refused: the catalog is queried read-only ({_first_line(exc)})")
    if isinstance(exc, duckdb.Error):
        return LayerScopeError(f"query failed: {_first_line(exc)}")
    if isinstance(exc, pa.ArrowException):
        return LayerScopeError(f"the result could not be converted: {_first_line(exc)}")
    return LayerScopeError(f"the query could not be run ({type(exc).__name__}: {_first_line(exc)})")


def run_capped(con: duckdb.DuckDBPyConnection, sql: str, limits: SqlLimits, public: bool = False) -> CappedResult:
    """Check and run one SELECT in this process, interrupted after the time limit, capped in rows and bytes.

    public: also refuse what would show a visitor the server's settings or folders (catalog.sql_public).
    """
    check_query(con, sql)
    if public:
        refuse_server_details(con, sql)
    timer = threading.Timer(limits.time_limit_s, con.interrupt)
    timer.start()
    try:
        return fetch_capped(con, sql, limits.max_rows, limits.max_bytes)
    except Exception as exc:
        raise explain(exc, limits) from exc
    finally:
        timer.cancel()


def run_query(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int = MAX_ROWS,
              time_limit_s: float = TIME_LIMIT_S, max_bytes: int = MAX_BYTES):
    """The result as (column names, rows), within the row, byte and time limits (in this process)."""
    limits = SqlLimits(time_limit_s=time_limit_s, max_rows=max_rows, max_bytes=max_bytes)
    table = run_capped(con, sql, limits).table
    return table.column_names, list(zip(*(column.to_pylist() for column in table.columns)))


def cell_text(value, column_type: pa.DataType) -> str:
    """One printed value: a float32 as the shortest text that reads back to it (95.2, not the float64
    widening 95.19999694824219), an empty field for NULL."""
    if value is None:
        return ""
    if pa.types.is_float32(column_type):
        return str(np.float32(value))
    return str(value)


def main(argv: list[str] | None = None) -> int:
    from catalog.sql_process import run_isolated
    parser = argparse.ArgumentParser(prog="python -m catalog.sql", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("catalog", help="a catalog folder")
    parser.add_argument("query", help="one SELECT statement over samples, predictions, layers, ...")
    parser.add_argument("--max-rows", type=int, help=f"rows returned (default {MAX_ROWS:,}; LAYERSCOPE_SQL_MAX_ROWS)")
    parser.add_argument("--time-limit", type=float,
                        help=f"seconds (default {TIME_LIMIT_S:g}; LAYERSCOPE_SQL_TIME_LIMIT_S)")
    parser.add_argument("--max-bytes", type=int,
                        help=f"bytes of result (default {MAX_BYTES:,}; LAYERSCOPE_SQL_MAX_BYTES)")
    parser.add_argument("--memory-mb", type=int,
                        help=f"memory of the query (default {SqlLimits.memory_mb}; LAYERSCOPE_SQL_MEMORY_MB)")
    parser.add_argument("--threads", type=int, help=f"default {SqlLimits.threads}; LAYERSCOPE_SQL_THREADS")
    args = parser.parse_args(argv)
    logging.getLogger("catalog").addHandler(logging.NullHandler())  # one line of error here, not the worker's log
    try:
        limits = SqlLimits.from_env(max_rows=args.max_rows, time_limit_s=args.time_limit,
                                    max_bytes=args.max_bytes, memory_mb=args.memory_mb, threads=args.threads)
        result = run_isolated(args.catalog, args.query, limits)
    except LayerScopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = result.table
    print("\t".join(table.column_names))
    types = [field.type for field in table.schema]
    for row in zip(*(column.to_pylist() for column in table.columns)):
        print("\t".join(cell_text(v, t) for v, t in zip(row, types)))
    if result.cut:
        print(f"note: {table.num_rows:,} rows shown, {result.cut}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
