"""The SQL page and catalog.sql: one read-only SELECT over the catalog's views, nothing else."""
from __future__ import annotations

from pathlib import Path

import pytest

import catalog
from catalog import sql
from core.errors import LayerScopeError
from tests.paths import REPO

REFUSED = {
    "CREATE TABLE t AS SELECT 1": "CREATE",
    "CREATE VIEW v AS SELECT 1": "CREATE",
    "INSERT INTO samples SELECT * FROM samples": "INSERT",
    "UPDATE samples SET key = 'x'": "UPDATE",
    "DELETE FROM samples": "DELETE",
    "DROP VIEW samples": "DROP",
    "ALTER VIEW samples RENAME TO s": "ALTER",
    "ATTACH '/tmp/layerscope-x.db' AS x": "ATTACH",
    "DETACH memory": "DETACH",
    "INSTALL httpfs": "LOAD",
    "LOAD httpfs": "LOAD",
    "COPY samples TO '/tmp/layerscope-x.csv'": "COPY",
    "COPY samples FROM '/etc/passwd'": "COPY",
    "EXPORT DATABASE '/tmp/layerscope-x'": "EXPORT",
    "SET enable_external_access = true": "SET",
    "RESET lock_configuration": "SET",
    "PRAGMA enable_profiling": "PRAGMA",
    "CALL pragma_version()": "CALL",
    "SELECT 1; SELECT 2": "exactly one",
    "SELECT * FROM query('ATTACH ''/tmp/layerscope-x.db''')": "query failed",
    "SELECT * FROM enable_logging(storage='file', storage_path='/tmp/layerscope-log')": "settings is refused",
    "SELECT * FROM enable_profiling()": "settings is refused",
}


def _readers(con) -> list[str]:
    """Every DuckDB table function that takes a file name: read_*, *_scan, parquet_*, sniff_csv, glob."""
    names = {r[0] for r in con.execute("SELECT DISTINCT function_name FROM duckdb_functions() "
                                       "WHERE function_type = 'table'").fetchall()}
    picked = sorted(n for n in names if n.startswith(("read_", "parquet_")) or n in ("sniff_csv", "glob", "parquet_scan"))
    assert {"read_csv", "read_text", "read_blob", "read_json", "read_parquet", "glob"} <= set(picked)
    return picked


@pytest.mark.parametrize("query, word", sorted(REFUSED.items()))
def test_every_refused_form_is_refused_with_a_clear_message(small_catalog, query, word):
    con = catalog.open(small_catalog[0])
    with pytest.raises(LayerScopeError) as caught:
        sql.run_query(con.cursor(), query)
    assert word in str(caught.value)
    assert con.execute("SELECT count(*) FROM samples").fetchone()[0] > 0  # still working
    for leftover in ("/tmp/layerscope-x.db", "/tmp/layerscope-x.csv", "/tmp/layerscope-x", "/tmp/layerscope-log"):
        assert not Path(leftover).exists()


def test_no_reader_function_reads_etc_passwd(small_catalog):
    con = catalog.open(small_catalog[0])
    readers = _readers(con)
    for function in readers:
        for target in ("/etc/passwd", "file:///etc/passwd", str(small_catalog[0]) + "/../../../../etc/passwd"):
            with pytest.raises(LayerScopeError, match="catalog's own files|query failed") as caught:
                sql.run_query(con.cursor(), f"SELECT * FROM {function}('{target}')")
            assert "root:" not in str(caught.value)
    with pytest.raises(LayerScopeError):
        sql.run_query(con.cursor(), "SELECT * FROM '/etc/passwd'")
    # the catalog's own files remain readable
    columns, rows = sql.run_query(con.cursor(), f"SELECT count(*) FROM read_parquet('{small_catalog[0]}/samples.parquet')")
    assert rows[0][0] == small_catalog[1]["n_samples"]


def test_the_command_line_follows_the_same_rules(small_catalog, capsys):
    assert sql.main([str(small_catalog[0]), "SELECT * FROM read_text('/etc/passwd')"]) == 2
    err = capsys.readouterr().err
    assert "catalog's own files" in err and "root:" not in err


@pytest.fixture
def sql_page(app_test):
    """The SQL page after its first run, over the small catalog."""
    return app_test("pages/2_SQL.py")


def test_sql_page_runs_each_example_with_csv_download(sql_page, small_catalog):
    at = sql_page
    for name in at.selectbox(key="sql_example").options:
        at.selectbox(key="sql_example").select(name).run()
        assert at.text_area(key="sql_query").value.lstrip().upper().startswith("SELECT")
        at.button(key="sql_run").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, (name, [e.value for e in at.error])
        assert at.dataframe and len(at.dataframe[0].value.columns) >= 2, name
        assert at.get("download_button"), name
    at.selectbox(key="sql_example").select("Per-layer separability").run()
    at.button(key="sql_run").click().run()
    frame = at.dataframe[0].value
    assert len(frame) == small_catalog[1]["n_layers"] and "knn_accuracy_group" in frame.columns


@pytest.mark.parametrize("query, word", [
    ("DROP VIEW samples", "DROP"), ("ATTACH '/tmp/layerscope-x.db'", "ATTACH"), ("INSTALL httpfs", "LOAD"),
    ("COPY samples TO '/tmp/layerscope-x.csv'", "COPY"), ("SET threads = 1", "SET"),
    ("SELECT * FROM read_csv('/etc/passwd')", "catalog's own files"),
])
def test_sql_page_refuses_with_a_message_and_keeps_working(sql_page, query, word):
    at = sql_page
    at.text_area(key="sql_query").input(query).run()
    at.button(key="sql_run").click().run()
    assert not at.exception
    assert at.error and word in at.error[0].value
    at.text_area(key="sql_query").input("SELECT count(*) AS n FROM samples").run()
    at.button(key="sql_run").click().run()
    assert not at.error and at.dataframe[0].value.n.iloc[0] > 0


def test_sql_page_stops_at_the_row_limit(sql_page, monkeypatch):
    at = sql_page
    at.text_area(key="sql_query").input(f"SELECT * FROM range({sql.MAX_ROWS + 50})").run()
    at.button(key="sql_run").click().run()
    assert len(at.dataframe[0].value) == sql.MAX_ROWS
    assert any("row limit" in c.value for c in at.caption)


def test_visitors_never_see_error_details():
    import tomllib
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


@pytest.fixture
def bounded_sql_page(sql_page, monkeypatch):
    """The SQL page with low limits, so that the hostile queries below stay small."""
    monkeypatch.setenv("LAYERSCOPE_SQL_MAX_BYTES", "100000")
    monkeypatch.setenv("LAYERSCOPE_SQL_TIME_LIMIT_S", "1")
    monkeypatch.setenv("LAYERSCOPE_SQL_MEMORY_MB", "128")
    return sql_page


def _run(at, query):
    at.text_area(key="sql_query").input(query).run()
    at.button(key="sql_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("query, columns, shown", [
    ("SELECT 1 AS a, 2 AS a", ["a", "a_2"], [1, 2]),
    ("SELECT s.*, p.* FROM samples s JOIN predictions p USING (sample_id) LIMIT 1", None, None),
    ("SELECT 170141183460469231731687303715884105727::HUGEINT AS h", ["h"],
     ["170141183460469231731687303715884105727"]),
])
def test_sql_page_shows_duplicate_columns_and_hugeint(bounded_sql_page, query, columns, shown):
    at = _run(bounded_sql_page, query)
    assert not at.error, [e.value for e in at.error]
    frame = at.dataframe[0].value
    assert frame.columns.is_unique
    if columns:
        assert list(frame.columns) == columns and list(frame.iloc[0]) == shown


def test_sql_page_shows_dates_beyond_pythons_range_as_text(bounded_sql_page):
    at = _run(bounded_sql_page, "SELECT 'infinity'::TIMESTAMP AS t, DATE '2024-02-29' AS leap")
    assert not at.error, [e.value for e in at.error]
    assert list(at.dataframe[0].value.iloc[0]) == ["infinity", "2024-02-29"]
    at = _run(at, "SELECT * FROM test_all_types()")
    assert not at.error, [e.value for e in at.error]
    assert len(at.dataframe[0].value) == 3


def test_sql_page_cuts_a_result_over_the_byte_cap(bounded_sql_page):
    at = _run(bounded_sql_page, "SELECT repeat('x', 10000) AS s FROM range(1000)")
    assert not at.error and 1 <= len(at.dataframe[0].value) <= 10
    assert any("0.1 MB result limit" in c.value for c in at.caption)
    assert at.session_state["sql_result"]["result"].table.nbytes < 200_000  # only the capped result is kept


@pytest.mark.parametrize("query, word", [
    ("SELECT count(*) FROM range(100000000000) a", "longer than 1 s"),
    ("SELECT repeat('x', 2000000000) AS s", "128 MB of memory"),
    ("SELECT nonexistent_column FROM samples", "query failed"),
])
def test_sql_page_stops_a_hostile_query_with_a_short_message(bounded_sql_page, query, word):
    at = _run(bounded_sql_page, query)
    assert at.error and word in at.error[0].value and "Traceback" not in at.error[0].value
    assert len(at.error[0].value) < 400
    at = _run(at, "SELECT count(*) AS n FROM samples")
    assert not at.error and at.dataframe[0].value.n.iloc[0] > 0


def test_sql_page_explains_an_unexpected_failure_without_a_traceback(bounded_sql_page, monkeypatch, caplog):
    from catalog import sql_process

    def broken(*_, **__):
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(sql_process, "run_isolated", broken)
    at = _run(bounded_sql_page, "SELECT 1")
    assert at.error and "logged on the server" in at.error[0].value
    assert "something inside broke" not in at.error[0].value
    assert "something inside broke" in caplog.text  # the details went to the server log


def test_sessions_share_the_servers_result_budget(app_test, monkeypatch):
    """Results kept by every session add up to at most LAYERSCOPE_SQL_RESULTS_MB; a result that does not
    fit gets one line, and a session that moves on gives its bytes back."""
    from catalog import sql_budget
    # each result holds about 100 kB and 6 x the 5 kB shown of it: two fit, not three
    monkeypatch.setattr(sql_budget, "_shared", sql_budget.ResultBudget(300_000, shown_max_bytes=5_000))
    big = "SELECT repeat('x', 1000) AS s FROM range(100)"  # about 100 kB
    first, second, third = (app_test("pages/2_SQL.py") for _ in range(3))
    for at in (first, second):
        assert not _run(at, big).error
    _run(third, big)
    assert third.error and "as many query results" in third.error[0].value and not third.dataframe
    assert third.error[0].value.count("\n") == 0
    _run(first, "SELECT 1 AS n")  # the first session moves on: what it held goes back to the budget
    assert not _run(third, big).error and third.session_state["sql_result"]["result"].table.num_rows == 100


def test_the_page_shows_the_head_its_budget_counts_and_says_so(app_test, monkeypatch):
    """Each rerun sends what the table shows to the browser again, so the page shows a result's head up
    to what the budget counts for showing it, and says where the rest is."""
    from catalog import sql_budget
    monkeypatch.setattr(sql_budget, "_shared", sql_budget.ResultBudget(1_000_000, shown_max_bytes=20_000))
    at = _run(app_test("pages/2_SQL.py"), "SELECT repeat('x', 1000) AS s FROM range(100)")  # about 100 kB
    assert not at.error, [e.value for e in at.error]
    shown = len(at.dataframe[0].value)
    assert 10 <= shown < 20  # about 1 kB a row
    assert at.session_state["sql_result"]["result"].table.num_rows == 100  # kept whole, for the CSV
    caption = " ".join(c.value for c in at.caption)
    assert f"100 rows; the table shows the first {shown}" in caption and "Download CSV has every row" in caption
    at = _run(at, "SELECT 42 AS n")
    assert len(at.dataframe[0].value) == 1 and "the table shows the first" not in " ".join(c.value for c in at.caption)
