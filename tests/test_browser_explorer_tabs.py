"""The Explorer's tabs by mouse in headless Chromium, as a new user meets them: a click on a confusion
matrix cell highlights its samples, a click on a heatmap column picks the channel, the gallery shows a
spinner and a colour bar with its range at 1280 channels, compared layers share a legend, exports are
named after the catalog, and the URL holds colour and filter; a shared URL restores the view, including
the channel view; clicking the separability line selects a layer; a box selection is summarised; an
uploaded image is explained and placed, while a bad upload gets a message; the pinned sample's
neighbours are listed. Screenshots go to test-artifacts/."""
from __future__ import annotations

from pathlib import Path

import pytest

import catalog
from harness.browser import inspector_id
from tests.paths import ARTIFACTS

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


def _click_a_confusion_cell(page, screenshot) -> None:
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
    screenshot("tabs-1-confusion-cell-clicked", full_page=True)


def _click_a_heatmap_column(page, screenshot) -> int:
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
    screenshot("tabs-2-heatmap-column-clicked", full_page=True)
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
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect
    button, cells = page.locator(".st-key-compute_activations button"), page.locator(".st-key-gallery .gal .cell")
    button.click()
    # a click that lands while the page reruns (the map's pictures report their view) can be lost, as a
    # person's would be: while the button is still there after a few seconds, it is clicked again.
    # No spinner is awaited: with the model preloaded in the background the forward may end before one shows
    for _ in range(6):
        page.wait_for_timeout(5000)
        if cells.count() or not button.count():
            break
        try:
            button.click(timeout=5000)
        except PlaywrightError:  # gone between the look and the click: the forward has begun
            break
    expect(cells).to_have_count(channels, timeout=180000)


def test_explorer_tabs_by_mouse(streamlit_server, browser_page, page_errors, screenshot):
    page, url, path = browser_page, streamlit_server.url, streamlit_server.path
    layer_id, channels = _widest_conv_layer(path)
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{url}/Explorer?catalog={path.name}&layer={layer_id}&method=pca&pinned=4")
    page.wait_for_selector(".ls-inspector-head", timeout=90000)
    assert inspector_id(page) == 4
    # colour and filter are in the URL; the sample's one image per class means coarse groups
    page.wait_for_function("() => location.search.includes('colour=coarse') && "
                           "location.search.includes('show=all')", timeout=30000)
    # the gallery first (the Channel tab computes its top samples' maps, which may include
    # the pinned one): a spinner while the model runs, then a colour bar with its range
    _compute_the_gallery(page, channels)
    _click_a_confusion_cell(page, screenshot)
    channel = _click_a_heatmap_column(page, screenshot)
    page.wait_for_function(f"() => location.search.includes('channel={channel}')", timeout=120000)
    for width, height in ((1600, 1000), (1366, 768)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)
        bar = _gallery_bar(page)
        assert bar["bar"] >= 60 and bar["lo"] > 0 and bar["hi"] > 0, (width, bar)
        assert float(bar["lo_text"]) < float(bar["hi_text"])
        assert "score = entropy × mean |activation|" in bar["legend"]
        assert "score = entropy × mean |activation|" in bar["title"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator(".st-key-gallery").screenshot(path=str(ARTIFACTS / f"tabs-3-gallery-{width}.png"))
    page.set_viewport_size({"width": 1600, "height": 1000})
    # compared layers: one legend under both maps
    page.get_by_role("tab", name="Compare layers").click()
    page.wait_for_selector(".st-key-compare_legend [data-testid='class-legend']", timeout=60000)
    assert "both maps" in page.inner_text(".st-key-compare_legend")
    page.locator(".st-key-compare_legend").scroll_into_view_if_needed()
    screenshot("tabs-4-compare-legend", full_page=True)
    # export: named after the catalog, the layer and the method
    page.get_by_role("tab", name="Export").click()
    with page.expect_download(timeout=60000) as download:
        page.locator(".st-key-export_csv button").click()
    name = download.value.suggested_filename
    assert name.startswith(f"{path.name}-") and name.endswith("-pca.csv"), name
    assert "Traceback" not in page.inner_text("body")
    assert "Traceback" not in streamlit_server.log(), streamlit_server.log()[-3000:]
    assert not page_errors, page_errors


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_shared_url_separability_selection_and_upload_by_mouse(streamlit_server, browser_page, page_errors,
                                                               screenshot):
    page, url, path = browser_page, streamlit_server.url, streamlit_server.path
    con = catalog.open(path)
    layer, layer_name = con.execute("SELECT layer_id, name FROM layers WHERE height > 1 AND kind = 'conv' "
                                    "ORDER BY position DESC LIMIT 1").fetchone()
    image_file = Path(con.execute("SELECT path FROM samples WHERE sample_id = 3").fetchone()[0])

    # a shared URL restores layer, method, pinned sample and channel
    page.goto(f"{url}/Explorer?catalog={path.name}&layer={layer}&method=pca&pinned=7&channel=2")
    page.wait_for_selector(".ls-inspector-head", timeout=90000)
    page.wait_for_function("t => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                           ".some(e => e.textContent === t)", arg=f"{layer_name} · PCA", timeout=60000)
    assert inspector_id(page) == 7
    # the channel view opened from the URL: nine overlays and the class x channel heatmap
    page.wait_for_selector("[data-testid='channel-top'] .ls-thumb", timeout=120000)
    assert page.locator("[data-testid='channel-top'] .ls-thumb").count() == 9
    page.wait_for_selector(".st-key-class_channel_heatmap .js-plotly-plot, "
                           "[class*='class_channel_heatmap'] .js-plotly-plot", timeout=30000)
    screenshot("10-shared-url-channel", full_page=True)
    assert "channel=2" in page.url and f"layer={layer}" in page.url
    # another tab opens, and stays open (the link's Channel tab is the tabs' value, not their default)
    page.get_by_role("tab", name="Neighbours").click()
    page.wait_for_selector("[data-testid='neighbours-summary']", timeout=60000)
    page.wait_for_timeout(1500)  # the runs the click brought are over
    assert page.get_by_role("tab", name="Neighbours").get_attribute("aria-selected") == "true"
    page.get_by_role("tab", name="Channel").click()
    page.wait_for_selector("[data-testid='channel-top'] .ls-thumb", timeout=60000)

    # clicking a point of the separability line selects that layer
    target = page.evaluate("""() => { const gd = document.querySelector('.st-key-separability .js-plotly-plot');
        const fl = gd._fullLayout, tr = gd._fullData[0], box = gd.getBoundingClientRect();
        const i = 3; return [box.left + fl.xaxis._offset + fl.xaxis.l2p(tr.x[i]),
                             box.top + fl.yaxis._offset + fl.yaxis.l2p(tr.y[i]), tr.customdata[i][1]]; }""")
    page.mouse.click(target[0], target[1])
    page.wait_for_function("t => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                           ".some(e => e.textContent.startsWith(t + ' ·'))", arg=target[2], timeout=30000)
    screenshot("11-separability-click")

    # box selection on the data map: summary, thumbnails, confusion matrix
    page.locator(".st-key-drag_mode button", has_text="box").click()
    page.wait_for_function("() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');"
                           " return gd && gd._fullLayout && gd._fullLayout.dragmode === 'select'; }", timeout=30000)
    box = page.locator(".st-key-datamap .js-plotly-plot .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.7, steps=12)
    page.mouse.up()
    _tab(page, "Selection")
    page.wait_for_selector("[data-testid='selection-summary']", timeout=30000)
    assert "samples selected" in page.inner_text("[data-testid='selection-summary']")
    page.wait_for_selector("[data-testid='selection-thumbs'] .ls-thumb", timeout=30000)
    screenshot("12-selection", full_page=True)

    # upload: a bad file gets a message, a photo is explained and placed as a star
    _tab(page, "Your image")
    chooser = page.locator(".st-key-upload_file input[type='file']")
    chooser.wait_for(state="attached", timeout=30000)
    chooser.set_input_files(files=[{"name": "notes.png", "mimeType": "image/png",
                                    "buffer": b"this is not a picture\n" * 40}])
    page.wait_for_selector(".st-key-upload_error", timeout=60000)
    assert "not an image" in page.inner_text(".st-key-upload_error")
    chooser.set_input_files(str(image_file))
    page.wait_for_selector("[data-testid='upload-result']", timeout=120000)
    page.wait_for_selector("[data-testid='upload-neighbours'] .ls-thumb", timeout=60000)
    assert page.locator("[data-testid='upload-neighbours'] .ls-thumb").count() == 8
    assert page.locator("[data-testid='upload-pictures'] img").count() == 4
    page.wait_for_function("() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');"
                           " return gd && gd.data.some(t => t.name === 'your image'); }", timeout=60000)
    screenshot("13-your-image", full_page=True)
    assert "Traceback" not in page.inner_text("body")
    assert "Traceback" not in streamlit_server.log(), streamlit_server.log()[-3000:]
    assert not page_errors, page_errors


def test_neighbours_compare_and_export_by_mouse(streamlit_server, browser_page, page_errors, screenshot):
    page, url = browser_page, streamlit_server.url
    page.goto(f"{url}/Explorer?catalog={streamlit_server.path.name}&layer=8&method=pca&pinned=4")
    page.wait_for_selector(".ls-inspector-head", timeout=90000)
    assert inspector_id(page) == 4
    # neighbours of the pinned sample
    page.get_by_role("tab", name="Neighbours").click()
    page.wait_for_selector("[data-testid='neighbours-summary']", timeout=60000)
    assert "share its" in page.inner_text("[data-testid='neighbours-summary']")
    # two layers side by side
    page.get_by_role("tab", name="Compare layers").click()
    page.wait_for_selector(".st-key-compare_left_box .js-plotly-plot", timeout=60000)
    page.wait_for_selector(".st-key-compare_right_box .js-plotly-plot", timeout=60000)
    screenshot("14-compare-layers", full_page=True)
    # export of the current map
    page.get_by_role("tab", name="Export").click()
    with page.expect_download(timeout=60000) as download:
        page.locator(".st-key-export_csv button").click()
    header = Path(download.value.path()).read_text().splitlines()[0]
    assert "sample_id" in header and "x" in header and "y" in header
    assert "Traceback" not in page.inner_text("body")
    assert "Traceback" not in streamlit_server.log(), streamlit_server.log()[-3000:]
    assert not page_errors, page_errors
