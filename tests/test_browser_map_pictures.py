"""Pictures on the data map in headless Chromium: the small catalog's whole map shows each point as its
picture, a click anywhere on a picture pins that sample, and the switch puts the dots back; on a generated
catalog of 3000 samples the map starts as dots and a zoom brings the pictures of the points in view.
Screenshots go to test-artifacts/."""
from __future__ import annotations

import pytest

from harness.browser import PICTURES_SHOWN_JS, PINNED_JS, open_explorer, picture_boxes, wait_pictures, wheel_zoom

pytestmark = pytest.mark.browser

PLOT_AREA_JS = """() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
    const fl = gd._fullLayout, box = gd.getBoundingClientRect();
    return [box.left + fl.xaxis._offset, box.top + fl.yaxis._offset, fl.xaxis._length, fl.yaxis._length]; }"""


def _apart(boxes: list[dict]) -> list[dict]:
    """The pictures that no other picture overlaps (so a click on one lands on it alone)."""
    def overlap(a, b):
        return not (a["left"] + a["width"] <= b["left"] or b["left"] + b["width"] <= a["left"] or
                    a["top"] + a["height"] <= b["top"] or b["top"] + b["height"] <= a["top"])
    return [a for a in boxes if not any(a is not b and overlap(a, b) for b in boxes)]


def test_the_small_map_shows_pictures_and_a_click_on_one_pins_it(shared_streamlit_server, browser_page,
                                                                    page_errors, screenshot):
    page = browser_page
    open_explorer(page, shared_streamlit_server.url)
    shown = wait_pictures(page)
    assert shown["pictured"] == shown["inView"] == shared_streamlit_server.manifest["n_samples"]
    page.locator(".st-key-datamap").scroll_into_view_if_needed()
    screenshot("pictures-1-small-map")
    boxes = picture_boxes(page)
    assert all(b["width"] >= 20 and abs(b["width"] - b["height"]) < 1.5 for b in boxes)  # squares, legible
    pinned = page.evaluate("() => Number(document.querySelector('.ls-inspector-head').dataset.sampleId)")
    target = next(b for b in _apart(boxes) if b["id"] != pinned)
    # near a corner of the picture, well away from its dot in the middle
    x, y = target["left"] + target["width"] * 0.2, target["top"] + target["height"] * 0.8
    page.mouse.move(x, y)
    page.wait_for_function("id => document.querySelector('.ls-inspector-head').dataset.sampleId === String(id)",
                           arg=target["id"], timeout=15000)
    page.mouse.click(x, y)
    page.wait_for_function(PINNED_JS, arg=target["id"], timeout=15000)
    assert f"#{target['id']}" in page.inner_text(".ls-inspector-head")
    wait_pictures(page)  # the pin redraws the map with its pictures
    screenshot("pictures-2-pinned")
    # the switch puts the dots back
    page.locator(".st-key-map_pictures label").click()
    page.wait_for_function("""() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
        return gd && gd._fullLayout && !(gd._fullLayout.images || []).length; }""", timeout=30000)
    page.wait_for_url("**pics=0**", timeout=30000)  # the link to this view says so
    assert f"pinned={target['id']}" in page.url
    screenshot("pictures-3-switched-off")
    assert not page_errors, page_errors


def test_a_zoom_into_a_big_map_brings_the_pictures_in_view(generated_catalog_server, browser_page, page_errors,
                                                           screenshot):
    page = browser_page
    open_explorer(page, generated_catalog_server.url)
    shown = wait_pictures(page)
    assert shown == {"pictured": 0, "inView": 3000}  # too many to tell apart: dots
    left, top, width, height = page.evaluate(PLOT_AREA_JS)
    wheel_zoom(page, left + width * 0.4, top + height * 0.5, steps=18)  # about a fortieth of the map
    shown = wait_pictures(page)
    assert 0 < shown["pictured"] == shown["inView"] <= 400
    page.locator(".st-key-datamap").scroll_into_view_if_needed()
    screenshot("pictures-4-big-map-zoomed")
    # a pan brings the pictures of the points that came into view
    before = {b["id"] for b in picture_boxes(page)}
    page.mouse.move(left + width * 0.5, top + height * 0.5)
    page.mouse.down()
    page.mouse.move(left + width * 0.1, top + height * 0.5, steps=6)
    page.mouse.up()
    for _ in range(150):  # until the pictures are those of the points now in view, some of them new
        shown = page.evaluate(PICTURES_SHOWN_JS, 400)
        if shown and {b["id"] for b in picture_boxes(page)} - before:
            break
        page.wait_for_timeout(200)
    assert shown and 0 < shown["pictured"] == shown["inView"] <= 400
    assert {b["id"] for b in picture_boxes(page)} - before
    # a double click returns to the whole map: dots again
    page.mouse.dblclick(left + 3, top + 3)
    assert wait_pictures(page) == {"pictured": 0, "inView": 3000}
    assert not page_errors, page_errors


LEGEND_JS = """() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
    return gd._fullData.filter(t => t.showlegend !== false && t.customdata && t.customdata.length)
      .map(t => ({name: t.name, visible: t.visible, ids: Array.from(t.customdata, r => Number(r[0]))})); }"""


def test_a_category_hidden_by_the_legend_shows_no_pictures(shared_streamlit_server, browser_page, page_errors,
                                                           screenshot):
    page = browser_page
    open_explorer(page, shared_streamlit_server.url)
    everyone = wait_pictures(page)["pictured"]
    traces = page.evaluate(LEGEND_JS)
    hidden = max(traces, key=lambda t: len(t["ids"]))  # the category with the most points
    position = [t["name"] for t in traces].index(hidden["name"])
    page.locator(".st-key-datamap .legend .traces").nth(position).click()
    page.wait_for_function("name => document.querySelector('.st-key-datamap .js-plotly-plot')._fullData"
                           ".some(t => t.name === name && t.visible === 'legendonly')", arg=hidden["name"])
    shown = wait_pictures(page)  # the points in view are those of the traces still shown
    assert shown["pictured"] == everyone - len(hidden["ids"])
    assert not {b["id"] for b in picture_boxes(page)} & set(hidden["ids"])
    page.locator(".st-key-datamap").scroll_into_view_if_needed()
    screenshot("pictures-5-category-hidden")
    # shown again, its pictures come back
    page.locator(".st-key-datamap .legend .traces").nth(position).click()
    page.wait_for_function("""([n, name]) => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
        return gd._fullData.some(t => t.name === name && t.visible === true) &&
               gd._fullLayout.images.filter(i => !String(i.name).startsWith('frame')).length === n; }""",
                           arg=[everyone, hidden["name"]], timeout=30000)
    assert set(hidden["ids"]) <= {b["id"] for b in picture_boxes(page)}
    assert not page_errors, page_errors
