"""Running user SQL in a worker process that is killed at the time limit.

A subprocess (`python -m catalog.sql_worker`), not multiprocessing: spawn would re-run the caller's
__main__, which under Streamlit is a page. Few workers run at once (LAYERSCOPE_SQL_WORKERS, default 2),
so that many visitors cannot together take more than that many times the memory limit.
"""
from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow as pa

from catalog.paths import REPO_ROOT
from catalog.sql_limits import SqlLimits
from catalog.sql_result import CappedResult
from core.errors import LayerScopeError

log = logging.getLogger(__name__)
WORKERS_ENV = "LAYERSCOPE_SQL_WORKERS"
START_TIMEOUT_S = 60.0   # importing DuckDB and Arrow on a busy machine
GRACE_S = 1.0            # after the time limit, for the worker's own interrupt to answer first
QUEUE_TIMEOUT_S = 10.0


def _worker_count() -> int:
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    if text:
        log.warning("%s=%r is not a positive whole number: running 2 queries at once", WORKERS_ENV, text)
    return 2


_workers = threading.BoundedSemaphore(_worker_count())


def run_isolated(catalog: str | Path, sql: str, limits: SqlLimits) -> CappedResult:
    """The capped result of one SELECT, run in a bounded worker process; LayerScopeError on any failure."""
    if not _workers.acquire(timeout=QUEUE_TIMEOUT_S):
        raise LayerScopeError("too many queries are running right now: try again in a moment")
    try:
        with tempfile.TemporaryDirectory(prefix="layerscope-sql-") as folder:
            out = Path(folder) / "result.arrow"
            request = {"catalog": str(Path(catalog).resolve()), "sql": sql, "out": str(out),
                       "limits": limits.__dict__}
            (Path(folder) / "request.json").write_text(json.dumps(request))
            answer = _ask_worker(Path(folder) / "request.json", request, limits)
            if "error" in answer:
                raise LayerScopeError(answer["error"])
            with pa.OSFile(str(out)) as source:
                table = pa.ipc.open_stream(source).read_all()
            return CappedResult(table, answer.get("cut"))
    finally:
        _workers.release()


def _ask_worker(request_file: Path, request: dict, limits: SqlLimits) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    worker = subprocess.Popen([sys.executable, "-m", "catalog.sql_worker", str(request_file)],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO_ROOT)
    try:
        early = _read_until_ready(worker)
        try:
            stdout, stderr = worker.communicate(timeout=limits.time_limit_s + GRACE_S)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, stderr = worker.communicate()
            log.warning("SQL worker killed after %.1f s: %r", limits.time_limit_s + GRACE_S, request["sql"][:500])
            raise LayerScopeError(f"the query took longer than {limits.time_limit_s:g} s and was stopped") from None
        if stderr:
            log.warning("SQL worker for %r said:\n%s", request["sql"][:500], stderr.decode(errors="replace")[-4000:])
        lines = [line for line in (early + stdout).decode(errors="replace").splitlines() if line.startswith("{")]
        if worker.returncode != 0 or not lines:
            raise LayerScopeError(
                f"the query was stopped: it needed more than the {limits.memory_mb:,} MB of memory it may use, "
                "or it crashed the query engine (add a LIMIT, filter earlier or select fewer columns)")
        return json.loads(lines[-1])
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def _read_until_ready(worker: subprocess.Popen) -> bytes:
    """Wait for the worker's `ready` (start-up is not query time); return what came after it."""
    fd, buffer, deadline = worker.stdout.fileno(), b"", time.monotonic() + START_TIMEOUT_S
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise LayerScopeError("the query worker did not start in time: try again in a moment")
        chunk = os.read(fd, 65536)
        if not chunk:
            log.warning("SQL worker exited at start: %s", worker.stderr.read().decode(errors="replace")[-4000:])
            raise LayerScopeError("the query worker could not start: see the server log")
        buffer += chunk
    return buffer.partition(b"\n")[2]
