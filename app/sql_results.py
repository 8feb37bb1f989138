"""The SQL page's queries: one at a time per session, results counted in the process-wide budget.

A session's newer query stops its older one (catalog.sql_process), and what a session keeps holds bytes
of the budget every session shares (catalog.sql_budget) until the session drops it or expires: its own,
and what showing its head on every rerun costs (the page shows only that head, `shown`).
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app import settings
from catalog import sql_process
from catalog.sql_budget import KeptResult, shared_budget
from catalog.sql_limits import SqlLimits
from catalog.sql_result import mask_table, rows_within


def run_for_this_session(path: str | Path, query: str, limits: SqlLimits,
                         masks: list[tuple[str, str]] = ()) -> KeptResult:
    """This session's query, run in a worker, server folders in it replaced by `masks`
    (catalog.sql_result.path_masks); LayerScopeError with a one-line message on any refusal.

    In public mode the worker also refuses what would reveal the server's settings or folders (masking
    cannot catch a transformed path); the masks stay as a second guard and for a catalog path typed in.
    """
    ctx = get_script_run_ctx()
    owner = ctx.session_id if ctx is not None else None
    kept = sql_process.run_isolated(path, query, limits, owner, shared_budget(), public=settings.public_mode())
    if masks:
        kept.table = mask_table(kept.table, list(masks))  # about as large: the budget still holds it
    return kept


def forget(key: str) -> None:
    """Drop the result kept under `key` in this session and give its bytes back to the budget at once
    (session state may keep a dropped value referenced until the next run)."""
    kept = st.session_state.pop(key, None)
    if isinstance(kept, dict) and isinstance(kept.get("result"), KeptResult):
        kept["result"].give_back()


def shown(table: pa.Table) -> pa.Table:
    """The head of a kept result that the page's table shows: what fits in the bytes the budget counts
    for showing it (`ResultBudget.shown_max_bytes`); a slice, not a copy."""
    limit = shared_budget().shown_max_bytes
    return table if table.nbytes <= limit else rows_within(table, limit)
