"""User SQL is bounded in rows, bytes, memory, threads and time, and every failure is one short line.

The limits are set low here so that no test allocates much: a query over its budget is refused or cut,
never run to the end.
"""
from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time

import pytest

from catalog import sql, sql_process
from catalog.schema import SCHEMA_VERSION, TABLES
from catalog.sql_budget import ResultBudget
from catalog.sql_limits import SqlLimits
from catalog.sql_result import unique_names
from catalog.writer import CatalogWriter
from core.errors import LayerScopeError

HUGE = "170141183460469231731687303715884105727"  # the largest HUGEINT
UHUGE = "340282366920938463463374607431768211455"  # the largest UHUGEINT
CLOUD_CEILING_MB = 2700  # Community Cloud stops an app above this (docs/DEPLOY.md, "Fitting Cloud's limits")
VGG16_SERVER_PEAK_MB = 1729  # the app serving VGG16 after an upload, measured by scripts.rehearse_cloud


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


SLOW = "SELECT count(*) FROM range(100000000000) a"
RESULT_OF_ABOUT_100_KB = "SELECT repeat('x', 1000) AS s FROM range(100)"


def test_results_kept_by_all_sessions_share_one_byte_budget(tiny_catalog):
    budget = ResultBudget(250_000)
    first = sql_process.run_isolated(tiny_catalog, RESULT_OF_ABOUT_100_KB, SqlLimits(), "a", budget)
    second = sql_process.run_isolated(tiny_catalog, RESULT_OF_ABOUT_100_KB, SqlLimits(), "b", budget)
    assert first.table.num_rows == second.table.num_rows == 100 and 200_000 < budget.used <= 250_000
    with pytest.raises(LayerScopeError, match=r"as many query results as it may \(0.25 MB for all visitors\)"):
        sql_process.run_isolated(tiny_catalog, RESULT_OF_ABOUT_100_KB, SqlLimits(), "c", budget)
    del first  # a session drops its result (a new query, or the session expired)
    gc.collect()
    third = sql_process.run_isolated(tiny_catalog, RESULT_OF_ABOUT_100_KB, SqlLimits(), "c", budget)
    assert third.table.num_rows == 100 and budget.used <= 250_000


def test_the_budget_counts_each_result_with_what_showing_its_head_costs(tiny_catalog):
    """The page shows a result's head up to `shown_max_bytes` on every rerun, and each rerun makes
    SHOWN_COPIES copies of it: the budget holds them with the result, and gives them back with it."""
    from catalog.sql_budget import SHOWN_COPIES
    budget = ResultBudget(400_000, shown_max_bytes=20_000)
    first = sql_process.run_isolated(tiny_catalog, RESULT_OF_ABOUT_100_KB, SqlLimits(), "a", budget)
    showing = SHOWN_COPIES * 20_000  # the head shown is the 20 kB the page may show
    assert first.table.nbytes + showing <= budget.used <= first.table.nbytes + 20_000 + showing
    # two such results would fit if only their bytes counted (about 2 x 100 kB), not with their showing
    with pytest.raises(LayerScopeError, match=r"this one needs 0\.2 MB, 0\.1 MB of it to show it"):
        sql_process.run_isolated(tiny_catalog, RESULT_OF_ABOUT_100_KB, SqlLimits(), "b", budget)
    small = sql_process.run_isolated(tiny_catalog, "SELECT 42 AS n", SqlLimits(), "b", budget)
    assert small.table.num_rows == 1  # a small result is shown whole: it holds (1 + SHOWN_COPIES) x its bytes
    del first, small
    gc.collect()
    assert budget.used == 0


def test_one_session_cannot_hold_every_worker(tiny_catalog, monkeypatch):
    """Two slow queries from one session (a second click) hold one worker: the newer stops the older."""
    monkeypatch.setattr(sql_process, "_workers", sql_process.WorkerPool(2))
    limits = SqlLimits(time_limit_s=60, memory_mb=64)
    outcomes = {}

    def run(name, owner, query):
        try:
            outcomes[name] = sql_process.run_isolated(tiny_catalog, query, limits, owner)
        except LayerScopeError as exc:
            outcomes[name] = exc

    first = threading.Thread(target=run, args=("first", "visitor", SLOW))
    second = threading.Thread(target=run, args=("second", "visitor", SLOW))
    first.start()
    time.sleep(1)
    second.start()
    try:
        first.join(timeout=30)
        assert "a newer query from this page replaced it" in str(outcomes["first"])
        run("other", "someone else", "SELECT 42 AS n")
        assert outcomes["other"].table.to_pylist() == [{"n": 42}]
    finally:
        run("last", "visitor", "SELECT 1 AS n")  # stops the second slow query
        second.join(timeout=30)
    assert "replaced" in str(outcomes["second"]) and outcomes["last"].table.num_rows == 1


def test_a_free_worker_goes_to_the_visitor_who_has_run_nothing():
    """Tabs that keep every worker busy go behind a newcomer: it gets the next worker that frees."""
    pool = sql_process.WorkerPool(1)
    assert pool.acquire("tab 1", timeout=1)
    pool.release()
    assert pool.acquire("tab 2", timeout=1)  # both tabs have been served; tab 2 holds the only worker
    order = []

    def wait(owner):
        if pool.acquire(owner, timeout=30):
            order.append(owner)
            pool.release()

    hostile = threading.Thread(target=wait, args=("tab 1",))
    hostile.start()
    time.sleep(0.3)  # tab 1 is in line first
    newcomer = threading.Thread(target=wait, args=("newcomer",))
    newcomer.start()
    time.sleep(0.3)
    pool.release()
    hostile.join(timeout=10)
    newcomer.join(timeout=10)
    assert order == ["newcomer", "tab 1"]
    assert pool.busy == 0  # every worker handed back


def test_the_default_limits_fit_beside_vgg16_in_community_clouds_memory():
    """docs/DEPLOY.md's arithmetic, with the worker's start-up memory measured here."""
    from catalog.sql_budget import DEFAULT_RESULTS_MB
    from catalog.sql_worker import HEADROOM_MB
    probe = ("import catalog.sql_worker\n"
             "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmRSS')))")
    start_mb = int(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                  check=True).stdout) / 1024
    defaults, workers = SqlLimits(), sql_process._worker_count()
    sql_mb = workers * (start_mb + defaults.memory_mb + HEADROOM_MB + defaults.max_bytes / 1e6) + DEFAULT_RESULTS_MB
    assert sql_mb + VGG16_SERVER_PEAK_MB <= CLOUD_CEILING_MB, sql_mb
