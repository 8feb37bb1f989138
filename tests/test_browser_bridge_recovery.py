"""The data map's hover and click reach the inspector, and a layer map's choice the data map, even when a
step between fails, in headless Chromium (app/plot_bridge.js, app/layer_map.js): a hover whose message to
the server was lost is sent again while the pointer rests on the point, a click plotly does not report
still pins the point under the pointer, and a layer choice whose message was lost is sent again."""
from __future__ import annotations

import pytest

from harness.browser import PINNED_JS, inspector_id, layer_ids, open_explorer, point_positions, wait_map_settled

pytestmark = pytest.mark.browser

SHOWS_JS = """id => { const e = document.querySelector('.ls-inspector-head');
                      return !!e && e.dataset.sampleId === String(id); }"""


def _drop_first(page, marker: bytes, dropped: list) -> None:
    """Pass the page's Streamlit websocket through, except the first message to the server holding `marker`."""
    def route(ws):
        server = ws.connect_to_server()

        def to_server(message):
            data = message if isinstance(message, bytes) else message.encode()
            if marker in data and not dropped:
                dropped.append(data)
                return
            server.send(message)
        ws.on_message(to_server)
    page.route_web_socket("**/_stcore/stream", route)


def _a_point_not_shown(page):
    shown = inspector_id(page)
    return next(p for p in point_positions(page) if p[2] != shown)


def test_a_hover_whose_message_was_lost_is_sent_again(shared_streamlit_server, browser_page, page_errors):
    page, dropped = browser_page, []
    _drop_first(page, b'"event":"hover"', dropped)
    open_explorer(page, shared_streamlit_server.url)
    page.wait_for_timeout(1000)
    x, y, sample_id = _a_point_not_shown(page)
    page.mouse.move(x, y)
    page.wait_for_function(SHOWS_JS, arg=sample_id, timeout=20000)
    assert len(dropped) == 1 and str(sample_id).encode() in dropped[0]  # the first one was lost
    assert page_errors == []


def test_a_click_plotly_does_not_report_still_pins_the_point(shared_streamlit_server, browser_page, page_errors):
    page = browser_page
    open_explorer(page, shared_streamlit_server.url)
    page.wait_for_timeout(1000)
    x, y, sample_id = _a_point_not_shown(page)
    page.mouse.move(x, y)
    page.wait_for_function(SHOWS_JS, arg=sample_id, timeout=20000)
    # while the button is down plotly drops its hovered point and finds none as it comes up (under load:
    # its throttled hover ending in an unhover), so plotly itself reports no click
    page.mouse.down()
    page.evaluate("""() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
                             window.Plotly.Fx.unhover(gd); gd.__hovermode = gd._fullLayout.hovermode;
                             gd._fullLayout.hovermode = false; }""")
    page.mouse.up()
    page.evaluate("""() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
                             gd._fullLayout.hovermode = gd.__hovermode; }""")
    page.wait_for_function(PINNED_JS, arg=sample_id, timeout=30000)
    assert page_errors == []


def test_a_layer_choice_whose_message_was_lost_is_sent_again(shared_streamlit_server, browser_page, page_errors,
                                                            screenshot):
    page, dropped = browser_page, []
    _drop_first(page, b'"selected":', dropped)  # the layer map's first choice on this page
    open_explorer(page, shared_streamlit_server.url)
    shown = int(page.get_attribute(".layer.selected", "data-layer-id"))
    target = next(i for i in layer_ids(page)[3:] if i != shown)
    name = page.get_attribute(f'[data-layer-id="{target}"]', "data-name")
    page.locator(f'[data-layer-id="{target}"] .hit').click()
    # recovery, not speed: the re-send waits 2.5 s, then for a run under way (up to 10 s), then its own run
    wait_map_settled(page, name, timeout=60000)
    screenshot("recovery-layer-choice")
    assert len(dropped) == 1 and f'"selected":{target}'.encode() in dropped[0]  # the first one was lost
    assert int(page.get_attribute(".layer.selected", "data-layer-id")) == target
    page.wait_for_timeout(3000)  # past another re-send's time: the choice went twice, no more
    assert page.evaluate("() => window.__lsLayerChoicesSent") == 2
    # a choice the page follows goes once
    following = next(i for i in layer_ids(page)[3:] if i != target)
    page.locator(f'[data-layer-id="{following}"] .hit').click()
    wait_map_settled(page, page.get_attribute(f'[data-layer-id="{following}"]', "data-name"), timeout=30000)
    page.wait_for_timeout(3000)
    assert page.evaluate("() => window.__lsLayerChoicesSent") == 3
    assert page_errors == []
