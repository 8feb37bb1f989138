"""The Explorer on a generated catalog of 3000 samples (benchmarks/big_catalog.py) in headless Chromium:
the data map arrives as typed arrays, hovering shows the sample in the inspector, and a box selection
sends only the selected ids, is summarised in the Selection tab and ringed on the map.
Screenshots go to test-artifacts/."""
from __future__ import annotations

import pytest

from harness.browser import (
    hover_point,
    open_explorer,
    open_selection,
    point_positions,
    ringed,
    select_box,
)

pytestmark = pytest.mark.browser

RECORD_SENDS = """() => { window.__sent = []; const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (d) { window.__sent.push(d.byteLength || d.length || 0); return send.call(this, d); }; }"""


def test_a_generated_catalog_hovers_and_box_selects(generated_catalog_server, browser_page, page_errors, screenshot):
    page = browser_page
    page.set_viewport_size({"width": 1600, "height": 1000})
    open_explorer(page, generated_catalog_server.url)
    assert "N=3000" in page.inner_text(".ls-header")
    # the map's points arrived as typed arrays, drawn with WebGL, a trace per colour (48 for 60 classes)
    drawn = page.evaluate("""() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
        const traces = gd._fullData.filter(t => t.customdata && t.name !== 'pinned');
        return {types: [...new Set(traces.map(t => t.type))], arrays: [...new Set(traces.map(t => t.x.constructor.name))],
                n: traces.reduce((s, t) => s + t.x.length, 0), colours: new Set(traces.map(t => t.marker.color)).size}; }""")
    assert drawn == {"types": ["scattergl"], "arrays": ["Float32Array"], "n": 3000, "colours": 48}
    assert page.locator("[data-testid='class-legend'] .ls-leg").count() == 60

    # hover: the inspector shows the sample under the pointer
    page.mouse.move(5, 5)
    x, y, sample_id = point_positions(page, 10)[3]
    hover_point(page, x, y, sample_id)
    assert f"#{sample_id}" in page.inner_text(".ls-inspector-head")
    screenshot("bigmap-1-hover")

    # box selection of about 1000 points: the ids only go to the server; summary and rings agree
    open_selection(page)
    page.evaluate(RECORD_SENDS)
    count, _ = select_box(page, 1000)
    assert 800 <= count <= 1200
    assert ringed(page) == count
    largest = max(page.evaluate("() => window.__sent"))
    assert largest < 12 * count  # a few bytes an id, not every point's fields
    summary = page.inner_text("[data-testid='selection-summary']")
    assert f"{count} samples selected" in summary
    # the plot is updated in place: plotly's own selection state (its box, its dimming) is dropped
    # for the rings, and its re-applied box, which selects nothing, does not clear the page's
    page.wait_for_timeout(1500)
    assert ringed(page) == count and f"{count} samples selected" in page.inner_text(
        "[data-testid='selection-summary']")
    assert page.evaluate("""() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
        return gd.data.every(t => !t.selectedpoints) && !(gd.layout.selections || []).length; }""")
    page.wait_for_selector("[data-testid='selection-thumbs'] .ls-thumb", timeout=30000)
    page.locator(".st-key-datamap").scroll_into_view_if_needed()
    screenshot("bigmap-2-box-selection")
    assert not page_errors, page_errors
