"""The Explorer in a narrow window (800x1000, a half screen) and with the sidebar folded, in headless
Chromium: the panels stack so that the data map keeps a usable width, the sidebar starts folded where it
would take a third of the window, and the page's header line is never under Streamlit's header bar; and
the SQL page says a query is running while it runs. Screenshots go to test-artifacts/."""
from __future__ import annotations

import pytest

from harness.browser import open_explorer

pytestmark = pytest.mark.browser

BOX_JS = """s => { const e = document.querySelector(s); if (!e) return null;
                   const b = e.getBoundingClientRect(); return {x: b.x, y: b.y, w: b.width, h: b.height}; }"""
SIDEBAR_FOLDED = '[data-testid="stSidebar"][data-collapsed="true"]'


def _box(page, selector: str) -> dict:
    box = page.evaluate(BOX_JS, selector)
    assert box is not None, f"nothing on the page matches {selector}"
    return box


def _header_clear_of_the_bar(page) -> None:
    """The page's header line (model, dataset, layer) starts below Streamlit's header bar."""
    header, bar = _box(page, ".ls-header"), _box(page, 'header[data-testid="stHeader"]')
    assert header["y"] >= bar["y"] + bar["h"] - 1, (header, bar)


def test_at_800_px_the_panels_stack_and_the_data_map_keeps_its_width(streamlit_server, browser_page, screenshot,
                                                                      page_errors):
    page = browser_page
    page.set_viewport_size({"width": 800, "height": 1000})
    open_explorer(page, streamlit_server.url)
    page.wait_for_selector(SIDEBAR_FOLDED, state="attached", timeout=10000)
    page.wait_for_function("() => document.querySelector('.st-key-datamap .main-svg').getBoundingClientRect()"
                           ".width >= 600", timeout=10000)
    screenshot("narrow-800-explorer")
    plot, inspector, gallery = (_box(page, s) for s in (".st-key-datamap .main-svg", ".st-key-inspector",
                                                        ".st-key-gallery"))
    assert plot["w"] >= 600, plot
    # the inspector and the gallery share the row under the map, each wide enough to read
    assert inspector["y"] >= plot["y"] + plot["h"] - 1 and gallery["y"] >= plot["y"] + plot["h"] - 1
    assert inspector["w"] >= 300 and gallery["w"] >= 300, (inspector, gallery)
    # the layer map and the separability chart stack too: the whole width each
    assert _box(page, ".st-key-layer_map_box")["w"] >= 600 and _box(page, ".st-key-separability")["w"] >= 600
    # the Show control shows its three choices in full
    show = page.locator(".st-key-map_filter button")
    assert [t.strip() for t in show.all_inner_texts()] == ["all", "correct", "wrong"]
    for i in range(show.count()):
        assert show.nth(i).evaluate("b => b.scrollWidth <= b.clientWidth + 1"), show.nth(i).inner_text()
    _header_clear_of_the_bar(page)
    assert not page_errors


def test_wider_windows_keep_the_sidebar_and_the_header_clears_the_bar_once_folded(
        streamlit_server, browser_page, screenshot, page_errors):
    page = browser_page
    # a laptop, the sidebar open: the data map widens, the inspector stays beside it for hovering
    page.set_viewport_size({"width": 1366, "height": 768})
    open_explorer(page, streamlit_server.url)
    assert page.locator('[data-testid="stSidebar"][data-collapsed="false"]').count() == 1
    page.wait_for_function("() => document.querySelector('.st-key-datamap .main-svg').getBoundingClientRect()"
                           ".width >= 550", timeout=10000)
    screenshot("narrow-1366-explorer")
    plot, inspector = _box(page, ".st-key-datamap .main-svg"), _box(page, ".st-key-inspector")
    assert inspector["x"] >= plot["x"] + plot["w"] - 1 and inspector["w"] >= 300, (plot, inspector)
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.wait_for_timeout(800)
    plot, inspector, gallery = (_box(page, s) for s in (".st-key-datamap .main-svg", ".st-key-inspector",
                                                        ".st-key-gallery"))
    # side by side: the map, the inspector, the gallery
    assert inspector["x"] >= plot["x"] + plot["w"] - 1 and gallery["x"] >= inspector["x"] + inspector["w"] - 1
    page.locator('[data-testid="stSidebar"]').hover()
    page.locator('[data-testid="stSidebarCollapseButton"] button').click()
    page.wait_for_selector(SIDEBAR_FOLDED, state="attached", timeout=10000)
    page.wait_for_timeout(500)
    screenshot("narrow-1600-sidebar-folded")
    _header_clear_of_the_bar(page)
    assert not page_errors


def test_the_sql_page_says_a_query_is_running(streamlit_server, browser_page, screenshot, page_errors):
    page = browser_page
    page.set_viewport_size({"width": 800, "height": 1000})
    page.goto(f"{streamlit_server.url}/SQL")
    query = page.locator(".st-key-sql_query textarea")
    query.wait_for(timeout=60000)
    query.fill("SELECT sum(a.range % 7) AS s FROM range(20000000000) a")  # seconds of work, or the time limit
    page.locator(".st-key-sql_run button").click()
    page.get_by_text("Running the query").wait_for(timeout=10000)
    screenshot("narrow-800-sql-running")
    assert not page_errors
