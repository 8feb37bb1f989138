"""The Compare models page in headless Chromium: from opening it (on a fresh server that has drawn Home
once, so its imports are done but no comparison is cached) until the CKA heatmap of two catalogs is
drawn; from a click on one of its cells until both layers' maps are drawn side by side; and a reload
(the comparison cached). Figures in seconds.

    python -m benchmarks.compare_models_page --catalog published/efficientnet_lite0-sample --runs 5

The catalog is copied twice into a temporary folder (two 400-image catalogs for the bundled one), so
the page compares every layer of one with every layer of the other on all their shared images.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.runs import repeat
from harness.browser import launch
from harness.server import streamlit_server

HEATMAP = ".st-key-models_box .js-plotly-plot .heatmaplayer"
CELL = """() => {
  const gd = document.querySelector('.st-key-models_box .js-plotly-plot');
  gd.scrollIntoView({block: 'center'});
  const fl = gd._fullLayout, tr = gd._fullData.find(t => t.name === 'cells'), rect = gd.getBoundingClientRect();
  const i = Math.floor(tr.x.length / 2);
  return [rect.left + fl.xaxis._offset + fl.xaxis.l2p(fl.xaxis.d2c(tr.x[i])),
          rect.top + fl.yaxis._offset + fl.yaxis.l2p(fl.yaxis.d2c(tr.y[i]))];
}"""
BOTH_MAPS = ".st-key-models_a_box .js-plotly-plot .gtitle, .st-key-models_b_box .js-plotly-plot .gtitle"


def one_run(catalog_dir: Path, log_path: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright
    with streamlit_server(log_path, {"LAYERSCOPE_CATALOG_DIR": str(catalog_dir)}) as (url, _), \
            sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url)
        page.get_by_role("heading", name="LayerScope").first.wait_for(timeout=120000)
        start = time.perf_counter()
        page.get_by_role("link", name="Compare models").first.click()
        page.wait_for_selector(HEATMAP, timeout=120000)
        heatmap = time.perf_counter() - start
        x, y = page.evaluate(CELL)
        page.mouse.move(x, y)
        page.wait_for_timeout(300)
        start = time.perf_counter()
        page.mouse.click(x, y)
        page.wait_for_function(f"() => document.querySelectorAll('{BOTH_MAPS}').length === 2", timeout=120000)
        maps = time.perf_counter() - start
        start = time.perf_counter()
        page.reload()
        page.wait_for_selector(HEATMAP, timeout=120000)
        again = time.perf_counter() - start
        browser.close()
    return {"open_to_heatmap": heatmap, "cell_click_to_both_maps": maps, "reload_heatmap": again}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", required=True, help="a catalog folder; it is compared with a copy of itself")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for name in ("model-a", "model-b"):
            shutil.copytree(args.catalog, Path(folder) / name)
        repeat(lambda i: one_run(Path(folder), Path(tempfile.gettempdir()) / f"compare_models_page-{i}.log"),
               args.runs, args.json)


if __name__ == "__main__":
    main()
