"""A byte budget for the SQL results that sessions keep, shared by every session of one process.

Each session of the SQL page keeps its last result to show it; a visitor who leaves keeps it until the
session expires. Without a shared bound, many sessions (or one visitor opening many) add their results
up until the host stops the app. A result that does not fit in what is left is not read at all, and the
visitor gets one line; a kept result gives its bytes back as soon as nothing refers to it any more.

Showing a result costs more than keeping it: on every rerun of the page Streamlit turns the shown table
into Arrow bytes and a protobuf message and serialises that twice more (for its hash and for the
websocket), about `SHOWN_COPIES` copies at once. So the page shows a result's head up to
`SHOWN_MAX_BYTES` (the CSV download has every row), and the page's budget counts each result at its
bytes plus that many copies of its shown head.
"""
from __future__ import annotations

import logging
import os
import threading
import weakref
from dataclasses import dataclass

from catalog.sql_result import CappedResult
from core.errors import LayerScopeError

log = logging.getLogger(__name__)
RESULTS_ENV = "LAYERSCOPE_SQL_RESULTS_MB"
DEFAULT_RESULTS_MB = 64
MB = 1_000_000
SHOWN_MAX_BYTES = 1_000_000  # the SQL page's table shows a result's head up to this many Arrow bytes
# copies of the shown head one rerun makes: 3.6 counted in-process (Arrow bytes, the message, its two
# serialisations: benchmarks/sql_display_cost.py); about 6 on a server holding 16 MB results
# (docs/PERFORMANCE.md, "With hostile visitors")
SHOWN_COPIES = 6


class ResultBudget:
    """Bytes of kept results, shared by threads (sessions); `reserve` refuses what does not fit.

    `shown_max_bytes`: how much of each result is shown on every rerun, counted `SHOWN_COPIES` times
    on top of its bytes (0: results are kept, never shown)."""

    def __init__(self, capacity: int, shown_max_bytes: int = 0):
        self.capacity = capacity
        self.shown_max_bytes = shown_max_bytes
        self.used = 0
        self._lock = threading.Lock()

    def cost(self, nbytes: int) -> int:
        """What a result of `nbytes` holds: its bytes, and the copies of its shown head each rerun makes."""
        return nbytes + SHOWN_COPIES * min(nbytes, self.shown_max_bytes)

    def reserve(self, nbytes: int) -> int:
        """Hold `cost(nbytes)` of the budget, or refuse with one line; returns what it holds."""
        held = self.cost(nbytes)
        with self._lock:
            if self.used + held > self.capacity:
                showing = f", {(held - nbytes) / MB:.1f} MB of it to show it" if held > nbytes else ""
                raise LayerScopeError(
                    f"the server is holding as many query results as it may ({self.capacity / MB:g} MB for "
                    f"all visitors), and this one needs {held / MB:.1f} MB{showing}: add a LIMIT, select "
                    "fewer columns or try again in a minute")
            self.used += held
        return held

    def release(self, nbytes: int) -> None:
        with self._lock:
            self.used = max(0, self.used - nbytes)

    def keep(self, result: CappedResult, nbytes: int) -> KeptResult:
        """result, holding nbytes of this budget (already reserved: what `reserve` returned) until it is
        garbage."""
        kept = KeptResult(result.table, result.cut)
        kept._give_back = weakref.finalize(kept, self.release, nbytes)
        return kept


@dataclass(eq=False)
class KeptResult(CappedResult):
    """A result counted in a ResultBudget until `give_back` or until it is garbage, whichever is first."""

    def give_back(self) -> None:
        """Return its bytes to the budget now (once; what still refers to the table keeps it readable)."""
        self._give_back()


def _capacity_from_env() -> int:
    text = os.environ.get(RESULTS_ENV, "").strip()
    try:
        megabytes = float(text) if text else DEFAULT_RESULTS_MB
    except ValueError:
        megabytes = -1
    if megabytes <= 0:
        log.warning("%s=%r is not a positive number of MB: keeping %d MB of results", RESULTS_ENV, text,
                    DEFAULT_RESULTS_MB)
        megabytes = DEFAULT_RESULTS_MB
    return int(megabytes * MB)


_shared: ResultBudget | None = None
_shared_lock = threading.Lock()


def shared_budget() -> ResultBudget:
    """The process's one budget, sized by LAYERSCOPE_SQL_RESULTS_MB (default 64) when first asked for;
    it counts what the SQL page shows of each result (`SHOWN_MAX_BYTES`)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ResultBudget(_capacity_from_env(), SHOWN_MAX_BYTES)
        return _shared
