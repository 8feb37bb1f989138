"""The Explorer driven by mouse in headless Chromium (Debian's package), with screenshots.

Starts `streamlit run Home.py` on a free port against the small session catalog, then: opens the
Explorer from the Home page, clicks a layer in the layer map and sees the data map change, hovers a
point and sees the inspector follow, clicks it and sees it pinned (image and top-10), computes the
gallery and opens a channel's dialog, and switches to PCA; then, at 1440x900 and 2560x1600, screenshots of
the Explorer and Home, and at 1440x900 the layer map, data map and inspector in view without horizontal
scroll. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import pytest

from harness.browser import (
    hover_point,
    inspector_id,
    map_title,
    open_explorer,
    point_positions,
    switch_layer,
    wait_map_settled,
)

ERROR_TEXT = ("Traceback", "StreamlitAPIException", "Error:", "Exception:")

pytestmark = pytest.mark.browser


VIEWPORTS = ((1440, 900), (2560, 1600))
# what must be in view at 1440x900 (the inspector: its head and first row of pictures; the top-10 may
# need a scroll)
IN_VIEW = {"layer map": ".st-key-layer_map_box", "data map": ".st-key-datamap .js-plotly-plot",
           "inspector": ".st-key-inspector .ls-inspector-head",
           "inspector pictures": ".st-key-inspector .ls-pic[data-kind='gradcam'] img"}


def _out_of_view(page) -> list[str]:
    """What is not wholly inside the viewport, and any horizontal scroll of the page."""
    return page.evaluate("""views => {
        const problems = [], vw = innerWidth, vh = innerHeight;
        for (const [name, selector] of Object.entries(views)) {
          const e = document.querySelector(selector);
          if (!e) { problems.push(name + ': missing'); continue; }
          const b = e.getBoundingClientRect();
          if (b.width < 50 || b.height < 20 || b.left < 0 || b.top < 0 || b.right > vw + 0.5 || b.bottom > vh + 0.5)
            problems.push(`${name}: ${Math.round(b.left)},${Math.round(b.top)} to ${Math.round(b.right)},${Math.round(b.bottom)} in ${vw}x${vh}`);
        }
        for (const e of [document.documentElement, document.body, document.querySelector('[data-testid="stMain"]')])
          if (e && e.scrollWidth > e.clientWidth + 1)
            problems.push(`horizontal scroll: ${e.tagName} ${e.scrollWidth} > ${e.clientWidth}`);
        return problems; }""", IN_VIEW)


def _page_errors(page) -> list[str]:
    found = page.evaluate("() => [...document.querySelectorAll('[data-testid=\"stException\"], .stException')]"
                          ".map(e => e.innerText)")
    body = page.inner_text("body")
    return found + [word for word in ERROR_TEXT if word in body]


def test_explorer_by_mouse(streamlit_server, browser_page, page_errors, screenshot):
    page, url, manifest = browser_page, streamlit_server.url, streamlit_server.manifest
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(url)
    page.wait_for_selector("[data-testid='stDataFrame']", timeout=60000)
    screenshot("0-home")
    open_explorer(page, url)
    page.wait_for_timeout(500)
    screenshot("1-explorer")
    assert page.locator("[data-layer-id]").count() == manifest["n_layers"]

    # click a layer in the layer map: the data map changes
    before = map_title(page)
    name, _ = switch_layer(page, 8)
    after = map_title(page)
    assert after != before and after.startswith(name + " · t-SNE")

    # hover a point: the inspector follows; click it: it is pinned
    page.mouse.move(5, 5)
    x, y, sample_id = next(pt for pt in point_positions(page, 30) if pt[2] != inspector_id(page))
    hover_point(page, x, y, sample_id)
    head = page.locator(".ls-inspector-head")
    assert "hovered" in head.inner_text()
    page.mouse.click(x, y)
    page.wait_for_function("() => { const e = document.querySelector('.ls-inspector-head');"
                           " return e && e.innerText.includes('pinned'); }", timeout=30000)
    assert inspector_id(page) == sample_id
    assert page.locator(".st-key-inspector .ls-pic img").count() == 4
    assert page.locator(".st-key-inspector .ls-bar").count() == 10
    page.wait_for_function("id => document.querySelector('.st-key-gallery').innerText"
                           ".includes('Activations of #' + id + ' ')", arg=sample_id, timeout=30000)

    # the gallery of a sample pinned by hand is computed at once; open one channel's dialog
    page.wait_for_selector(".gal .cell", timeout=60000)
    page.wait_for_timeout(300)
    screenshot("2-explorer-pinned-gallery")
    cells = page.locator(".gal .cell")
    channel = cells.nth(1).get_attribute("data-channel")
    cells.nth(1).click()
    dialog = page.locator("[role='dialog']")
    dialog.wait_for(timeout=30000)
    dialog.locator(".js-plotly-plot").wait_for(timeout=30000)
    assert f"channel {channel}" in dialog.inner_text()
    screenshot("3-channel-dialog")
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached", timeout=10000)

    # switch to PCA
    page.get_by_text("PCA", exact=True).click()
    wait_map_settled(page, name)
    page.wait_for_function("() => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                           ".some(e => e.textContent.endsWith('· PCA'))", timeout=30000)
    page.wait_for_timeout(300)
    screenshot("4-explorer-pca")
    assert not _page_errors(page), _page_errors(page)

    # a laptop and a large screen: screenshots of the Explorer (pinned sample, gallery) and
    # Home; on the laptop the layer map, the data map and the inspector are all in view
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(1200)
        page.mouse.move(width - 5, height - 5)
        screenshot(f"5-explorer-{width}x{height}")
        if (width, height) == (1440, 900):
            problems = _out_of_view(page)
            assert not problems, problems
    page.get_by_role("link", name="Home").first.click()
    page.wait_for_selector("[data-testid='stDataFrame']", timeout=60000)
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(800)
        screenshot(f"6-home-{width}x{height}")
    assert not _page_errors(page), _page_errors(page)
    assert "Traceback" not in streamlit_server.log(), streamlit_server.log()[-3000:]
    assert not page_errors, page_errors
