"""Several browser sessions on one server at once: every action answers, no session sees an error."""
from __future__ import annotations

import asyncio
import os
import shutil

import pytest

from benchmarks.browser_latency import CHROMIUM, REPO, streamlit_server
from benchmarks.load import RssSampler, drive, tree_rss_mb

pytestmark = pytest.mark.browser


def test_tree_rss_counts_a_process_and_its_children():
    assert tree_rss_mb(os.getpid()) > 10  # this Python process with pytest loaded
    assert tree_rss_mb(2 ** 22 + 12345) == 0  # no such process: nothing, no error


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium")
def test_three_concurrent_visitors_switch_hover_and_pin_without_errors(small_catalog, tmp_path):
    root = tmp_path / "catalogs"
    shutil.copytree(small_catalog[0], root / small_catalog[0].name)
    log = REPO / "test-artifacts" / "load-test-server.log"
    with streamlit_server(root, log, tmp_path / "cache") as (url, process), RssSampler(process.pid) as rss:
        timings, errors = asyncio.run(drive(url, sessions=3, seconds=8, extras=False))
    assert errors == []
    assert {"layer switch", "hover", "pin"} <= set(timings)
    assert "Traceback" not in log.read_text(errors="replace")
    assert rss.peak_mb > 100
