"""Running user SQL in a worker process that is killed at the time limit.

A subprocess (`python -m catalog.sql_worker`), not multiprocessing: spawn would re-run the caller's
__main__, which under Streamlit is a page. Few workers run at once (LAYERSCOPE_SQL_WORKERS, default 2),
so that many visitors cannot together take more than that many times the memory limit. Each owner (a
session of the SQL page) runs one query at a time: its newer query stops its older one, so one visitor
clicking again and again cannot hold every worker. A visitor with several tabs is several owners, so a
free worker goes to the waiting owner served least recently (one that has run nothing first): someone
arriving while tabs keep every worker busy with time-limit queries gets the next worker that frees, at
most one query's time limit later; a query still without a worker then gets a one-line "busy" message. With a ResultBudget, a
result is read back only if it fits what the process may still keep (catalog.sql_budget).
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from catalog.paths import REPO_ROOT
from catalog.sql_budget import ResultBudget
from catalog.sql_limits import SqlLimits
from catalog.sql_result import CappedResult
from catalog.staging import recover_quietly
from core.errors import LayerScopeError

log = logging.getLogger(__name__)
WORKERS_ENV = "LAYERSCOPE_SQL_WORKERS"
START_TIMEOUT_S = 60.0   # importing DuckDB and Arrow on a busy machine
GRACE_S = 1.0            # after the time limit, for the worker's own interrupt to answer first
QUEUE_TIMEOUT_S = 10.0
SUPERSEDED = "stopped: a newer query from this page replaced it"


def _worker_count() -> int:
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    if text:
        log.warning("%s=%r is not a positive whole number: running 2 queries at once", WORKERS_ENV, text)
    return 2


class WorkerPool:
    """The query workers a process may run at once, handed to waiting owners least recently served first."""

    FORGET_AFTER_S = 600.0  # an owner not served for this long waits as a newcomer

    def __init__(self, size: int):
        self.size, self.busy = size, 0
        self._changed = threading.Condition()
        self._waiting: list[tuple[float, int]] = []  # (owner last served, arrival): the smallest goes first
        self._served: dict[Hashable, float] = {}
        self._arrivals = itertools.count()

    def acquire(self, owner: Hashable | None, timeout: float) -> bool:
        """Wait for a worker, behind owners served less recently; False after timeout seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            ticket = (self._served.get(owner, 0.0), next(self._arrivals))
            self._waiting.append(ticket)
            try:
                while self.busy >= self.size or min(self._waiting) != ticket:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._changed.wait(remaining)
                self.busy += 1
                if owner is not None:
                    self._remember(owner)
                return True
            finally:
                self._waiting.remove(ticket)
                self._changed.notify_all()

    def _remember(self, owner: Hashable) -> None:
        now = time.monotonic()
        self._served[owner] = now
        if len(self._served) > 256:  # sessions come and go: forget those long gone
            self._served = {o: t for o, t in self._served.items() if now - t < self.FORGET_AFTER_S}

    def release(self) -> None:
        with self._changed:
            self.busy -= 1
            self._changed.notify_all()


_workers = WorkerPool(_worker_count())


@dataclass(eq=False)
class _Run:
    """One owner's query in flight: its worker once started, and whether a newer query stopped it."""
    worker: subprocess.Popen | None = None
    superseded: bool = False


_runs_lock = threading.Lock()
_runs: dict[Hashable, _Run] = {}              # owner -> its query in flight
_turns: dict[Hashable, threading.Lock] = {}   # owner -> held while one of its queries runs


def _take_turn(owner: Hashable, run: _Run, limits: SqlLimits) -> threading.Lock:
    """Stop the owner's query in flight (this one replaces it) and wait until it has let go."""
    with _runs_lock:
        previous = _runs.get(owner)
        if previous is not None:
            previous.superseded = True
            if previous.worker is not None and previous.worker.poll() is None:
                previous.worker.kill()
        _runs[owner] = run
        turn = _turns.setdefault(owner, threading.Lock())
    if not turn.acquire(timeout=limits.time_limit_s + GRACE_S + QUEUE_TIMEOUT_S):
        raise LayerScopeError("your previous query is still being stopped: try again in a moment")
    return turn


def _end_turn(owner: Hashable, run: _Run, turn: threading.Lock) -> None:
    with _runs_lock:
        if _runs.get(owner) is run:
            del _runs[owner]
            if _turns.get(owner) is turn:
                del _turns[owner]
    turn.release()


def run_isolated(catalog: str | Path, sql: str, limits: SqlLimits, owner: Hashable | None = None,
                 budget: ResultBudget | None = None, public: bool = False) -> CappedResult:
    """The capped result of one SELECT, run in a bounded worker process; LayerScopeError on any failure.

    owner (e.g. a session id) runs one query at a time, its newest; budget, if given, holds the result;
    public refuses what would show a visitor the server's settings or folders (catalog.sql_public).
    A catalog whose rebuild or publish was killed mid-swap is restored first, as `catalog.open` does.
    """
    recover_quietly(Path(catalog).resolve())
    request = {"catalog": str(Path(catalog).resolve()), "sql": sql, "limits": limits.__dict__, "public": public}
    if owner is None:
        return _run_on_a_worker(request, limits, _Run(), budget, None)
    run = _Run()
    turn = _take_turn(owner, run, limits)
    try:
        if run.superseded:
            raise LayerScopeError(SUPERSEDED)
        return _run_on_a_worker(request, limits, run, budget, owner)
    finally:
        _end_turn(owner, run, turn)


def _run_on_a_worker(request: dict, limits: SqlLimits, run: _Run, budget: ResultBudget | None,
                     owner: Hashable | None) -> CappedResult:
    # long enough for a running query to reach its time limit and give its worker to the first in line
    if not _workers.acquire(owner, timeout=limits.time_limit_s + GRACE_S + QUEUE_TIMEOUT_S):
        raise LayerScopeError(f"all {_workers.size} query workers are busy with other visitors' queries: "
                              "try again in a moment")
    try:
        with tempfile.TemporaryFile(prefix="layerscope-sql-") as out:  # unnamed: the worker gets its descriptor
            answer = _ask_worker(request, out.fileno(), limits, run)
            if "error" in answer:
                raise LayerScopeError(answer["error"])
            size = os.fstat(out.fileno()).st_size
            held = budget.reserve(size) if budget is not None else 0
            try:
                out.seek(0)
                table = pa.ipc.open_stream(out).read_all()
                result = CappedResult(table, answer.get("cut"))
                return result if budget is None else budget.keep(result, held)
            except BaseException:
                if budget is not None:
                    budget.release(held)
                raise
    finally:
        _workers.release()


def _ask_worker(request: dict, out: int, limits: SqlLimits, run: _Run) -> dict:
    """The worker's answer; a worker stopped because a newer query replaced it says so, whatever it did."""
    try:
        return _answer_of_worker(request, out, limits, run)
    except LayerScopeError:
        if run.superseded:
            raise LayerScopeError(SUPERSEDED) from None
        raise


def _answer_of_worker(request: dict, out: int, limits: SqlLimits, run: _Run) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    with _runs_lock:
        if run.superseded:
            raise LayerScopeError(SUPERSEDED)
        worker = run.worker = subprocess.Popen([sys.executable, "-m", "catalog.sql_worker", str(out)],
                                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, env=env, cwd=REPO_ROOT, pass_fds=(out,))
    try:
        early = _read_until_ready(worker)
        try:
            stdout, stderr = worker.communicate(json.dumps(request).encode(), timeout=limits.time_limit_s + GRACE_S)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, stderr = worker.communicate()
            log.warning("SQL worker killed after %.1f s: %r", limits.time_limit_s + GRACE_S, request["sql"][:500])
            raise LayerScopeError(f"the query took longer than {limits.time_limit_s:g} s and was stopped") from None
        if stderr:
            log.warning("SQL worker for %r said:\n%s", request["sql"][:500], stderr.decode(errors="replace")[-4000:])
        lines = [line for line in (early + stdout).decode(errors="replace").splitlines() if line.startswith("{")]
        if run.superseded:
            raise LayerScopeError(SUPERSEDED)
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
