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


CLICK_TAB = """(name) => [...document.querySelectorAll('[role=tab]')].find(t => t.innerText.trim() === name).click()"""
HOVER = """(sampleId) => document.querySelector('.st-key-datamap .js-plotly-plot')
                              .emit('plotly_hover', {points: [{customdata: [sampleId]}]})"""


def test_a_channel_picked_in_the_gallery_survives_a_hover(streamlit_server, browser_page, page_errors,
                                                          screenshot):
    """A tile's channel goes to the Channel tab though the browser's input still holds the old one: each
    message until a page run draws the input again (the hover's fragment run, the tab clicks) sends it."""
    from playwright.sync_api import expect
    page = browser_page
    page.goto(f"{streamlit_server.url}/Explorer?catalog={streamlit_server.path.name}"
              "&layer=8&method=pca&pinned=4")
    page.wait_for_function(BRIDGE_BOUND, timeout=90000)
    page.wait_for_timeout(1500)
    page.evaluate(CLICK_TAB, "Channel")
    page.wait_for_selector("[data-testid='channel-top'] .ls-thumb", timeout=120000)
    shown = page.locator(".st-key-channel input").input_value()
    cells = page.locator(".st-key-gallery .gal .cell")
    if not cells.count():
        page.locator(".st-key-compute_activations button").click()
    expect(cells.first).to_be_visible(timeout=180000)
    page.wait_for_timeout(1500)
    tile = page.locator(".st-key-gallery .gal .cell:not([data-channel='" + shown + "'])").first
    picked = tile.get_attribute("data-channel")
    tile.click()  # the gallery's fragment sets the channel; the Channel tab's input still holds the one shown
    dialog = page.locator("[role='dialog']")
    dialog.wait_for(timeout=30000)
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached", timeout=10000)
    # the pointer crosses the map: the inspector's run gets the browser's widget values, the old channel too
    page.evaluate(HOVER, 7)
    page.wait_for_selector(".ls-inspector-head[data-sample-id='7']", timeout=30000)
    page.wait_for_timeout(1000)
    page.evaluate(CLICK_TAB, "Neighbours")
    page.wait_for_selector("[data-testid='neighbours-summary']", timeout=60000)
    page.evaluate(CLICK_TAB, "Channel")
    page.wait_for_selector("[data-testid='channel-top'] .ls-thumb", timeout=120000)
    page.locator(".st-key-channel").scroll_into_view_if_needed()
    screenshot("batched-gallery-channel-and-hover")
    expect(page.get_by_text(f"activate channel {picked} of")).to_be_visible(timeout=5000)
    assert page.locator(".st-key-channel input").input_value() == picked
    assert f"channel={picked}" in page.url
    assert "Traceback" not in streamlit_server.log(), streamlit_server.log()[-3000:]
    assert not page_errors, page_errors
