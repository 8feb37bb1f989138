"""`python -m catalog.sql PATH "SELECT ..."`: run one read-only query over a catalog and print it."""
from __future__ import annotations

import argparse
import sys
import threading

import duckdb

from catalog.reader import open_catalog
from core.errors import LayerScopeError

ALLOWED = {duckdb.StatementType.SELECT}
MAX_ROWS = 10_000
TIME_LIMIT_S = 20.0


def check_query(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but one SELECT (writing, ATTACH, COPY, SET, INSTALL, PRAGMA ...)."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise LayerScopeError(f"could not parse the query: {exc}") from exc
    if len(statements) != 1:
        raise LayerScopeError(f"give exactly one statement (got {len(statements)})")
    if statements[0].type not in ALLOWED:
        kind = statements[0].type.name
        raise LayerScopeError(f"only SELECT queries are allowed here, not {kind}: the catalog is read-only "
                              "(no writing, ATTACH, INSTALL/LOAD, COPY or settings)")


def run_query(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int = MAX_ROWS,
              time_limit_s: float = TIME_LIMIT_S):
    """The result as (column names, rows), at most max_rows rows, interrupted after time_limit_s."""
    check_query(con, sql)
    timer = threading.Timer(time_limit_s, con.interrupt)
    timer.start()
    try:
        cursor = con.execute(sql)
        rows = cursor.fetchmany(max_rows)
    except duckdb.InterruptException as exc:
        raise LayerScopeError(f"the query took longer than {time_limit_s:g} s and was stopped") from exc
    except duckdb.PermissionException as exc:
        raise LayerScopeError("only the catalog's own files can be read; reading other files or URLs is "
                              f"refused ({str(exc).splitlines()[0]})") from exc
    except duckdb.Error as exc:
        if "configuration has been locked" in str(exc):
            raise LayerScopeError("changing settings is refused: the catalog is queried read-only "
                                  f"({str(exc).splitlines()[0]})") from exc
        raise LayerScopeError(f"query failed: {exc}") from exc
    finally:
        timer.cancel()
    return [d[0] for d in cursor.description], rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog.sql", description=__doc__)
    parser.add_argument("catalog", help="a catalog folder")
    parser.add_argument("query", help="one SELECT statement over samples, predictions, layers, ...")
    parser.add_argument("--max-rows", type=int, default=MAX_ROWS)
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT_S, help="seconds")
    args = parser.parse_args(argv)
    try:
        con = open_catalog(args.catalog)
        columns, rows = run_query(con, args.query, args.max_rows, args.time_limit)
    except LayerScopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\t".join(columns))
    for row in rows:
        print("\t".join("" if v is None else f"<{len(v)} bytes>" if isinstance(v, bytes) else str(v)
                        for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
