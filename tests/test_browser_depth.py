"""The depth views by mouse in headless Chromium: a click on a cell of the pinned sample's depth strip
opens that layer, the Failures tab shows the lost images and a confusion's chart, a click on the layer
similarity opens Compare layers with those two, and Compare models shows two layers' maps for a clicked
cell, loading none of Streamlit's plotly bundle. Screenshots go to test-artifacts/."""
from __future__ import annotations

import pytest

import catalog
from harness.browser import inspector_id
from tests.test_browser_explorer_charts import STREAMLIT_PLOTLY

pytestmark = pytest.mark.browser

TITLE_STARTS = ("t => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                ".some(e => e.textContent.startsWith(t + ' ·'))")

BAR_CENTRE = """([box, i]) => {
  const gd = document.querySelector(`.st-key-${box} .js-plotly-plot`);
  gd.scrollIntoView({block: 'center'});
  const fl = gd._fullLayout, tr = gd._fullData[0], rect = gd.getBoundingClientRect();
  return [rect.left + fl.xaxis._offset + fl.xaxis.l2p(tr.x[i]), rect.top + fl.yaxis._offset + fl.yaxis.l2p(0.5),
          tr.customdata[i][1]];
}"""

CELL = """([box, wanted]) => {
  const gd = document.querySelector(`.st-key-${box} .js-plotly-plot`);
  gd.scrollIntoView({block: 'center'});
  const fl = gd._fullLayout, tr = gd._fullData.find(t => t.name === 'cells'), rect = gd.getBoundingClientRect();
  const i = tr.customdata.findIndex(c => c[0] === wanted[0] && c[1] === wanted[1]);
  return [rect.left + fl.xaxis._offset + fl.xaxis.l2p(fl.xaxis.d2c(tr.x[i])),
          rect.top + fl.yaxis._offset + fl.yaxis.l2p(fl.yaxis.d2c(tr.y[i])), tr.x[i], tr.y[i]];
}"""


def _click(page, point) -> None:
    page.mouse.move(point[0], point[1])
    page.wait_for_timeout(300)
    page.mouse.click(point[0], point[1])


def test_depth_strip_failures_and_layer_similarity_by_mouse(streamlit_server, browser_page, page_errors,
                                                            screenshot):
    page, url, path = browser_page, streamlit_server.url, streamlit_server.path
    con = catalog.open(path)
    layers = con.execute("SELECT layer_id, name FROM layers ORDER BY position").fetchall()
    page.goto(f"{url}/Explorer?catalog={path.name}&pinned=7")
    page.wait_for_selector(".st-key-depth_strip .js-plotly-plot", timeout=90000)
    screenshot("depth-1-strip")
    # a click on the strip's sixth cell opens the sixth layer
    point = page.evaluate(BAR_CENTRE, ["depth_strip", 5])
    assert point[2] == layers[5][1]
    _click(page, point)
    page.wait_for_function(TITLE_STARTS, arg=layers[5][1], timeout=30000)

    page.get_by_role("tab", name="Failures").click()
    page.wait_for_selector("[data-testid='failure-thumbs'] .ls-thumb", timeout=60000)
    wrong = con.execute("SELECT count(*) FROM settling WHERE NOT correct").fetchone()[0]
    assert page.locator("[data-testid='failure-thumbs'] .ls-thumb").count() == wrong
    page.wait_for_selector(".st-key-failures_pair_box .js-plotly-plot", timeout=30000)
    screenshot("depth-2-failures", full_page=True)
    # a click on a lost image pins it: the inspector shows it, its thumbnail is framed
    target = page.locator("[data-testid='failure-thumbs'] .ls-thumb:not(.ls-pinned)").first
    target_id = int(target.get_attribute("data-sample-id"))
    target.click()
    page.wait_for_function("id => document.querySelector('.ls-inspector-head')?.dataset.sampleId === String(id)",
                           arg=target_id, timeout=30000)
    page.locator(f"[data-testid='failure-thumbs'] .ls-pinned[data-sample-id='{target_id}']").wait_for(timeout=30000)
    assert inspector_id(page) == target_id
    screenshot("depth-2b-failure-pinned", full_page=True)

    page.get_by_role("tab", name="Layer similarity").click()
    page.wait_for_selector(".st-key-similarity_box .js-plotly-plot", timeout=60000)
    left, right = layers[4], layers[len(layers) - 3]
    point = page.evaluate(CELL, ["similarity_box", [left[0], right[0]]])
    assert (point[3], point[2]) == (left[1], right[1])
    screenshot("depth-3-similarity", full_page=True)
    _click(page, point)
    page.wait_for_selector(".st-key-compare_left_box .js-plotly-plot", timeout=60000)
    page.wait_for_function("t => [...document.querySelectorAll('.st-key-compare_left_box .gtitle')]"
                           ".some(e => e.textContent.startsWith(t + ' ·'))", arg=left[1], timeout=30000)
    page.wait_for_function("t => [...document.querySelectorAll('.st-key-compare_right_box .gtitle')]"
                           ".some(e => e.textContent.startsWith(t + ' ·'))", arg=right[1], timeout=30000)
    screenshot("depth-4-compare-layers", full_page=True)
    assert not page_errors


def test_compare_models_shows_a_clicked_pair_of_layers_side_by_side(streamlit_server, browser_page, page_errors,
                                                                    screenshot):
    page, url, path = browser_page, streamlit_server.url, streamlit_server.path
    layers = catalog.open(path).execute("SELECT layer_id, name FROM layers ORDER BY position").fetchall()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{url}/Compare_models")
    page.wait_for_selector(".st-key-models_box .js-plotly-plot", timeout=90000)
    assert "compared with itself" in page.inner_text("body")
    a, b = layers[6], layers[len(layers) - 4]
    point = page.evaluate(CELL, ["models_box", [a[0], b[0]]])
    _click(page, point)
    page.wait_for_selector(".st-key-models_a_box .js-plotly-plot", timeout=60000)
    page.wait_for_selector(".st-key-models_b_box .js-plotly-plot", timeout=60000)
    body = page.inner_text("body")
    assert f"{path.name} · {a[1]}" in body and f"{path.name} · {b[1]}" in body
    # both maps are the app's mounted charts: the page loads none of Streamlit's plotly bundle
    for side in ("a", "b"):
        assert page.locator(f".st-key-models_{side}_box .ls-plotly.js-plotly-plot").count() == 1
    page.wait_for_timeout(1000)
    assert not [u for u in requested if STREAMLIT_PLOTLY.search(u)]
    screenshot("depth-5-compare-models", full_page=True)
    assert not page_errors
