"""The charts beside the Explorer's map in headless Chromium: a visitor's first look loads none of
Streamlit's own plotly bundle (megabytes; the app's plotly.js draws every chart of that look), a click on
a point of the separability chart or on a cell of the depth strip selects that layer and rings it, and a
layer picked on the layer map moves the ring; Compare layers loads none of it either, and a box selection on
its left map rings the same samples on both maps. Screenshots go to test-artifacts/."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit

from harness.browser import wait_map_settled

pytestmark = pytest.mark.browser

# Streamlit's lazily loaded chunk for st.plotly_chart (static/js/PlotlyChart.<hash>.js); the app's own
# plotly.js is app/static/plotly-<version>-layerscope-<hash>.min.js
STREAMLIT_PLOTLY = re.compile(r"/static/js/[^/?]*plotly[^/?]*\.js", re.IGNORECASE)

POINT = """i => {
  const gd = document.querySelector('.st-key-separability .js-plotly-plot');
  const fl = gd._fullLayout, tr = gd._fullData[0], rect = gd.getBoundingClientRect();
  return [rect.left + fl.xaxis._offset + fl.xaxis.l2p(tr.x[i]), rect.top + fl.yaxis._offset + fl.yaxis.l2p(tr.y[i]),
          tr.x[i], tr.customdata[i][1]];
}"""

CELL = """i => {
  const gd = document.querySelector('.st-key-depth_strip .js-plotly-plot');
  const fl = gd._fullLayout, tr = gd._fullData[0], rect = gd.getBoundingClientRect();
  return [rect.left + fl.xaxis._offset + fl.xaxis.l2p(tr.x[i]), rect.top + fl.yaxis._offset + fl.yaxis.l2p(0.5),
          tr.x[i], tr.customdata[i][1]];
}"""

RING_AT = """x => { const gd = document.querySelector('.st-key-separability .js-plotly-plot');
                    const ring = gd && gd.data && gd.data.find(t => t.name === 'selected layer');
                    return !!ring && ring.x[0] === x; }"""


def _assert_drawn_by_the_apps_plotly(page, requested: list[str], parts) -> None:
    """Wait until the mounted chart (app/plotly_view.js) in each of `parts` (st.container keys) is drawn,
    and what the page still loads is asked for; then assert that of the `requested` URLs none is
    Streamlit's plotly chunk and one is the app's own plotly.js."""
    for part in parts:
        page.wait_for_selector(f".st-key-{part} .ls-plotly.js-plotly-plot", timeout=90000)
    page.wait_for_timeout(1000)  # anything the look still loads is asked for by now
    assert not [u for u in requested if STREAMLIT_PLOTLY.search(u)]
    assert any("/app/static/plotly-" in u for u in requested)


def _click(page, point) -> None:
    page.mouse.move(point[0], point[1])
    page.wait_for_timeout(300)
    page.mouse.click(point[0], point[1])


def test_a_first_look_loads_no_streamlit_plotly_and_the_layer_charts_select_layers(
        shared_streamlit_server, browser_page, page_errors, screenshot):
    page, url = browser_page, shared_streamlit_server.url
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{url}/Explorer")
    page.wait_for_selector(".ls-inspector-head", timeout=90000)  # the first look: the map's page, all of it
    page.wait_for_selector("[data-layer-id]", timeout=60000)
    _assert_drawn_by_the_apps_plotly(page, requested, ("datamap", "separability", "depth_strip"))
    for part in ("separability", "depth_strip"):  # the mounted chart (app/plotly_view.js)
        assert page.locator(f".st-key-{part} .ls-plotly.js-plotly-plot").count() == 1

    # a click on the fourth point of the separability chart: that layer's map, ringed on the chart
    x, y, position, name = page.evaluate(POINT, 3)
    _click(page, (x, y))
    wait_map_settled(page, name)
    page.wait_for_function(RING_AT, arg=position, timeout=30000)
    assert page.get_attribute(".lm-wrap .layer.selected", "data-name") == name
    screenshot("charts-1-separability-click")

    # a layer picked on the layer map moves the ring to that layer's point
    target = page.locator("[data-layer-id]").nth(7)
    other = target.get_attribute("data-name")
    target.locator(".hit").click()
    wait_map_settled(page, other)
    _, _, position, shown = page.evaluate(POINT, 7)
    assert shown == other
    page.wait_for_function(RING_AT, arg=position, timeout=30000)

    # a click on the depth strip's sixth cell: that layer, ringed on the separability chart
    x, y, position, name = page.evaluate(CELL, 5)
    _click(page, (x, y))
    wait_map_settled(page, name)
    page.wait_for_function(RING_AT, arg=position, timeout=30000)
    assert page.get_attribute(".lm-wrap .layer.selected", "data-name") == name
    screenshot("charts-2-depth-strip-click")

    # three reruns later, each chart still sends a click once: one handler on its plot
    for part in ("separability", "depth_strip"):
        assert page.evaluate(f"() => document.querySelector('.st-key-{part} .js-plotly-plot')"
                             "._ev.listeners('plotly_click').length") == 1

    assert not page_errors, page_errors


def test_the_watched_name_is_streamlits_plotly_chunk():
    """The request checks above look for this name: Streamlit's build must still ship a chunk it matches."""
    chunks = Path(streamlit.__file__).parent / "static" / "static" / "js"
    assert [f for f in chunks.iterdir() if STREAMLIT_PLOTLY.search(f"/static/js/{f.name}")]


# the ids (customdata's first value) of a compare map's points inside a box of page coordinates, and the box
# over the middle of its plot area
BOX_IDS = """([side, box]) => {
  const gd = document.querySelector(`.st-key-compare_${side}_box .js-plotly-plot`);
  const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, rect = gd.getBoundingClientRect();
  if (!box) box = [rect.left + xa._offset + xa._length * 0.3, rect.top + ya._offset + ya._length * 0.3,
                   rect.left + xa._offset + xa._length * 0.7, rect.top + ya._offset + ya._length * 0.7];
  const ids = new Set();
  gd._fullData.forEach(tr => { if (!tr.customdata || tr.name === 'highlighted') return;
    for (let i = 0; i < tr.x.length; i++) {
      const px = rect.left + xa._offset + xa.l2p(tr.x[i]), py = rect.top + ya._offset + ya.l2p(tr.y[i]);
      if (px > box[0] && px < box[2] && py > box[1] && py < box[3]) ids.add(Number(tr.customdata[i][0]));
    } });
  return [box, Array.from(ids).sort((a, b) => a - b)];
}"""

RINGED = """side => { const gd = document.querySelector(`.st-key-compare_${side}_box .js-plotly-plot`);
  const t = gd && gd._fullData && gd._fullData.find(t => t.name === 'highlighted');
  return t ? Array.from(t.customdata, c => Number(c[0])).sort((a, b) => a - b) : []; }"""


def test_compare_layers_loads_no_streamlit_plotly_and_links_a_box_selection(
        shared_streamlit_server, browser_page, page_errors, screenshot):
    page, url = browser_page, shared_streamlit_server.url
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{url}/Explorer")
    page.get_by_role("tab", name="Compare layers").click()
    page.locator(".st-key-compare_left_box .ls-plotly.js-plotly-plot").scroll_into_view_if_needed(timeout=90000)
    _assert_drawn_by_the_apps_plotly(page, requested, ("compare_left_box", "compare_right_box"))
    assert page.evaluate(RINGED, "left") == page.evaluate(RINGED, "right") == []

    # the mode bar's box select, then a drag over the middle of the left map
    page.hover(".st-key-compare_left_box .js-plotly-plot")
    page.locator(".st-key-compare_left_box .modebar-btn[data-val='select']").click()
    (left, top, right, bottom), chosen = page.evaluate(BOX_IDS, ["left", None])
    assert chosen
    page.mouse.move(left, top)
    page.mouse.down()
    page.mouse.move((left + right) / 2, (top + bottom) / 2, steps=5)
    page.mouse.move(right, bottom, steps=5)
    page.mouse.up()
    # the same samples ringed on both maps, the count above them
    page.wait_for_function(f"() => ({RINGED})('right').join() === {chosen!r}.join()", timeout=30000)
    assert page.evaluate(RINGED, "left") == chosen
    assert f"{len(chosen)} linked samples" in page.inner_text("body")
    page.wait_for_timeout(1500)  # the redrawn maps drop the box: that is no person's "no selection"
    assert page.evaluate(RINGED, "left") == page.evaluate(RINGED, "right") == chosen
    screenshot("charts-3-compare-box-selection", full_page=True)

    # after those reruns each map has one select handler still; a double click clears the selection
    for side in ("left", "right"):
        assert page.evaluate(f"() => document.querySelector('.st-key-compare_{side}_box .js-plotly-plot')"
                             "._ev.listeners('plotly_selected').length") == 1
    page.mouse.dblclick((left + right) / 2, (top + bottom) / 2)
    page.wait_for_function(f"() => ({RINGED})('right').length === 0 && ({RINGED})('left').length === 0",
                           timeout=30000)
    assert "0 linked samples" in page.inner_text("body")
    screenshot("charts-4-compare-cleared", full_page=True)
    assert not [u for u in requested if STREAMLIT_PLOTLY.search(u)]
    assert not page_errors, page_errors
