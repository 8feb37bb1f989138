"""Turning one checked SELECT into a result any viewer can show, within a row and a byte budget.

DuckDB returns what pandas and Streamlit cannot always display (duplicate column names, HUGEINT,
UHUGEINT, intervals, nested types, dates beyond year 9999), so the query is wrapped: every column gets a
unique name and every type outside a plain set is cast to text. Binary columns become their size, as the
app shows them.
Record batches are fetched until the row or byte cap is passed, so a huge result is never materialised.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

# types pandas, Arrow and Streamlit show as they are; dates and timestamps are not among them, because
# DuckDB's range (`'infinity'`, year 294247) is wider than Python's and pandas', so they come back as text
PLAIN_TYPES = {"boolean", "tinyint", "smallint", "integer", "bigint", "utinyint", "usmallint", "uinteger",
               "ubigint", "float", "double", "varchar"}
BATCH_ROWS = 1024


@dataclass
class CappedResult:
    table: pa.Table
    cut: str | None  # why rows were left out, or None if this is the whole result


def unique_names(names: list[str]) -> list[str]:
    """`a, a, b` -> `a, a_2, b`: duplicate names (e.g. `s.*, p.*` joins) made distinct, order kept."""
    taken = {name.lower() for name in names}
    seen: set[str] = set()
    unique = []
    for name in names:
        candidate, n = name, 1
        while candidate.lower() in seen or (candidate != name and candidate.lower() in taken):
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate.lower())
        unique.append(candidate)
    return unique


def _strip_terminator(sql: str) -> str:
    """The statement without trailing `;` and comments, so that it can sit inside parentheses.

    DuckDB's token offsets count UTF-8 bytes, so the statement is cut as bytes (`'café'` is 6 bytes).
    """
    data = sql.encode()
    end = len(data)
    for offset, kind in reversed(duckdb.tokenize(sql)):
        if kind == duckdb.token_type.comment or data[offset:offset + 1] == b";":
            end = offset
            continue
        break
    return data[:end].decode()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _shown_as(position: int, type_: duckdb.DuckDBPyType) -> str:
    column = f"#{position}"
    if type_.id in PLAIN_TYPES:
        return column
    if type_.id == "decimal":
        return f"CAST({column} AS DOUBLE)"
    if type_.id == "blob":
        return f"CASE WHEN {column} IS NULL THEN NULL ELSE '<' || octet_length({column}) || ' bytes>' END"
    return f"CAST({column} AS VARCHAR)"


def shaped_query(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The user's SELECT wrapped so its columns are uniquely named and of displayable types."""
    body = _strip_terminator(sql)
    relation = con.sql(body)  # binds the query (names, types) without running it
    names = unique_names(list(relation.columns))
    columns = ", ".join(f"{_shown_as(i, t)} AS {_quote(n)}"
                        for i, (n, t) in enumerate(zip(names, relation.types), start=1))
    return f"SELECT {columns} FROM (\n{body}\n) AS user_query"


def fetch_capped(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int, max_bytes: int) -> CappedResult:
    """At most max_rows rows and max_bytes Arrow bytes of the (already checked) SELECT."""
    reader = con.sql(shaped_query(con, sql)).to_arrow_reader(min(BATCH_ROWS, max_rows))
    batches, rows, size, cut = [], 0, 0, None
    for batch in reader:
        if rows == max_rows:  # the cap was reached exactly, and there is more
            cut = f"stopped at the {max_rows:,}-row limit"
            break
        if rows + batch.num_rows > max_rows:
            batch, cut = batch.slice(0, max_rows - rows), f"stopped at the {max_rows:,}-row limit"
        if size + batch.nbytes > max_bytes:
            batch = rows_within(batch, max_bytes - size)
            cut = f"stopped at the {max_bytes / 1e6:g} MB result limit"
        batches.append(batch)
        rows, size = rows + batch.num_rows, size + batch.nbytes
        if cut:
            break
    return CappedResult(pa.Table.from_batches(batches, schema=reader.schema), cut)


def rows_within(data: pa.RecordBatch | pa.Table, budget: int) -> pa.RecordBatch | pa.Table:
    """The longest head of a batch or table whose bytes fit the budget (a slice counts only its own
    bytes; no copy is made)."""
    low, high = 0, data.num_rows
    while low < high:
        middle = (low + high + 1) // 2
        if data.slice(0, middle).nbytes <= budget:
            low = middle
        else:
            high = middle - 1
    return data.slice(0, low)


def path_masks(catalog: str | Path, root: str | Path) -> list[tuple[str, str]]:
    """The server's folders a visitor must not see, each with what is shown instead, longest first.

    The catalog's folder becomes its name, any other folder under the catalogs' root its own name, and
    the home folder (DuckDB's extension and secret directories) `~`.
    """
    catalog, root = Path(catalog), Path(root)
    masks = {}
    for folder, shown in ((Path.home(), "~"), (root, root.name), (catalog, catalog.name)):
        for form in {str(folder), str(folder.resolve())}:
            if Path(form).parent != Path(form):  # never the filesystem's root
                masks[form] = shown
    for form in {str(root), str(root.resolve())}:
        if Path(form).parent != Path(form):
            masks[form + "/"] = ""
    return sorted(masks.items(), key=lambda mask: len(mask[0]), reverse=True)


def mask_text(text: str, masks: list[tuple[str, str]]) -> str:
    for folder, shown in masks:
        text = text.replace(folder, shown)
    return text


def mask_table(table: pa.Table, masks: list[tuple[str, str]]) -> pa.Table:
    """The table with the masked folders replaced in its column names and text columns.

    A column is copied only if it holds a masked folder: a result at the byte limit is otherwise kept
    as it came, not once more per mask (the SQL worker names no server folder, so a match is rare).
    """
    if not masks:
        return table
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            for folder, shown in masks:
                if pc.any(pc.match_substring(column, folder)).as_py():  # a copy only where a folder is found
                    column = pc.replace_substring(column, folder, shown)
        columns.append(column)
    return pa.table(columns, names=unique_names([mask_text(name, masks) for name in table.column_names]))
