"""Several browser sessions on one server at once: every action answers, no session sees an error."""
from __future__ import annotations

import asyncio
import os

import pytest

from benchmarks.browser_latency import streamlit_server
from benchmarks.load import drive
from benchmarks.rss import RssSampler, tree_rss_mb
from tests.conftest import ACTIVATION_CACHE_ENV, ARTIFACTS, CATALOG_DIR_ENV


def test_tree_rss_counts_a_process_and_its_children():
    assert tree_rss_mb(os.getpid()) > 10  # this Python process with pytest loaded
    assert tree_rss_mb(2 ** 22 + 12345) == 0  # no such process: nothing, no error


@pytest.mark.browser
def test_three_concurrent_visitors_switch_hover_and_pin_without_errors(small_catalog, tmp_path):
    log = ARTIFACTS / "load-test-server.log"
    env = {CATALOG_DIR_ENV: str(small_catalog[0].parent), ACTIVATION_CACHE_ENV: str(tmp_path / "cache")}
    with streamlit_server(log, env) as (url, process), RssSampler(process.pid) as rss:
        timings, errors = asyncio.run(drive(url, sessions=3, seconds=8, extras=False))
    assert errors == []
    assert {"layer switch", "hover", "pin"} <= set(timings)
    assert "Traceback" not in log.read_text(errors="replace")
    assert rss.peak_mb > 100
