"""The Explorer's other tabs and the SQL page by mouse in headless Chromium: neighbours of the pinned
sample, two layers side by side, export of the map, and a query on the SQL page, including a refused
one. Screenshots go to test-artifacts/."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.browser import inspector_id

pytestmark = pytest.mark.browser


def test_neighbours_compare_export_and_sql_by_mouse(streamlit_server, browser_page, page_errors, screenshot):
    page, url = browser_page, streamlit_server.url
    page.goto(f"{url}/Explorer?catalog={streamlit_server.path.name}&layer=8&method=pca&pinned=4")
    page.wait_for_selector(".ls-inspector-head", timeout=90000)
    assert inspector_id(page) == 4
    # neighbours of the pinned sample
    page.get_by_role("tab", name="Neighbours").click()
    page.wait_for_selector("[data-testid='neighbours-summary']", timeout=60000)
    assert "share its" in page.inner_text("[data-testid='neighbours-summary']")
    # two layers side by side
    page.get_by_role("tab", name="Compare layers").click()
    page.wait_for_selector(".st-key-compare_left_box .js-plotly-plot", timeout=60000)
    page.wait_for_selector(".st-key-compare_right_box .js-plotly-plot", timeout=60000)
    screenshot("14-compare-layers", full_page=True)
    # export of the current map
    page.get_by_role("tab", name="Export").click()
    with page.expect_download(timeout=60000) as download:
        page.locator(".st-key-export_csv button").click()
    header = Path(download.value.path()).read_text().splitlines()[0]
    assert "sample_id" in header and "x" in header and "y" in header
    # the SQL page: a query runs and downloads; a write is refused with a message
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
    screenshot("15-sql-refused", full_page=True)
    assert "Traceback" not in page.inner_text("body")
    assert "Traceback" not in streamlit_server.log(), streamlit_server.log()[-3000:]
    assert not page_errors, page_errors
