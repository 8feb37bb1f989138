"""First looks in headless Chromium (owner mode): a cold Explorer load until its map is drawn, the first
gallery after a pin (4 s after the map), the Channel tab's first open (3 s after the gallery). Each run
is a fresh server (so a fresh model cache) and a fresh browser; figures in seconds.

    python -m benchmarks.first_looks --catalog-dir catalogs --runs 5 [--visitor] [--json OUT]

`--visitor` times a new visitor of a running server instead: another visitor has opened the Explorer
first (the server's imports, its shared caches and the model preload done, `--settle` seconds given to
it), then a fresh browser is timed as above.

`--floor` adds, in the same run, the floor under the map's figure on this machine: a fresh browser's load
of a bare Streamlit page (benchmarks/bare_page/: a title and one components-v2 element, its server
visited once before) until that element's script runs. No chart can be drawn before its element's script
runs, nor before plotly.js is evaluated (`python -m benchmarks.plotly_eval`).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.runs import repeat
from harness.browser import inspector_id, launch, point_positions
from harness.server import streamlit_server

MAP_DRAWN = ".st-key-datamap .js-plotly-plot .gtitle"
# Each figure is read off the page's own clock (performance.now: from the navigation, or from the click's
# mousedown), when the thing first shows: Playwright's polling runs only between the page's tasks, so
# after a long one (the Channel tab's heatmap drawing) it saw the nine maps up to 2 s after they showed.
SHOWN_AT = Path(__file__).with_name("shown_at.js").read_text(encoding="utf-8")
BARE_PAGE = Path(__file__).with_name("bare_page") / "app.py"


def one_run(catalog_dir: str, log_path: Path, visitor: bool = False, settle: float = 20) -> dict[str, float]:
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as cache, \
            streamlit_server(log_path, {"LAYERSCOPE_CATALOG_DIR": catalog_dir,
                                        "LAYERSCOPE_ACTIVATION_CACHE": cache}) as (url, _), \
            sync_playwright() as p:
        if visitor:
            earlier = launch(p)
            first = earlier.new_page(viewport={"width": 1600, "height": 1000})
            first.goto(f"{url}/Explorer")
            first.wait_for_selector(MAP_DRAWN, timeout=120000)
            first.wait_for_timeout(settle * 1000)
            earlier.close()
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.add_init_script(SHOWN_AT)
        page.goto(f"{url}/Explorer")
        page.wait_for_function("window.__lsShown.map !== undefined", timeout=120000)
        page.wait_for_selector(".ls-inspector-head", timeout=120000)
        explorer = page.evaluate("window.__lsShown.map") / 1000
        page.wait_for_timeout(4000)  # a person looks at the map before pinning
        page.mouse.move(5, 5)
        x, y, sample_id = next(pt for pt in point_positions(page, 30) if pt[2] != inspector_id(page))
        page.mouse.move(x, y)
        page.wait_for_timeout(300)
        page.mouse.click(x, y)
        page.wait_for_function("id => { const g = document.querySelector('.st-key-gallery');"
                               " return g && g.innerText.includes('Activations of #' + id + ' '); }",
                               arg=sample_id, timeout=120000)
        # where the app asks for a click (public mode, or code before the gallery computed a pin by itself)
        # the click is made at once
        page.wait_for_selector(".st-key-gallery .gal .cell, .st-key-compute_activations button", timeout=120000)
        if page.locator(".st-key-compute_activations button").count():
            page.locator(".st-key-compute_activations button").click()
        page.wait_for_function("window.__lsShown.gallery !== undefined", timeout=120000)
        gallery = page.evaluate("window.__lsShown.gallery - window.__lsShown.pressed") / 1000
        page.wait_for_timeout(3000)  # and at the gallery before opening the Channel tab
        page.get_by_role("tab", name="Channel").click()
        page.wait_for_function("window.__lsShown.channel !== undefined", timeout=120000)
        channel = page.evaluate("window.__lsShown.channel - window.__lsShown.pressed") / 1000
        browser.close()
    return {"explorer_map_drawn": explorer, "first_gallery_after_pin": gallery, "channel_first_open": channel}


def bare_page_run(log_path: Path) -> float:
    """Seconds from a fresh browser's navigation to the bare page's element script running (the page's
    clock, as the Explorer's map)."""
    from playwright.sync_api import sync_playwright
    with streamlit_server(log_path, {}, script=BARE_PAGE) as (url, _), sync_playwright() as p:
        for _visit in range(2):  # the first visit pays the server's own start; the second is timed
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(url)
            page.wait_for_function("window.__bareScriptRan !== undefined", timeout=120000)
            elapsed = page.evaluate("window.__bareScriptRan") / 1000
            browser.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog-dir", required=True, help="the folder holding the catalog to browse")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--visitor", action="store_true",
                        help="time a new visitor of a running server (another visitor opened the Explorer first)")
    parser.add_argument("--settle", type=float, default=20, help="seconds given to the server after that visit")
    parser.add_argument("--floor", action="store_true",
                        help="also time a bare Streamlit page until its one element's script runs")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    logs = Path(tempfile.gettempdir())

    def run(i: int) -> dict[str, float]:
        figures = one_run(args.catalog_dir, logs / f"first_looks-{i}.log", args.visitor, args.settle)
        if args.floor:
            figures["bare_page_script_ran"] = bare_page_run(logs / f"first_looks-bare-{i}.log")
        return figures
    repeat(run, args.runs, args.json)


if __name__ == "__main__":
    main()
