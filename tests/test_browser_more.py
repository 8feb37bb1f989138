"""The Explorer's views by mouse in headless Chromium: a shared URL restores the view, including the
channel view; clicking the separability line selects a layer; a box selection is summarised; an uploaded
image is explained and placed, while a bad upload gets a message. Screenshots go to test-artifacts/."""
from __future__ import annotations

from pathlib import Path

import pytest

import catalog
from harness.browser import inspector_id

pytestmark = pytest.mark.browser


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
    page.wait_for_timeout(1500)
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
