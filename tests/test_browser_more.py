"""Issue 4 end to end in headless Chromium: a shared URL restores the view (8), the channel view (4),
clicking the separability line selects a layer (3), a box selection is summarised (5), and an uploaded
image is explained and placed, while a bad upload gets a message (1). Screenshots go to test-artifacts/."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import catalog
from benchmarks.browser_latency import CHROMIUM, inspector_id, launch, streamlit_server

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"

pytestmark = pytest.mark.browser


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium")
def test_issue4_views_by_mouse(small_catalog, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    path, manifest = small_catalog
    con = catalog.open(path)
    layer, layer_name = con.execute("SELECT layer_id, name FROM layers WHERE height > 1 AND kind = 'conv' "
                                    "ORDER BY position DESC LIMIT 1").fetchone()
    image_file = Path(con.execute("SELECT path FROM samples WHERE sample_id = 3").fetchone()[0])
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "browser-more-server.log"
    errors: list[str] = []
    with streamlit_server(path.parent, log_path, cache_dir=tmp_path / "cache") as (url, _process):
        with playwright.sync_playwright() as p:
            browser = launch(p)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1100})
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                # 8. a shared URL restores layer, method, pinned sample and channel
                page.goto(f"{url}/Explorer?catalog={path.name}&layer={layer}&method=pca&pinned=7&channel=2")
                page.wait_for_selector(".ls-inspector-head", timeout=90000)
                page.wait_for_function("t => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                                       ".some(e => e.textContent === t)", arg=f"{layer_name} · PCA", timeout=60000)
                assert inspector_id(page) == 7
                # 4. the channel view opened from the URL: nine overlays and the class x channel heatmap
                page.wait_for_selector("[data-testid='channel-top'] .ls-thumb", timeout=120000)
                assert page.locator("[data-testid='channel-top'] .ls-thumb").count() == 9
                page.wait_for_selector(".st-key-class_channel_heatmap .js-plotly-plot, "
                                       "[class*='class_channel_heatmap'] .js-plotly-plot", timeout=30000)
                page.screenshot(path=str(ARTIFACTS / "10-shared-url-channel.png"), full_page=True)
                assert "channel=2" in page.url and f"layer={layer}" in page.url

                # 3. clicking a point of the separability line selects that layer
                target = page.evaluate("""() => { const gd = document.querySelector('.st-key-separability .js-plotly-plot');
                    const fl = gd._fullLayout, tr = gd._fullData[0], box = gd.getBoundingClientRect();
                    const i = 3; return [box.left + fl.xaxis._offset + fl.xaxis.l2p(tr.x[i]),
                                         box.top + fl.yaxis._offset + fl.yaxis.l2p(tr.y[i]), tr.customdata[i][1]]; }""")
                page.mouse.click(target[0], target[1])
                page.wait_for_function("t => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                                       ".some(e => e.textContent.startsWith(t + ' ·'))", arg=target[2], timeout=30000)
                page.screenshot(path=str(ARTIFACTS / "11-separability-click.png"))

                # 5. box selection on the data map: summary, thumbnails, confusion matrix
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
                page.screenshot(path=str(ARTIFACTS / "12-selection.png"), full_page=True)

                # 1. upload: a bad file gets a message, a photo is explained and placed as a star
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
                page.screenshot(path=str(ARTIFACTS / "13-your-image.png"), full_page=True)
                body = page.inner_text("body")
                assert "Traceback" not in body
            finally:
                browser.close()
    log = log_path.read_text()
    assert "Traceback" not in log, log[-3000:]
    assert not errors, errors
