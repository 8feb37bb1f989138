"""The SQL page by mouse in headless Chromium: a query runs and its result downloads; a write is refused
with a message and writes nothing. Screenshots go to test-artifacts/."""
from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ERROR_BOX = "[data-testid='stAlertContentError']"


def _refused(page, query) -> str:
    """Run `query` on the SQL page (the query box already shown); the error box's text."""
    query_box = page.locator(".st-key-sql_query textarea")
    query_box.fill(query)
    page.locator(".st-key-sql_run button").click()
    page.wait_for_selector(ERROR_BOX, timeout=60000)
    return page.inner_text(ERROR_BOX)


def test_a_query_runs_and_a_write_is_refused_by_mouse(streamlit_server, browser_page, page_errors, screenshot):
    page, url = browser_page, streamlit_server.url
    page.goto(f"{url}/SQL")
    query = page.locator(".st-key-sql_query textarea")
    query.wait_for(timeout=60000)
    query.fill("SELECT label_name, count(*) AS n FROM samples GROUP BY 1 ORDER BY 2 DESC")
    page.locator(".st-key-sql_run button").click()
    page.wait_for_selector(".st-key-sql_download button", timeout=60000)
    assert "only SELECT" in _refused(page, "COPY samples TO '/tmp/layerscope-stolen.csv'")
    assert not Path("/tmp/layerscope-stolen.csv").exists()
    screenshot("15-sql-refused", full_page=True)
    assert "Traceback" not in page.inner_text("body")
    assert "Traceback" not in streamlit_server.log(), streamlit_server.log()[-3000:]
    assert not page_errors, page_errors


def test_a_public_visitor_reading_the_settings_is_refused_and_sees_no_folder(small_catalog, tmp_path, browser_page,
                                                                            page_errors, screenshot):
    from catalog.publish import publish
    from harness.server import streamlit_server as serve
    from tests.paths import ARTIFACTS
    root = tmp_path / "srv-secret-x9" / "published"
    publish(small_catalog[0], "demo", root)
    env = {"LAYERSCOPE_PUBLIC": "1", "LAYERSCOPE_PUBLISHED_DIR": str(root), "PYTHONUNBUFFERED": "1"}
    with serve(ARTIFACTS / "public-sql-server.log", env) as (url, _):
        page = browser_page
        page.goto(f"{url}/SQL")
        page.locator(".st-key-sql_query textarea").wait_for(timeout=60000)
        shown = _refused(page, "SELECT replace(current_setting('allowed_directories')::VARCHAR, '/', '|') AS d")
        assert "not available on a public deployment" in shown
        screenshot("15-sql-public-settings-refused", full_page=True)
        shown = page.inner_text("body")
        assert "srv-secret-x9" not in shown and str(tmp_path) not in shown
    assert not page_errors, page_errors


def test_a_result_over_what_the_table_shows_says_so_above_it(streamlit_server, browser_page, page_errors,
                                                                      screenshot):
    """About 2 MB of rows: the table shows the first 1 MB of them, and the line above it says where the
    rest is."""
    page, url = browser_page, streamlit_server.url
    page.goto(f"{url}/SQL")
    query = page.locator(".st-key-sql_query textarea")
    query.wait_for(timeout=60000)
    query.fill("SELECT range AS i, repeat('x', 1000) AS s FROM range(2000)")
    page.locator(".st-key-sql_run button").click()
    page.wait_for_selector(".st-key-sql_download button", timeout=60000)
    caption = page.get_by_text("the table shows the first")
    caption.wait_for(timeout=60000)
    assert caption.inner_text().startswith("2,000 rows; the table shows the first 9")  # 1 kB rows: 980-something
    assert "Download CSV has every row" in caption.inner_text()
    screenshot("15-sql-head-shown", full_page=True)
    assert not page_errors, page_errors
