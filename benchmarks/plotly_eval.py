"""plotly.js's evaluation in headless Chromium: plotly.py's full plotly.min.js against the app's own bundle
(app/vendor/, what app/plotly_view.py serves), one after the other in each run, a fresh browser context
each (no code cache), the file served from memory (no network), the two in turn first: from the script tag's insertion until its
load event, which is when window.Plotly exists (parse, compile and run), then the first draw of a
400-point scatter as the bundled catalog's map. Figures in seconds.

    python -m benchmarks.plotly_eval --runs 7 [--json OUT]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.runs import repeat
from harness.browser import launch

ORIGIN = "http://plotly-eval.local"
PAGE = "<html><body><div id='gd' style='width:900px;height:600px'></div></body></html>"

# the script's load event follows its evaluation; then one draw, 400 points as the bundled catalog's map
EVALUATE = """src => new Promise((resolve, reject) => {
    const start = performance.now(), script = document.createElement('script');
    script.src = src;
    script.onerror = reject;
    script.onload = () => {
        const loaded = performance.now();
        const x = Array.from({length: 400}, (_, i) => Math.sin(i)), y = x.map((v, i) => Math.cos(i * v));
        Plotly.newPlot('gd', [{type: 'scatter', mode: 'markers', x, y}], {}).then(() =>
            resolve([(loaded - start) / 1000, (performance.now() - loaded) / 1000]));
    };
    document.head.appendChild(script);
})"""


def serve(script: bytes):
    """A route handler: the script for a .js URL, else the page."""
    def fulfill(route):
        is_script = route.request.url.endswith(".js")
        route.fulfill(body=script if is_script else PAGE, content_type="text/javascript" if is_script else "text/html")
    return fulfill


def one_run(browser, files: dict[str, Path], first_last: bool = False) -> dict[str, float]:
    figures = {}
    for name, path in (reversed(files.items()) if first_last else files.items()):
        context = browser.new_context()
        page = context.new_page()
        page.route(f"{ORIGIN}/**", serve(path.read_bytes()))
        page.goto(f"{ORIGIN}/")
        evaluated, drawn = page.evaluate(EVALUATE, f"{ORIGIN}/{path.name}")
        figures[f"{name}_evaluate"], figures[f"{name}_first_draw"] = evaluated, drawn
        context.close()
    return figures


def main() -> None:
    from playwright.sync_api import sync_playwright

    from app import plotly_view
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    files = {"full": plotly_view.FULL, "bundle": plotly_view.SOURCE}
    for name, path in files.items():
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.2f} MB, plotly.js {plotly_view.js_version(path)})")
    with sync_playwright() as p:
        browser = launch(p)
        try:
            repeat(lambda i: one_run(browser, files, i % 2 == 1), args.runs, args.json)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
