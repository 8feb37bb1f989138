"""User SQL is bounded in rows, bytes, memory, threads and time, and every failure is one short line.

The limits are set low here so that no test allocates much: a query over its budget is refused or cut,
never run to the end.
"""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from catalog import sql, sql_process
from catalog.schema import SCHEMA_VERSION, TABLES
from catalog.sql_limits import SqlLimits
from catalog.sql_result import unique_names
from catalog.writer import CatalogWriter
from core.errors import LayerScopeError

HUGE = "170141183460469231731687303715884105727"  # the largest HUGEINT
UHUGE = "340282366920938463463374607431768211455"  # the largest UHUGEINT


@pytest.fixture(scope="module")
def tiny_catalog(tmp_path_factory) -> str:
    """A complete catalog with empty tables: the queries here read range(), not the catalog."""
    writer = CatalogWriter(tmp_path_factory.mktemp("catalogs") / "tiny")
    for name, schema in TABLES.items():
        writer.write(name, schema.empty_table())
    return str(writer.commit({"schema_version": SCHEMA_VERSION, "dataset": {"name": "tiny"}, "n_samples": 0}))


def _cli(capsys, *argv) -> tuple[int, list[str], str]:
    code = sql.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_duplicate_names_are_made_unique_in_order():
    assert unique_names(["a", "a", "b", "a"]) == ["a", "a_2", "b", "a_3"]
    assert unique_names(["a", "a", "a_2"]) == ["a", "a_3", "a_2"]  # never clashes with a later name
    assert unique_names(["x", "X"]) == ["x", "X_2"]  # DuckDB names are case-insensitive


def test_duplicate_columns_and_hugeint_are_shown(tiny_catalog, capsys):
    code, out, err = _cli(capsys, tiny_catalog,
                          f"SELECT 1 AS a, 2 AS a, {HUGE}::HUGEINT AS h, {UHUGE}::UHUGEINT AS u, "
                          "INTERVAL 1 DAY AS i, [1, 2] AS l, 'ab'::BLOB AS b; -- trailing comment")
    assert code == 0, err
    assert out == ["a\ta_2\th\tu\ti\tl\tb", f"1\t2\t{HUGE}\t{UHUGE}\t1 day\t[1, 2]\t<2 bytes>"]


def test_non_ascii_text_before_a_terminator_or_comment(tiny_catalog, capsys):
    code, out, err = _cli(capsys, tiny_catalog, "SELECT label_name FROM samples WHERE label_name <> 'café' LIMIT 1;")
    assert code == 0 and out == ["label_name"], err
    code, out, err = _cli(capsys, tiny_catalog, "SELECT 'café' AS x, '日本' AS y; -- ça va\n")
    assert code == 0 and out == ["x\ty", "café\t日本"], err


def test_dates_and_timestamps_beyond_pythons_range_come_back_as_text(tiny_catalog, capsys):
    code, out, err = _cli(capsys, tiny_catalog, "SELECT 'infinity'::TIMESTAMP AS t, '-infinity'::DATE AS d, "
                          "TIMESTAMP '294247-01-10 04:00:54' AS far, DATE '2024-02-29' AS leap")
    assert code == 0, err
    assert out == ["t\td\tfar\tleap", "infinity\t-infinity\t294247-01-10 04:00:54\t2024-02-29"]
    code, out, err = _cli(capsys, tiny_catalog, "SELECT * FROM test_all_types()")
    assert code == 0 and len(out) == 4, err  # the header, the minimum, the maximum and the nulls


@pytest.mark.parametrize("query, extension", [
    ("SELECT * FROM sqlite_scan('x.db', 't')", "sqlite_scanner"),
    ("SELECT * FROM read_xlsx('x.xlsx')", "excel"),
    ("SELECT * FROM st_read('x.shp')", "spatial"),
])
def test_a_function_of_an_extension_is_refused_in_a_whole_sentence(tiny_catalog, capsys, query, extension):
    code, out, err = _cli(capsys, tiny_catalog, query)
    assert code == 2 and err.count("\n") == 1, err
    assert f"DuckDB's {extension} extension, which is not available here" in err
    assert err.rstrip().endswith(")") and ":\n" not in err and "/" not in err


def test_result_is_cut_at_the_byte_cap(tiny_catalog, capsys):
    code, out, err = _cli(capsys, tiny_catalog, "SELECT repeat('x', 10000) AS s FROM range(1000)",
                          "--max-bytes", 100_000)
    assert code == 0, err
    rows = len(out) - 1
    assert 1 <= rows < 11 and "0.1 MB result limit" in err
    assert sum(len(line) for line in out[1:]) <= 100_000


def test_settings_come_from_the_environment_and_reach_duckdb(tiny_catalog, capsys, monkeypatch):
    monkeypatch.setenv("LAYERSCOPE_SQL_MEMORY_MB", "96")
    monkeypatch.setenv("LAYERSCOPE_SQL_THREADS", "1")
    monkeypatch.setenv("LAYERSCOPE_SQL_MAX_ROWS", "3")
    code, out, err = _cli(capsys, tiny_catalog, "SELECT current_setting('memory_limit') AS m, "
                          "current_setting('threads') AS t FROM range(10)")
    assert code == 0, err
    assert out[1:] == ["96.0 MiB\t1"] * 3 and "3-row limit" in err
    code, out, err = _cli(capsys, tiny_catalog, "SELECT current_setting('threads') AS t", "--threads", 2)
    assert out[1:] == ["2"]  # a flag wins over the environment


def test_a_query_over_the_memory_limit_is_stopped_with_a_short_message(tiny_catalog, capsys):
    started = time.monotonic()
    code, out, err = _cli(capsys, tiny_catalog, "SELECT repeat('x', 2000000000) AS s", "--memory-mb", 64)
    assert code == 2 and out == []
    assert err.count("\n") == 1 and "64 MB of memory" in err and "Traceback" not in err
    assert time.monotonic() - started < 30


def test_the_worker_address_space_is_capped_by_the_os():
    probe = ("from catalog.sql_worker import limit_process\n"
             "from catalog.sql_limits import SqlLimits\n"
             "limit_process(SqlLimits(memory_mb=64))\n"
             "try:\n    bytearray(4 * 1024 ** 3)\nexcept MemoryError:\n    print('refused')\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "refused", done.stderr


def test_a_worker_that_overruns_is_killed(tiny_catalog, monkeypatch):
    """The hard stop: the parent kills the worker even if DuckDB's own interrupt never comes."""
    monkeypatch.setattr(sql_process, "GRACE_S", -0.7)  # the parent's deadline before the worker's interrupt
    workers = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        workers.append(real_popen(*args, **kwargs))
        return workers[-1]

    monkeypatch.setattr(sql_process.subprocess, "Popen", recording_popen)
    started = time.monotonic()
    with pytest.raises(LayerScopeError, match="longer than 1 s"):
        sql_process.run_isolated(tiny_catalog, "SELECT count(*) FROM range(100000000000) a",
                                 SqlLimits(time_limit_s=1, memory_mb=64))
    assert time.monotonic() - started < 30
    assert workers and workers[0].returncode == -9  # SIGKILL


def test_errors_of_the_command_line_are_one_line(tiny_catalog, capsys):
    for query in ("SELECT nonexistent FROM samples", "SELECT 1/0::HUGEINT + 'x'",
                  "SELECT count(*) FROM range(100000000000) a"):
        code, _, err = _cli(capsys, tiny_catalog, query, "--time-limit", 1)
        assert code == 2 and err.startswith("error:") and err.count("\n") == 1, err
    with pytest.raises(LayerScopeError, match="must be positive"):
        SqlLimits(memory_mb=0)
