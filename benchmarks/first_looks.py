"""First looks in headless Chromium (owner mode): a cold Explorer load until its map is drawn, the first
gallery after a pin, the Channel tab's first open. Each cold load is a fresh server (so a fresh model
cache) and a fresh browser; figures in seconds.

    python -m benchmarks.first_looks --catalog-dir catalogs --runs 5 [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from harness.browser import inspector_id, launch, point_positions
from harness.server import streamlit_server

MAP_DRAWN = ".st-key-datamap .js-plotly-plot .gtitle"


def one_run(catalog_dir: str, log_path: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as cache, \
            streamlit_server(log_path, {"LAYERSCOPE_CATALOG_DIR": catalog_dir,
                                        "LAYERSCOPE_ACTIVATION_CACHE": cache}) as (url, _), \
            sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        start = time.perf_counter()
        page.goto(f"{url}/Explorer")
        page.wait_for_selector(MAP_DRAWN, timeout=120000)
        page.wait_for_selector(".ls-inspector-head", timeout=120000)
        explorer = time.perf_counter() - start
        page.wait_for_timeout(4000)  # a person looks at the map before pinning
        page.mouse.move(5, 5)
        x, y, sample_id = next(pt for pt in point_positions(page, 30) if pt[2] != inspector_id(page))
        page.mouse.move(x, y)
        page.wait_for_timeout(300)
        start = time.perf_counter()
        page.mouse.click(x, y)
        page.wait_for_function("id => { const g = document.querySelector('.st-key-gallery');"
                               " return g && g.innerText.includes('Activations of #' + id + ' '); }",
                               arg=sample_id, timeout=120000)
        # the grid lies in a shadow root (so no document.querySelector); where the app asks for a click
        # (public mode, or code before the gallery computed a pin by itself) the click is made at once
        page.wait_for_selector(".st-key-gallery .gal .cell, .st-key-compute_activations button", timeout=120000)
        if page.locator(".st-key-compute_activations button").count():
            page.locator(".st-key-compute_activations button").click()
        page.wait_for_selector(".st-key-gallery .gal .cell", timeout=120000)
        gallery = time.perf_counter() - start
        start = time.perf_counter()
        page.get_by_role("tab", name="Channel").click()
        page.wait_for_selector("[data-testid='channel-top'] .ls-thumb", timeout=120000)
        channel = time.perf_counter() - start
        browser.close()
    return {"explorer_map_drawn": explorer, "first_gallery_after_pin": gallery, "channel_first_open": channel}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog-dir", required=True, help="the folder holding the catalog to browse")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        runs.append(one_run(args.catalog_dir, Path(tempfile.gettempdir()) / f"first_looks-{i}.log"))
        print(i, {k: round(v, 2) for k, v in runs[-1].items()}, flush=True)
    summary = {key: {"median": statistics.median(r[key] for r in runs), "p95": p95([r[key] for r in runs]),
                     "max": max(r[key] for r in runs)} for key in runs[0]}
    for key, figures in summary.items():
        print(f"{key}: median {figures['median']:.2f} s, p95 {figures['p95']:.2f} s, max {figures['max']:.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
