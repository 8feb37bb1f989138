"""The Explorer's tabs by mouse in headless Chromium, as a new user meets them: a click on a confusion
matrix cell highlights its samples, a click on a heatmap column picks the channel, the gallery shows a
spinner and a colour bar with its range at 1280 channels, compared layers share a legend, exports are
named after the catalog, and the URL holds colour and filter. Screenshots go to test-artifacts/."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import catalog
from harness.browser import CHROMIUM, inspector_id, launch
from harness.server import streamlit_server
from tests.conftest import ACTIVATION_CACHE_ENV, CATALOG_DIR_ENV

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"

pytestmark = pytest.mark.browser

CELL_CENTRE = """([box, x, y]) => {
  const gd = document.querySelector(`.st-key-${box} .js-plotly-plot`);
  gd.scrollIntoView({block: 'center'});
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, rect = gd.getBoundingClientRect();
  return [rect.left + xa._offset + xa.l2p(xa.d2c(x)), rect.top + ya._offset + ya.l2p(ya.d2c(y))];
}"""

CLICKABLE_CELLS = """box => {
  const gd = document.querySelector(`.st-key-${box} .js-plotly-plot`);
  const layer = gd._fullData.find(t => t.type === 'scatter' || t.type === 'scattergl');
  return {x: [...layer.x], y: [...layer.y], n: [...layer.customdata]};
}"""

CHANNEL_NEAR = """([before, wanted]) => {
  const value = Number(document.querySelector('.st-key-channel input').value);
  return value !== before && Math.abs(value - wanted) <= 2;
}"""

MARKED_COLUMN = """picked => {
  const gd = document.querySelector('.st-key-class_channel_box .js-plotly-plot');
  return gd && gd.layout.shapes && gd.layout.shapes.length && gd.layout.shapes[0].x0 === picked;
}"""

MAP_TRACES = """() => document.querySelector('.st-key-datamap .js-plotly-plot')._fullData
  .map(t => [t.name, t.x.length])"""


def _click(page, box: str, x, y) -> None:
    px, py = page.evaluate(CELL_CENTRE, [box, x, y])
    page.mouse.move(px, py)
    page.wait_for_timeout(300)
    page.mouse.click(px, py)


def _widest_conv_layer(path: Path) -> tuple[int, int]:
    con = catalog.open(path)
    return con.execute("""SELECT layer_id, channels FROM layers WHERE height > 1
                          ORDER BY channels DESC, layer_id DESC LIMIT 1""").fetchone()


def _click_a_confusion_cell(page) -> None:
    page.get_by_role("tab", name="Selection").click()
    page.wait_for_selector(".st-key-confusion_box .js-plotly-plot", timeout=60000)
    cells = page.evaluate(CLICKABLE_CELLS, "confusion_box")
    biggest = max(range(len(cells["n"])), key=lambda i: cells["n"][i])
    true, predicted, count = cells["y"][biggest], cells["x"][biggest], cells["n"][biggest]
    _click(page, "confusion_box", predicted, true)
    page.get_by_text(f"Highlighted on the map: {count} samples").wait_for(timeout=60000)
    assert f"true {true} → predicted {predicted}" in page.inner_text("body")
    page.wait_for_function(f"() => ({MAP_TRACES})().some(([n, k]) => n === 'highlighted' && k === {count})",
                           timeout=30000)
    page.locator(".st-key-clear_highlight").scroll_into_view_if_needed()
    assert page.locator(".st-key-clear_highlight button").is_visible()
    page.screenshot(path=str(ARTIFACTS / "tabs-1-confusion-cell-clicked.png"), full_page=True)


def _click_a_heatmap_column(page) -> int:
    page.get_by_role("tab", name="Channel").click()
    page.wait_for_selector(".st-key-class_channel_box .js-plotly-plot", timeout=120000)
    cells = page.evaluate(CLICKABLE_CELLS, "class_channel_box")
    columns, rows = sorted(set(cells["x"])), sorted(set(cells["y"]))
    before = int(page.locator(".st-key-channel input").input_value())
    wanted = next(c for c in columns[len(columns) // 3:] if c != before)
    _click(page, "class_channel_box", wanted, rows[len(rows) // 2])
    # at 1280 channels a column is under a pixel wide: the click picks the column under the mouse, +-2
    page.wait_for_function(CHANNEL_NEAR, arg=[before, wanted], timeout=60000)
    picked = int(page.locator(".st-key-channel input").input_value())
    page.wait_for_selector(f"text=activate channel {picked} of", timeout=60000)
    page.wait_for_function(MARKED_COLUMN, arg=picked, timeout=120000)  # the red line moved to it
    page.screenshot(path=str(ARTIFACTS / "tabs-2-heatmap-column-clicked.png"), full_page=True)
    return picked


def _gallery_bar(page) -> dict:
    """The gallery's colour bar, its min/max labels and what the legend and a tile say (the gallery is
    a component in a shadow root: Playwright's locators reach into it, document.querySelector does not)."""
    legend = page.locator(".st-key-gallery .gal-legend")

    def width(part: str) -> float:
        return (legend.locator(part).bounding_box() or {"width": 0})["width"]

    return {"bar": width(".bar"), "lo": width(".lo"), "hi": width(".hi"),
            "lo_text": legend.locator(".lo").text_content(), "hi_text": legend.locator(".hi").text_content(),
            "legend": legend.text_content(),
            "title": page.locator(".st-key-gallery .gal .cell").first.get_attribute("title")}


def _compute_the_gallery(page, channels: int) -> None:
    from playwright.sync_api import expect
    page.locator(".st-key-compute_activations button").click()
    page.wait_for_selector(".st-key-gallery [data-testid='stSpinner']", timeout=30000)
    assert "Running the model" in page.inner_text(".st-key-gallery [data-testid='stSpinner']")
    expect(page.locator(".st-key-gallery .gal .cell")).to_have_count(channels, timeout=180000)


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium")
def test_explorer_tabs_by_mouse(small_catalog, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    path, _ = small_catalog
    layer_id, channels = _widest_conv_layer(path)
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "browser-explorer-tabs-server.log"
    errors: list[str] = []
    env = {CATALOG_DIR_ENV: str(path.parent), ACTIVATION_CACHE_ENV: str(tmp_path / "cache")}
    with streamlit_server(log_path, env) as (url, _process):
        with playwright.sync_playwright() as p:
            browser = launch(p)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(f"{url}/Explorer?catalog={path.name}&layer={layer_id}&method=pca&pinned=4")
                page.wait_for_selector(".ls-inspector-head", timeout=90000)
                assert inspector_id(page) == 4
                # colour and filter are in the URL; the sample's one image per class means coarse groups
                page.wait_for_function("() => location.search.includes('colour=coarse') && "
                                       "location.search.includes('show=all')", timeout=30000)
                # the gallery first (the Channel tab computes its top samples' maps, which may include
                # the pinned one): a spinner while the model runs, then a colour bar with its range
                _compute_the_gallery(page, channels)
                _click_a_confusion_cell(page)
                channel = _click_a_heatmap_column(page)
                page.wait_for_function(f"() => location.search.includes('channel={channel}')", timeout=120000)
                for width, height in ((1600, 1000), (1366, 768)):
                    page.set_viewport_size({"width": width, "height": height})
                    page.wait_for_timeout(500)
                    bar = _gallery_bar(page)
                    assert bar["bar"] >= 60 and bar["lo"] > 0 and bar["hi"] > 0, (width, bar)
                    assert float(bar["lo_text"]) < float(bar["hi_text"])
                    assert "score = entropy × mean |activation|" in bar["legend"]
                    assert "score = entropy × mean |activation|" in bar["title"]
                    page.locator(".st-key-gallery").screenshot(path=str(ARTIFACTS / f"tabs-3-gallery-{width}.png"))
                page.set_viewport_size({"width": 1600, "height": 1000})
                # compared layers: one legend under both maps
                page.get_by_role("tab", name="Compare layers").click()
                page.wait_for_selector(".st-key-compare_legend [data-testid='class-legend']", timeout=60000)
                assert "both maps" in page.inner_text(".st-key-compare_legend")
                page.locator(".st-key-compare_legend").scroll_into_view_if_needed()
                page.screenshot(path=str(ARTIFACTS / "tabs-4-compare-legend.png"), full_page=True)
                # export: named after the catalog, the layer and the method
                page.get_by_role("tab", name="Export").click()
                with page.expect_download(timeout=60000) as download:
                    page.locator(".st-key-export_csv button").click()
                name = download.value.suggested_filename
                assert name.startswith(f"{path.name}-") and name.endswith("-pca.csv"), name
                assert "Traceback" not in page.inner_text("body")
            finally:
                browser.close()
    log = log_path.read_text()
    assert "Traceback" not in log, log[-3000:]
    assert not errors, errors
