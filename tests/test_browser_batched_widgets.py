"""A tab or a control clicked in the same moment as a fragment's report (the map's hover going to the
inspector) in headless Chromium: Streamlit's browser sends both in one message, as the fragment's run, and
the page must still follow the click (app/fragments.py). Screenshots go to test-artifacts/."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.test_app_cluster_names import clustered_map_params

pytestmark = pytest.mark.browser

# In one task, as a person's click can land while the map reports a hover: the hover's trigger (the
# inspector fragment's) and the tab's change join one batch of widget updates in Streamlit's browser.
HOVER_AND_CLICK_TAB = """([sampleId, tabName]) => {
  const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
  gd.emit('plotly_hover', {points: [{customdata: [sampleId]}]});
  const tab = [...document.querySelectorAll('[role=tab]')].find(t => t.innerText.trim() === tabName);
  tab.click();
}"""

HOVER_AND_CLICK = """([sampleId, selector]) => {
  const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
  gd.emit('plotly_hover', {points: [{customdata: [sampleId]}]});
  document.querySelector(selector).click();
}"""

BRIDGE_BOUND = """() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
                          return !!(gd && gd.__lsHandlers); }"""


def test_tab_clicked_with_a_hover_is_shown(streamlit_server, browser_page, page_errors, screenshot):
    page, url = browser_page, streamlit_server.url
    page.goto(f"{url}/Explorer?catalog={streamlit_server.path.name}&layer=8&method=pca&pinned=4")
    page.wait_for_selector(".ls-inspector-head", timeout=90000)
    page.wait_for_function(BRIDGE_BOUND, timeout=60000)
    page.wait_for_timeout(1500)  # the first look's own reports (drawn, the pictures' view) are answered
    page.evaluate(HOVER_AND_CLICK_TAB, [7, "Neighbours"])
    page.wait_for_selector("[data-testid='neighbours-summary']", timeout=30000)
    # the hover was not lost either: the inspector shows the hovered sample
    page.wait_for_selector(".ls-inspector-head[data-sample-id='7']", timeout=30000)
    screenshot("batched-tab-and-hover", full_page=True)
    assert "Traceback" not in streamlit_server.log(), streamlit_server.log()[-3000:]
    assert not page_errors, page_errors


def test_control_switched_with_a_hover_redraws_the_map(streamlit_server, browser_page, page_errors, screenshot):
    page = browser_page
    page.goto(f"{streamlit_server.url}/Explorer?{urlencode(clustered_map_params(streamlit_server.path))}")
    page.wait_for_selector(".st-key-datamap .js-plotly-plot .annotation", timeout=90000)  # the cluster names
    page.wait_for_function(BRIDGE_BOUND, timeout=60000)
    page.wait_for_timeout(1500)
    page.evaluate(HOVER_AND_CLICK, [3, ".st-key-cluster_names input"])
    page.wait_for_function("() => !document.querySelector('.st-key-datamap .annotation')", timeout=30000)
    page.wait_for_function("() => new URLSearchParams(location.search).get('labels') === '0'", timeout=30000)
    screenshot("batched-switch-and-hover")
    assert "Traceback" not in streamlit_server.log(), streamlit_server.log()[-3000:]
    assert not page_errors, page_errors
