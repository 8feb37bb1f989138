"""The Explain tab by mouse in headless Chromium: a person asks for Grad-CAM at a middle layer of the
real EfficientNet-Lite0, sees it over the image, switches to EigenCAM and sees another map; the
faithfulness table and the method picker fit a laptop screen and a narrow window; a trip to About and back
keeps the method and its map. Screenshots go to test-artifacts/."""
from __future__ import annotations

import pytest

import catalog

pytestmark = pytest.mark.browser

SHOWN = "[data-testid='layer-cam'][data-method='{}'] img"


def test_switching_the_method_draws_another_map(streamlit_server, browser_page, page_errors, screenshot):
    page, url, path = browser_page, streamlit_server.url, streamlit_server.path
    layer, name = catalog.open(path).execute(
        "SELECT layer_id, name FROM layers WHERE height = 14 ORDER BY position DESC LIMIT 1"
    ).fetchone()
    page.goto(f"{url}/Explorer?catalog={path.name}&layer={layer}&method=pca&pinned=4")
    page.wait_for_selector(".ls-inspector-head", timeout=90000)
    page.get_by_role("tab", name="Explain").click()
    ask = page.get_by_role("button", name="Explain at this layer")
    ask.wait_for(timeout=60000)
    assert page.locator("[data-testid='layer-cam']").count() == 0  # nothing computed before the click
    ask.click()
    page.wait_for_selector(SHOWN.format("gradcam"), timeout=180000)  # the model loads first
    assert ask.count() == 0  # asked once: the next switch needs no button
    gradcam = page.get_attribute(SHOWN.format("gradcam"), "src")
    assert "Grad-CAM · " in page.inner_text("[data-testid='layer-cam']") and name in page.inner_text(
        "[data-testid='layer-cam']")
    page.locator(SHOWN.format("gradcam")).scroll_into_view_if_needed()
    screenshot("explain-1-gradcam")
    page.locator(".st-key-explain_method").get_by_text("EigenCAM", exact=True).click()
    page.wait_for_selector(SHOWN.format("eigencam"), timeout=120000)
    eigencam = page.get_attribute(SHOWN.format("eigencam"), "src")
    assert eigencam.startswith("data:image/jpeg") and eigencam != gradcam
    page.locator(SHOWN.format("eigencam")).scroll_into_view_if_needed()
    screenshot("explain-2-eigencam")
    assert not page_errors


TABLE = ".st-key-explain_scores [data-testid='stDataFrame']"


def _table_overflow(page) -> list[int]:
    """[scrollWidth, clientWidth] of the faithfulness table's scrolling area (the data grid's)."""
    return page.locator(TABLE).evaluate(
        "t => { const s = t.querySelector('.dvn-scroller') || t; return [s.scrollWidth, s.clientWidth]; }")


@pytest.mark.parametrize("width", [1600, 800])
def test_the_faithfulness_table_fits_its_column(streamlit_server, browser_page, page_errors, screenshot, width):
    """Every column of the table is seen without scrolling it sideways, on a laptop screen and a narrow
    window: the Explain tab's half column is narrow."""
    page, url, path = browser_page, streamlit_server.url, streamlit_server.path
    page.set_viewport_size({"width": width, "height": 1000})
    layer = catalog.open(path).execute(
        "SELECT layer_id FROM layers WHERE height = 14 ORDER BY position DESC LIMIT 1").fetchone()[0]
    page.goto(f"{url}/Explorer?catalog={path.name}&layer={layer}&method=pca&pinned=4")
    page.wait_for_selector(".ls-inspector-head", timeout=90000)
    page.get_by_role("tab", name="Explain").click()
    page.get_by_role("button", name="Measure faithfulness").click()
    page.wait_for_selector(TABLE, timeout=240000)  # the model loads, then every fast method is scored
    page.wait_for_timeout(1000)
    page.locator(TABLE).scroll_into_view_if_needed()
    screenshot(f"explain-3-faithfulness-{width}")
    scroll_width, client_width = _table_overflow(page)
    assert scroll_width <= client_width + 1, f"the table scrolls sideways: {scroll_width} > {client_width}"
    assert page.locator(TABLE).bounding_box()["width"] <= width
    # every method can be picked: none hidden past the picker's edge
    picker = page.locator(".st-key-explain_method").bounding_box()
    methods = page.locator(".st-key-explain_method button")
    assert methods.count() == 7
    for i in range(methods.count()):
        box = methods.nth(i).bounding_box()
        assert box["x"] + box["width"] <= picker["x"] + picker["width"] + 1, methods.nth(i).inner_text()
    assert not page_errors


def test_a_trip_to_about_and_back_keeps_the_method_and_its_map(streamlit_server, browser_page, page_errors,
                                                               screenshot):
    page, url, path = browser_page, streamlit_server.url, streamlit_server.path
    layer = catalog.open(path).execute(
        "SELECT layer_id FROM layers WHERE height = 14 ORDER BY position DESC LIMIT 1").fetchone()[0]
    page.goto(f"{url}/Explorer?catalog={path.name}&layer={layer}&method=pca&pinned=4")
    page.wait_for_selector(".ls-inspector-head", timeout=90000)
    page.get_by_role("tab", name="Explain").click()
    page.get_by_role("button", name="Explain at this layer").click()
    page.wait_for_selector(SHOWN.format("gradcam"), timeout=180000)
    page.locator(".st-key-explain_method").get_by_text("EigenCAM", exact=True).click()
    page.wait_for_selector(SHOWN.format("eigencam"), timeout=120000)
    eigencam = page.get_attribute(SHOWN.format("eigencam"), "src")

    page.get_by_role("link", name="About").first.click()
    page.wait_for_function("() => location.pathname.endsWith('/About')", timeout=30000)
    page.wait_for_timeout(2500)  # the About page's run ends (Streamlit drops the Explain widgets' keys)
    page.get_by_role("link", name="Explorer").first.click()
    page.wait_for_selector(SHOWN.format("eigencam"), timeout=60000)  # the Explain tab, as it was left
    page.locator(SHOWN.format("eigencam")).scroll_into_view_if_needed()
    screenshot("explain-4-back-from-about")
    assert page.get_attribute(SHOWN.format("eigencam"), "src") == eigencam
    pressed = page.locator(".st-key-explain_method button[aria-checked='true'], "
                           ".st-key-explain_method button[kind*='Active']")
    assert pressed.count() == 1 and pressed.inner_text().strip() == "EigenCAM"
    assert not page_errors
