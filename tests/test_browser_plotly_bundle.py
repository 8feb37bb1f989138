"""Our plotly.js build (app/vendor/, tools/plotly_bundle/) in Chromium: every trace type it was built with
draws, and the data map's case, 50,000 WebGL points, draws and is box- and lasso-selectable (the map of a
big catalog is the only chart that needs scattergl, and the browser tests over the bundled catalog, 400
points, draw it as SVG)."""
from __future__ import annotations

import re

import pytest

from app import plotly_view
from tests.paths import ARTIFACTS

pytestmark = pytest.mark.browser

PAGE = "<html><body style='margin:0'><div id='gd' style='width:900px;height:600px'></div></body></html>"


def built_trace_types() -> list[str]:
    header = plotly_view.SOURCE.read_text(encoding="utf-8")[:400]
    return re.search(r"plotly\.js \(layerscope: ([a-z0-9, ]+) - minified\)", header).group(1).split(", ")


@pytest.fixture
def plotly_page(browser_page, page_errors):
    assert plotly_view.SOURCE.parent == plotly_view.VENDOR  # our build, not plotly.py's full file
    # plotly.js warns by console.trace ("Unrecognized trace type"); Chromium's GL driver notes are no error
    browser_page.on("console", lambda m: m.type in ("warning", "error", "trace")
                    and not m.text.startswith("[.WebGL-") and page_errors.append(m.text))
    browser_page.set_content(PAGE)
    browser_page.add_script_tag(path=str(plotly_view.SOURCE))
    return browser_page


def test_every_trace_type_of_the_build_draws(plotly_page, page_errors):
    types = built_trace_types()
    assert {"scatter", "scattergl", "bar", "heatmap"} <= set(types)
    for kind in types:
        trace = {"type": kind, "z": [[1, 2], [3, 4]]} if kind == "heatmap" else {
            "type": kind, "x": [1, 2, 3], "y": [2, 1, 3]}
        drawn = plotly_page.evaluate("""trace => Plotly.newPlot('gd', [trace], {}).then(gd => ({
            module: gd._fullData[0]._module && gd._fullData[0]._module.name, visible: gd._fullData[0].visible,
            points: gd.querySelectorAll('.scatterlayer .point, .barlayer .point').length,
            heatmap: gd.querySelectorAll('.heatmaplayer .hm image').length,
            webgl: gd._fullLayout._plots.xy._scene ? gd._fullLayout._plots.xy._scene.count : 0}))""", trace)
        assert drawn["module"] == kind and drawn["visible"] is True, drawn  # an unknown type would be 'scatter'
        expected = {"scattergl": ("webgl", 1), "heatmap": ("heatmap", 1)}.get(kind, ("points", 3))
        assert drawn[expected[0]] == expected[1], (kind, drawn)
    assert page_errors == []


@pytest.mark.parametrize("mode", ["select", "lasso"])
def test_fifty_thousand_webgl_points_draw_and_a_drag_selects_those_inside(plotly_page, page_errors, mode):
    plotly_page.evaluate("""mode => {
        let seed = 7; const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
        const x = new Float32Array(50000).map(rand), y = new Float32Array(50000).map(rand);
        window.selected = null;
        return Plotly.newPlot('gd', [{type: 'scattergl', mode: 'markers', x, y, marker: {size: 3}}],
                              {dragmode: mode, xaxis: {range: [0, 1]}, yaxis: {range: [0, 1]},
                               margin: {l: 50, r: 50, t: 50, b: 50}})
          .then(gd => gd.on('plotly_selected', ev => { window.selected = ev ? ev.points.length : 0; }));
    }""", mode)
    box = plotly_page.locator("#gd .nsewdrag").bounding_box()  # the plot area: [0, 1] on both axes
    # a box is dragged corner to corner, a lasso round the same square
    corners = [(0.25, 0.25), (0.75, 0.75)] if mode == "select" else [
        (0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75), (0.25, 0.25)]
    at = [(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy) for fx, fy in corners]
    plotly_page.mouse.move(*at[0])
    plotly_page.mouse.down()
    for x, y in at[1:]:
        plotly_page.mouse.move(x, y, steps=8)
    plotly_page.mouse.up()
    plotly_page.wait_for_function("() => window.selected !== null", timeout=30000)
    ARTIFACTS.mkdir(exist_ok=True)
    plotly_page.screenshot(path=str(ARTIFACTS / f"plotly-bundle-scattergl-{mode}.png"))
    selected = plotly_page.evaluate("() => window.selected")
    # a square of a quarter of the plot over 50,000 uniform points
    assert 11000 < selected < 14000, selected
    assert plotly_page.evaluate("() => document.querySelectorAll('#gd canvas.gl-canvas').length") >= 1
    assert page_errors == []
