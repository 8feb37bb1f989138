"""The Explorer's two maps by keyboard and mouse in headless Chromium, and the app offline.

One press of an arrow key moves the layer map's selection by one layer; the inspector returns to the
pinned sample when the pointer leaves the data map or the layer changes; the correct/wrong filter
keeps the map's colours and frame; PCA axes say what they show; and opening the pages asks no host
but the app's own. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

from urllib.parse import urlparse

import pytest

from harness.browser import (
    PINNED_JS,
    hover_point,
    inspector_id,
    layer_ids,
    open_explorer,
    point_positions,
    switch_layer,
    wait_map_settled,
)

OWN_HOSTS = {"127.0.0.1", "localhost"}

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser_page, page_errors):
    """The page at 1600x1000; a JavaScript error on it fails the test."""
    browser_page.set_viewport_size({"width": 1600, "height": 1000})
    yield browser_page
    assert not page_errors, page_errors


@pytest.fixture
def app_url(shared_streamlit_server) -> str:
    return shared_streamlit_server.url


def _selected_layer(page) -> int:
    return int(page.get_attribute(".lm-wrap .layer.selected", "data-layer-id"))


def _map_title(page) -> str:
    return page.evaluate("() => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                         ".map(e => e.textContent).join(' | ')")


def _press_and_settle(page, key: str) -> int:
    """Press a key on the focused layer map; the layer the app then shows (its map redrawn)."""
    before = _map_title(page)
    page.keyboard.press(key)
    page.wait_for_function("""before => { const t = [...document.querySelectorAll('.st-key-datamap .gtitle')];
                                          return t.length === 1 && t[0].textContent !== before; }""",
                           arg=before, timeout=30000)
    page.wait_for_timeout(400)  # a second listener would have moved on by now
    shown = _selected_layer(page)
    name = page.get_attribute(f'[data-layer-id="{shown}"]', "data-name")
    wait_map_settled(page, name)
    return shown


def test_one_arrow_press_moves_the_layer_map_by_one_layer(page, app_url, screenshot):
    open_explorer(page, app_url)
    ids = layer_ids(page)
    start = ids[3]
    switch_layer(page, start)  # a click selects and focuses the map (and reruns the page)
    page.wait_for_timeout(500)
    steps = [(key, _press_and_settle(page, key)) for key in ["ArrowRight"] * 3 + ["ArrowLeft"] * 3]
    screenshot("map-1-arrow-keys")
    expected = [ids[4], ids[5], ids[6], ids[5], ids[4], ids[3]]
    assert [layer for _, layer in steps] == expected, steps


def test_the_inspector_returns_to_the_pinned_sample(page, app_url, screenshot):
    open_explorer(page, app_url)
    pinned = inspector_id(page)
    assert "pinned" in page.inner_text(".ls-inspector-head")
    page.mouse.move(5, 5)
    x, y, sample_id = next(pt for pt in point_positions(page, 30) if pt[2] != pinned)
    hover_point(page, x, y, sample_id)
    assert "hovered" in page.inner_text(".ls-inspector-head")
    screenshot("map-2-hovered")

    # the pointer leaves the map: back to the pinned sample, as in the gallery
    page.mouse.move(x, 990)
    page.wait_for_function("id => { const e = document.querySelector('.ls-inspector-head');"
                           " return e && e.dataset.sampleId === String(id); }", arg=pinned, timeout=15000)
    assert "pinned" in page.inner_text(".ls-inspector-head")
    screenshot("map-3-left-the-map")

    # hovering again, then another layer (by keyboard, so the pointer stays put): the pinned sample
    page.mouse.move(5, 5)
    x, y, sample_id = next(pt for pt in point_positions(page, 30) if pt[2] != pinned)
    hover_point(page, x, y, sample_id)
    page.locator(".lm-wrap").focus()  # the map is in a shadow root; focus() moves no pointer
    _press_and_settle(page, "ArrowRight")
    page.wait_for_function("id => { const e = document.querySelector('.ls-inspector-head');"
                           " return e && e.dataset.sampleId === String(id); }", arg=pinned, timeout=15000)


def test_a_sweep_across_the_map_sends_few_hovers_and_ends_on_the_last_point(page, app_url, screenshot):
    open_explorer(page, app_url)
    pinned = inspector_id(page)
    page.mouse.move(5, 5)
    points = [pt for pt in point_positions(page, 30) if pt[2] != pinned][:12]
    assert len(points) >= 8

    x, y, sample_id = points[0]
    hover_point(page, x, y, sample_id)

    # a quick sweep across the other points. One hover at a time is in flight: a new one goes only once
    # the inspector has answered the last (or after the bridge's 1 s patience), so the hovers sent are
    # bounded by the answers seen, however fast this machine sweeps or answers; the inspector ends on
    # the last point.
    page.evaluate("""() => { window.__lsHoversSent = 0; window.__lsAnswers = 0; window.__lsSweepAt = performance.now();
        let shown = null;
        window.__lsWatch = setInterval(() => { const e = document.querySelector('.ls-inspector-head');
            const id = e && e.dataset.sampleId; if (id !== shown) { shown = id; window.__lsAnswers += 1; } }, 5); }""")
    for x, y, _ in points[1:]:
        page.mouse.move(x, y)
    last = points[-1][2]
    page.wait_for_function("id => { const e = document.querySelector('.ls-inspector-head');"
                           " return e && e.dataset.sampleId === String(id); }", arg=last, timeout=15000)
    page.wait_for_timeout(1500)  # anything still waiting would have gone by now
    sent, answers, seconds = page.evaluate("() => { clearInterval(window.__lsWatch); return [window.__lsHoversSent,"
                                           " window.__lsAnswers, (performance.now() - window.__lsSweepAt) / 1000]; }")
    crossed = len(points) - 1
    assert 1 <= sent < crossed, f"{sent} hovers sent for a sweep across {crossed} points"
    assert sent <= answers + int(seconds) + 1, f"{sent} hovers sent, {answers} answered in {seconds:.1f} s"
    assert inspector_id(page) == last and "hovered" in page.inner_text(".ls-inspector-head")
    screenshot("map-4-after-a-sweep")


def _map_look(page) -> dict:
    """The data map as drawn: each trace's colour by name, the axis ranges and the point count."""
    return page.evaluate("""() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
        const colours = {}; let points = 0;
        gd._fullData.forEach(t => { if (!t.customdata || !t.marker || t.name === 'highlighted') return;
                                    colours[t.name] = t.marker.color;
                                    points += t.x.filter(v => v !== null && v !== undefined).length; });
        const legend = [...gd.querySelectorAll('.legend .traces')].length;
        return {colours, points, legend, width: gd._fullLayout.xaxis._length, x: gd._fullLayout.xaxis.range, y: gd._fullLayout.yaxis.range,
                xtitle: gd._fullLayout.xaxis.title.text || '', ytitle: gd._fullLayout.yaxis.title.text || ''}; }""")


def _choose_show(page, label: str, before_points: int) -> dict:
    page.locator(".st-key-map_filter").get_by_text(label, exact=True).click()
    page.wait_for_function("n => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');"
                           " return gd && gd._fullData && gd._fullData.filter(t => t.customdata && t.name !== "
                           "'highlighted').reduce((s, t) => s + t.x.filter(v => v != null).length, 0) !== n; }",
                           arg=before_points, timeout=30000)
    page.wait_for_timeout(500)
    return _map_look(page)


@pytest.mark.parametrize("viewport", [(1600, 1000), (1366, 768)])
def test_the_filter_keeps_the_maps_colours_and_frame_and_pca_axes_are_named(page, app_url, viewport, screenshot):
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    open_explorer(page, app_url)
    size = f"{viewport[0]}x{viewport[1]}"
    page.get_by_text("PCA", exact=True).click()
    page.wait_for_function("() => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                           ".some(e => e.textContent.includes('· PCA'))", timeout=30000)
    page.wait_for_timeout(500)
    everything = _map_look(page)
    screenshot(f"map-4-pca-all-{size}")

    wrong = _choose_show(page, "wrong", everything["points"])
    screenshot(f"map-5-pca-wrong-{size}")
    assert 0 < wrong["points"] < everything["points"]
    assert wrong["x"] == everything["x"] and wrong["y"] == everything["y"]
    assert wrong["legend"] == everything["legend"] and wrong["width"] == everything["width"]  # same frame
    shared = [name for name in wrong["colours"] if name in everything["colours"]]
    assert shared
    assert {n: wrong["colours"][n] for n in shared} == {n: everything["colours"][n] for n in shared}
    assert everything["xtitle"].startswith("PC1 (") and everything["xtitle"].endswith("% of variance)")
    assert everything["ytitle"].startswith("PC2 (")


def _foreign(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme not in ("data", "blob", "about") and parsed.hostname not in OWN_HOSTS


def test_no_request_leaves_the_machine(page, app_url):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(app_url)
    page.wait_for_selector("[data-testid='stDataFrame']", timeout=60000)
    page.wait_for_timeout(1500)
    open_explorer(page, app_url)
    page.mouse.move(5, 5)
    x, y, sample_id = next(pt for pt in point_positions(page, 30) if pt[2] != inspector_id(page))
    hover_point(page, x, y, sample_id)
    for name in ("SQL", "About"):
        page.get_by_role("link", name=name).first.click()
        page.wait_for_timeout(2500)
    assert requests
    assert not [url for url in requests if _foreign(url)], sorted({url for url in requests if _foreign(url)})


def _same_plot(page) -> bool:
    return page.evaluate("() => window.__lsFirstPlot === document.querySelector('.st-key-datamap .js-plotly-plot')")


def test_the_data_map_stays_one_plot_through_switches_pins_and_filters(page, app_url, screenshot):
    """A new figure updates the plot in place (app/plotly_view.py): no new plot, no new WebGL canvases
    (each remount of Streamlit's chart costs a new software WebGL context and every point uploaded again),
    and hovering still reaches the inspector after each redraw."""
    open_explorer(page, app_url)
    page.evaluate("() => { window.__lsFirstPlot = document.querySelector('.st-key-datamap .js-plotly-plot'); }")
    canvases = page.locator(".st-key-datamap canvas").count()
    ids = layer_ids(page)
    for layer_id in ids[2:4]:
        switch_layer(page, layer_id)
        assert _same_plot(page)
    pinned = inspector_id(page)
    page.mouse.move(5, 5)
    x, y, sample_id = next(pt for pt in point_positions(page, 30) if pt[2] != pinned)
    page.evaluate("() => { window.__lsTraces = document.querySelector('.st-key-datamap .js-plotly-plot').data; }")
    page.mouse.click(x, y)  # pin it: the map moves its ring there
    page.wait_for_function("id => { const e = document.querySelector('.ls-inspector-head');"
                           " return e && e.dataset.sampleId === String(id) && e.innerText.includes('pinned'); }",
                           arg=sample_id, timeout=30000)
    ring = page.evaluate("""() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
        const s = (gd.layout.shapes || []).find(s => s.name === 'pinned');
        return s && [gd._fullLayout.xaxis.l2p(s.xanchor) + gd._fullLayout.xaxis._offset + gd.getBoundingClientRect().left,
                     gd._fullLayout.yaxis.l2p(s.yanchor) + gd._fullLayout.yaxis._offset + gd.getBoundingClientRect().top]; }""")
    assert ring and abs(ring[0] - x) < 2 and abs(ring[1] - y) < 2, (ring, x, y)
    # a pin changes the layout only: plotly keeps the very trace objects it drew (no recalculation of the points)
    assert page.evaluate("() => document.querySelector('.st-key-datamap .js-plotly-plot').data === window.__lsTraces")
    page.locator(".st-key-map_filter").get_by_text("correct", exact=True).click()
    page.wait_for_timeout(1500)
    assert _same_plot(page)
    assert page.locator(".st-key-datamap .js-plotly-plot").count() == 1
    assert page.locator(".st-key-datamap canvas").count() == canvases
    page.mouse.move(5, 5)
    x, y, sample_id = next(pt for pt in point_positions(page, 30) if pt[2] != inspector_id(page))
    hover_point(page, x, y, sample_id)
    screenshot("map-6-one-plot-after-switch-pin-filter")


def test_a_click_right_after_a_jump_pins_the_point_under_the_pointer(page, app_url, screenshot):
    """The pointer jumps onto a point and clicks at once, again and again, as a quick hand (or a touch)
    does. Plotly's hover is throttled and may still hold the previous point when the click comes; the
    page must pin the point that was clicked, and ring it, every time."""
    open_explorer(page, app_url)
    points = point_positions(page, 30)
    shown = inspector_id(page)
    for k in range(6):
        x, y, sample_id = [pt for pt in points if pt[2] != shown][(7 * k) % (len(points) - 1)]
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        page.wait_for_function(PINNED_JS, arg=sample_id, timeout=15000)
        shown = sample_id
        points = point_positions(page, 30)
    screenshot("map-7-quick-pins")
    # two clicks within plotly's double-click delay are a double click: it must leave the map's own ranges
    # (plotly's default toggles to its autorange, which moved every point under a quick hand's pointer)
    ranges = """() => { const fl = document.querySelector('.st-key-datamap .js-plotly-plot')._fullLayout;
                        return [fl.xaxis.range, fl.yaxis.range].flat().map(v => +v.toFixed(3)); }"""
    drawn = page.evaluate(ranges)
    box = page.locator(".st-key-datamap .nsewdrag").first.bounding_box()
    for _ in range(2):
        page.mouse.dblclick(box["x"] + 3, box["y"] + 3)
        page.wait_for_timeout(500)
        assert page.evaluate(ranges) == drawn
    # on another layer, zoomed in: a double click returns to that layer's ranges, not the first map's
    ids = layer_ids(page)
    switch_layer(page, ids[2])
    page.wait_for_timeout(500)
    drawn_here = page.evaluate(ranges)
    assert drawn_here != drawn
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)  # scroll zoom
    page.wait_for_function(f"d => JSON.stringify(({ranges})()) !== JSON.stringify(d)", arg=drawn_here, timeout=10000)
    page.wait_for_timeout(1000)  # plotly ends a wheel zoom with a relayout a moment later
    page.mouse.dblclick(box["x"] + 3, box["y"] + 3)
    page.wait_for_timeout(500)
    assert page.evaluate(ranges) == drawn_here
    screenshot("map-7b-double-click-after-switch")


def test_the_data_map_follows_its_column_when_the_sidebar_folds(page, app_url, screenshot):
    """plotly.js redraws at the new width (config responsive: it watches the plot itself, not the window)."""
    open_explorer(page, app_url)
    width = "() => document.querySelector('.st-key-datamap .js-plotly-plot')._fullLayout.width"
    before = page.evaluate(width)
    page.locator("[data-testid='stSidebarCollapseButton'] button, [data-testid='stSidebarCollapseButton']").first.click()
    page.wait_for_function(f"w => ({width})() > w + 50", arg=before, timeout=15000)
    screenshot("map-7-sidebar-folded")
