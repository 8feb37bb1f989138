"""plotly.js starts loading with the Explorer's first elements (app/plotly_preload.js), not when the
charts mount after the whole page is rendered; it is loaded and evaluated once a page load, a trip to
another page and back included; the data map is drawn before the charts beside it. Screenshots go to
test-artifacts/."""
from __future__ import annotations

import re
import time

import pytest

pytestmark = pytest.mark.browser

MAP_DRAWN = ".st-key-datamap .js-plotly-plot .gtitle"

# the order in which the page gains plotly.js's script tag and the first mounted chart's div (made by
# app/plotly_view.js when a chart's script runs): mutation records are queued in the order things happen
ORDER = """
window.__lsOrder = [];
new MutationObserver((records) => records.forEach((record) => record.addedNodes.forEach((node) => {
  if (node.nodeType !== 1) return;
  if (node.tagName === 'SCRIPT' && /\\/app\\/static\\/plotly-/.test(node.src)) window.__lsOrder.push('plotly.js');
  if (node.matches('.ls-plotly') || node.querySelector('.ls-plotly')) window.__lsOrder.push('chart');
}))).observe(document, {subtree: true, childList: true});
"""

PLOTLY_REQUESTS = ("() => performance.getEntriesByType('resource')"
                   ".filter(e => /\\/app\\/static\\/plotly-[^/]*\\.js$/.test(e.name)).map(e => e.startTime)")


def test_plotly_starts_before_the_charts_mount_and_loads_once(shared_streamlit_server, browser_page,
                                                               page_errors, screenshot):
    page, url = browser_page, shared_streamlit_server.url
    page.add_init_script(ORDER)
    page.goto(f"{url}/Explorer")
    page.wait_for_selector(MAP_DRAWN, timeout=90000)
    started = page.evaluate(PLOTLY_REQUESTS)
    assert len(started) == 1
    assert page.evaluate("window.__lsOrder")[:2] == ["plotly.js", "chart"]  # asked for before any chart mounted
    page.evaluate("window.__lsFirstPlotly = window.Plotly")

    page.get_by_role("link", name="About").first.click()
    page.wait_for_function("() => location.pathname.endsWith('/About')", timeout=30000)
    page.wait_for_timeout(1500)
    page.get_by_role("link", name="Explorer").first.click()
    page.wait_for_selector(MAP_DRAWN, timeout=60000)
    page.wait_for_timeout(1000)
    screenshot("plotly-preload-back-from-about")
    assert len(page.evaluate(PLOTLY_REQUESTS)) == 1  # not fetched again
    assert page.evaluate("window.Plotly === window.__lsFirstPlotly")  # nor evaluated again
    assert not page_errors


# the animation frame in which each of the Explorer's charts is first seen drawn (plotly's svg in each part):
# a chart drawn in the same go as the map shows in the same frame
DRAWN_IN_FRAME = """
window.__lsDrawn = {};
const parts = {map: '.st-key-datamap .js-plotly-plot .gtitle',
               separability: '.st-key-separability .js-plotly-plot .main-svg',
               depth_strip: '.st-key-depth_strip .js-plotly-plot .main-svg'};
let frame = 0;
const look = () => {
  frame += 1;
  Object.entries(parts).forEach(([name, selector]) => {
    if (!(name in window.__lsDrawn) && document.querySelector(selector)) window.__lsDrawn[name] = frame;
  });
  requestAnimationFrame(look);
};
requestAnimationFrame(look);
"""


def test_the_map_is_drawn_before_the_charts_beside_it(shared_streamlit_server, browser_page, page_errors):
    page, url = browser_page, shared_streamlit_server.url
    page.add_init_script(DRAWN_IN_FRAME)
    page.goto(f"{url}/Explorer")
    page.wait_for_function("() => Object.keys(window.__lsDrawn).length === 3", timeout=90000)
    drawn = page.evaluate("window.__lsDrawn")
    assert drawn["map"] < drawn["separability"] and drawn["map"] < drawn["depth_strip"], drawn  # shown first
    assert not page_errors


def test_a_failed_load_of_plotly_is_retried_and_the_charts_are_drawn(shared_streamlit_server, browser_page,
                                                                     page_errors, screenshot):
    """The preload's request for plotly.js fails (a dropped connection) seconds after it was made, when the
    charts have mounted and wait on it: the loader tries once more, and every chart is drawn."""
    page, url = browser_page, shared_streamlit_server.url
    asked = []

    def fail_the_first(route):
        asked.append(route.request.url)
        if len(asked) == 1:
            time.sleep(4)  # the page renders meanwhile: its charts mount and wait on this load
            route.abort()
        else:
            route.continue_()

    page.route(lambda u: bool(re.search(r"/app/static/plotly-[^/]*\.js$", u)), fail_the_first)
    page.goto(f"{url}/Explorer")
    page.wait_for_selector(MAP_DRAWN, timeout=90000)
    page.wait_for_selector(".st-key-separability .js-plotly-plot .main-svg", timeout=60000)
    screenshot("plotly-preload-retried")
    assert len(asked) == 2  # the failed one, then the loader's one retry for every chart
    assert page.locator(".ls-plotly", has_text="could not be loaded").count() == 0
    assert not page_errors
