"""A box drawn again over the samples the data map already rings, in headless Chromium: the page answers
it like any selection, and plotly's own outline and dimming go, leaving the rings. Screenshots go to
test-artifacts/."""
from __future__ import annotations

import pytest

from harness.browser import box_over, box_path, drag, open_selection, ringed, select_box

pytestmark = pytest.mark.browser

# plotly's own selection left on the data map: a box's outline (kept in its layout's selections and drawn
# in its selection layer) or its points' dimming
OUTLINE = """() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
  return gd.querySelectorAll('.select-outline, .selectionlayer path').length > 0
         || (gd._fullLayout.selections || []).length > 0
         || gd._fullData.some(t => Array.isArray(t.selectedpoints) || ArrayBuffer.isView(t.selectedpoints)); }"""


def test_the_same_box_again_leaves_the_rings_and_no_outline(streamlit_server, browser_page, page_errors, screenshot):
    page = browser_page
    page.goto(f"{streamlit_server.url}/Explorer?catalog={streamlit_server.path.name}&layer=8&method=pca")
    page.wait_for_selector(".ls-inspector-head", timeout=90000)
    open_selection(page)
    selected, _ = select_box(page, 6)
    assert selected >= 2
    page.wait_for_function(f"() => !({OUTLINE})()", timeout=30000)  # a new selection: plotly's own goes

    box, inside = box_over(page, 6)
    assert inside == selected  # the same samples
    drag(page, box_path(box))
    page.wait_for_function(OUTLINE, timeout=10000)  # drawn, as a person sees it while dragging
    page.wait_for_function(f"() => !({OUTLINE})()", timeout=30000)
    assert ringed(page) == selected
    screenshot("map-select-again")
    assert "Traceback" not in streamlit_server.log(), streamlit_server.log()[-3000:]
    assert not page_errors, page_errors
