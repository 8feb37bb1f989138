"""The rest of issue 4 by mouse in headless Chromium: neighbours (2), two layers side by side (6),
export (9) and the SQL page (7), including a refused query. Screenshots go to test-artifacts/."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.browser_latency import CHROMIUM, inspector_id, launch, streamlit_server

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"

pytestmark = pytest.mark.browser


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium")
def test_neighbours_compare_export_and_sql_by_mouse(small_catalog, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    path, _ = small_catalog
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "browser-tabs-server.log"
    errors: list[str] = []
    with streamlit_server(path.parent, log_path, cache_dir=tmp_path / "cache") as (url, _process):
        with playwright.sync_playwright() as p:
            browser = launch(p)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1100})
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(f"{url}/Explorer?catalog={path.name}&layer=8&method=pca&pinned=4")
                page.wait_for_selector(".ls-inspector-head", timeout=90000)
                assert inspector_id(page) == 4
                # 2. neighbours of the pinned sample
                page.get_by_role("tab", name="Neighbours").click()
                page.wait_for_selector("[data-testid='neighbours-summary']", timeout=60000)
                assert "share its" in page.inner_text("[data-testid='neighbours-summary']")
                # 6. two layers side by side
                page.get_by_role("tab", name="Compare layers").click()
                page.wait_for_selector(".st-key-compare_left_box .js-plotly-plot", timeout=60000)
                page.wait_for_selector(".st-key-compare_right_box .js-plotly-plot", timeout=60000)
                page.screenshot(path=str(ARTIFACTS / "14-compare-layers.png"), full_page=True)
                # 9. export of the current map
                page.get_by_role("tab", name="Export").click()
                with page.expect_download(timeout=60000) as download:
                    page.locator(".st-key-export_csv button").click()
                header = Path(download.value.path()).read_text().splitlines()[0]
                assert "sample_id" in header and "x" in header and "y" in header
                # 7. the SQL page: a query runs and downloads; a write is refused with a message
                page.goto(f"{url}/SQL")
                query = page.locator(".st-key-sql_query textarea")
                query.wait_for(timeout=60000)
                query.fill("SELECT label_name, count(*) AS n FROM samples GROUP BY 1 ORDER BY 2 DESC")
                page.locator(".st-key-sql_run button").click()
                page.wait_for_selector(".st-key-sql_download button", timeout=60000)
                query.fill("COPY samples TO '/tmp/layerscope-stolen.csv'")
                page.locator(".st-key-sql_run button").click()
                page.wait_for_selector("[data-testid='stAlertContentError']", timeout=60000)
                assert "only SELECT" in page.inner_text("[data-testid='stAlertContentError']")
                assert not Path("/tmp/layerscope-stolen.csv").exists()
                page.screenshot(path=str(ARTIFACTS / "15-sql-refused.png"), full_page=True)
                assert "Traceback" not in page.inner_text("body")
            finally:
                browser.close()
    log = log_path.read_text()
    assert "Traceback" not in log, log[-3000:]
    assert not errors, errors
