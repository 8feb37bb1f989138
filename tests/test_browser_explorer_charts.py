"""The charts beside the Explorer's map in headless Chromium: a visitor's first look loads none of
Streamlit's own plotly bundle (megabytes; the app's plotly.js draws every chart of that look), a click on
a point of the separability chart or on a cell of the depth strip selects that layer and rings it, and a
layer picked on the layer map moves the ring. Screenshots go to test-artifacts/."""
from __future__ import annotations

import re

import pytest

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
    for part in ("datamap", "separability", "depth_strip"):
        page.wait_for_selector(f".st-key-{part} .js-plotly-plot", timeout=90000)
    page.wait_for_selector(".ls-inspector-head", timeout=60000)
    page.wait_for_selector("[data-layer-id]", timeout=60000)
    page.wait_for_timeout(1000)  # anything the first look still loads is asked for by now
    assert not [u for u in requested if STREAMLIT_PLOTLY.search(u)]
    assert any("/app/static/plotly-" in u for u in requested)  # the app's own plotly.js drew them
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

    # the watch sees Streamlit's chunk where a chart is Streamlit's own (Compare layers' maps)
    page.get_by_role("tab", name="Compare layers").click()
    page.wait_for_selector(".st-key-compare_left_box .js-plotly-plot", timeout=60000)
    assert [u for u in requested if STREAMLIT_PLOTLY.search(u)]
    assert not page_errors, page_errors
