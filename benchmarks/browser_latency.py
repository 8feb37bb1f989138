"""Browser benchmark of the Explorer: hover-to-inspector and layer-switch-to-redrawn-map latencies.

    python -m benchmarks.browser_latency [--catalog-dir DIR] [--build N] [--rounds 15] [--select 10000]
    python -m benchmarks.browser_latency --catalog-dir published --pictures [--rounds 10]
    python -m benchmarks.browser_latency --points 50000 --pictures [--rounds 10]

Starts `streamlit run Home.py` on a free port with LAYERSCOPE_CATALOG_DIR=DIR, drives headless
Debian Chromium (/usr/bin/chromium) with Playwright, and prints medians and 90th percentiles:
- hover: from the mouse moving onto a point to the inspector showing that sample's id;
- layer switch: from a click on a layer in the layer map to the data map's title naming that layer
  with a single plot on the page;
- box selection (`--select N`, N > 0): with "Drag to: box" and the Selection tab open, from releasing
  the mouse after dragging a box over about N points to the Selection tab's summary counting them and
  the map ringing every one of them.
- pictures (`--pictures`): with the map's pictures on (app/map_pictures.py), from a zoom ending (plotly's
  relayout to new ranges, as a wheel or a drag ends) to the map picturing exactly the points in view,
  each at its point, and from a click on a layer to the new map drawn with its pictures (then as many
  switches, to other layers, with the pictures off); `_map_drawn`: those switches until the map's title
  names the layer.
  `zoom_pictures_off`: as many zooms with the pictures off, until the check sees the new ranges.
  `zoom -> step`: when each step of the zooms' pictures happened (app/map_pictures.js's performance
  marks): the zoom's redraw done (`zoomed`), the view sent to the server (`reported`), its answer in the
  page (`received`), the pictures laid out (`layout`) and in the page (`drawn`), the check passed
  (`checked`, read after the check: a little late).
  On a map of more points than the cap, each zoom window is made small enough to hold at most the cap.
`--build N` first builds a catalog of N images of ../shared/data/imagenet-sample into DIR (if absent).
`--points N` instead serves a generated catalog of N samples (benchmarks/big_catalog.py, in
.cache/big-catalogs-N, generated first if absent: about 4 minutes for 50,000 on 2 cores).
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from harness.browser import (
    PICTURES_SHOWN_JS,
    clear_selection,
    hover_point,
    inspector_id,
    launch,
    layer_ids,
    open_explorer,
    open_selection,
    point_positions,
    select_box,
    switch_layer,
    wait_pictures,
)
from harness.server import REPO, streamlit_server


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(url: str, rounds: int, viewport=(1600, 1000), select: int = 0) -> dict:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            open_explorer(page, url)
            ids = layer_ids(page)
            switches = []
            for i in range(rounds):
                _, seconds = switch_layer(page, ids[(3 + 5 * i) % len(ids)])
                switches.append(seconds)
            page.mouse.move(5, 5)
            hovers = []
            points = point_positions(page, rounds + 1)
            for x, y, sample_id in points:
                if inspector_id(page) == sample_id:
                    continue
                hovers.append(hover_point(page, x, y, sample_id))
                page.mouse.move(x + 40, 990)  # off the plot between hovers
            selections = []
            if select:
                open_selection(page)
                for i in range(max(3, rounds // 3)):
                    inside, seconds = select_box(page, select, offset=i % 4)
                    selections.append(seconds)
                    print(f"box selection of {inside} points: {seconds * 1000:.0f} ms", flush=True)
                    clear_selection(page)
        finally:
            browser.close()
    result = {"layer_switch": switches, "hover": hovers}
    if select:
        result["box_selection"] = selections
    return result


MAP_POINTS_JS = """() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot'), pts = [];
    gd._fullData.forEach(t => { if (!t.customdata || t.name === 'highlighted') return;
      for (let i = 0; i < t.x.length; i++) if (t.x[i] != null && t.customdata[i]) pts.push([t.x[i], t.y[i]]); });
    return {points: pts, x: gd.layout.xaxis.range, y: gd.layout.yaxis.range}; }"""
THUMBS_HELD_JS = "() => window.__lsThumbs ? window.__lsThumbs.thumbs.size : 0"
ZOOM_JS = """([x, y]) => { performance.clearMarks(); performance.mark('bench:zoom');
    return Plotly.relayout(document.querySelector('.st-key-datamap .js-plotly-plot'),
                           {'xaxis.range': x, 'yaxis.range': y}); }"""
# when each step of a zoom's pictures happened (app/map_pictures.js marks them), ms after the zoom began:
# the first `zoomed` and `reported`, the first `received` after that, the last `layout` and `drawn`
PHASES = ("zoomed", "reported", "received", "layout", "drawn")
PHASES_JS = """() => { const marks = performance.getEntriesByType('mark'), zoom = marks.find(m => m.name === 'bench:zoom');
    if (!zoom) return null;
    const at = (name) => marks.filter(m => m.name === 'ls-pictures:' + name).map(m => m.startTime - zoom.startTime);
    const reported = at('reported')[0];
    const received = at('received').filter(t => reported !== undefined && t >= reported)[0];
    const last = (list) => list.length ? list[list.length - 1] : undefined;
    return {zoomed: at('zoomed')[0], reported, received, layout: last(at('layout')),
            drawn: last(at('drawn')), checked: performance.now() - zoom.startTime}; }"""


def zoom_windows(page, rng: random.Random, count: int, cap: int = 400) -> list[tuple[list[float], list[float]]]:
    """`count` zoom windows of the current map (a third to two thirds of its span, around one of its
    points, halved until it holds at most `cap` points), each holding a different set of points from the
    one before (so each brings new pictures)."""
    import numpy as np
    drawn = page.evaluate(MAP_POINTS_JS)
    points, (x0, x1), (y0, y1) = np.asarray(drawn["points"], dtype=float), drawn["x"], drawn["y"]
    windows, last = [], None
    while len(windows) < count:
        cx, cy = points[rng.randrange(len(points))]
        share = rng.uniform(0.33, 0.66)
        while True:
            x = [cx - share * (x1 - x0) / 2, cx + share * (x1 - x0) / 2]
            y = [cy - share * (y1 - y0) / 2, cy + share * (y1 - y0) / 2]
            inside = np.flatnonzero((points[:, 0] >= x[0]) & (points[:, 0] <= x[1]) &
                                    (points[:, 1] >= y[0]) & (points[:, 1] <= y[1]))
            if len(inside) <= cap:
                break
            share /= 2
        inside = frozenset(inside.tolist())
        if inside and inside != last:
            windows.append(([float(v) for v in x], [float(v) for v in y]))
            last = inside
    return windows


def measure_pictures(url: str, rounds: int, viewport=(1600, 1000)) -> dict:
    """Zoom ends -> pictures of the view drawn, and layer click -> the new map drawn with its pictures."""
    from playwright.sync_api import sync_playwright
    rng = random.Random(0)
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            open_explorer(page, url)
            wait_pictures(page, timeout=60000)
            ids = layer_ids(page)
            zooms, switches, drawn, pictured, phases = [], [], [], [], []
            for i in range(rounds):
                start = time.perf_counter()
                drawn.append(switch_layer(page, ids[(3 + 5 * i) % len(ids)])[1])
                shown = wait_pictures(page, timeout=60000)
                switches.append(time.perf_counter() - start)
                for x, y in zoom_windows(page, rng, 2):
                    start = time.perf_counter()
                    page.evaluate(ZOOM_JS, [x, y])
                    shown = wait_pictures(page, timeout=60000)
                    zooms.append(time.perf_counter() - start)
                    pictured.append(shown["pictured"])
                    phases.append(page.evaluate(PHASES_JS))
            assert page.evaluate(PICTURES_SHOWN_JS, 400), "the map does not picture the points in view"
            print(f"pictures per zoomed view: median {statistics.median(pictured):.0f}, max {max(pictured)}; "
                  f"thumbnails the page was sent: {page.evaluate(THUMBS_HELD_JS)} "
                  f"(pictured over all views: {sum(pictured)})")
            print_phases(phases)
            # as many switches (to layers not seen yet, so that none finds its map cached) and zooms with
            # the pictures off, under the same load and checked the same way (the check itself reads every
            # point of the map: about 0.5 s of a switch at 50,000 points): what the pictures add
            page.locator(".st-key-map_pictures label").click()
            page.wait_for_url("**pics=0**", timeout=60000)
            plain, plain_drawn, plain_zooms = [], [], []
            for i in range(rounds):
                start = time.perf_counter()
                plain_drawn.append(switch_layer(page, ids[(1 + 5 * i) % len(ids)])[1])  # layers not yet seen
                wait_pictures(page, timeout=60000)
                plain.append(time.perf_counter() - start)
                for x, y in zoom_windows(page, rng, 2):
                    start = time.perf_counter()
                    page.evaluate(ZOOM_JS, [x, y])
                    wait_pictures(page, cap=0, timeout=60000)  # no pictures: the zoom's redraw and the check
                    plain_zooms.append(time.perf_counter() - start)
        finally:
            browser.close()
    return {"zoom_to_pictures": zooms, "zoom_pictures_off": plain_zooms, "layer_switch_with_pictures": switches,
            "layer_switch_pictures_off": plain, "layer_switch_with_pictures_map_drawn": drawn,
            "layer_switch_pictures_off_map_drawn": plain_drawn}


def print_phases(phases: list[dict | None]) -> None:
    """Median and p95 of when each step of the zooms' pictures happened, ms after the zoom began."""
    for name in PHASES + ("checked",):
        ms = [p[name] for p in phases if p and p.get(name) is not None]
        if ms:
            print(f"  zoom -> {name}: n={len(ms)} median {statistics.median(ms):.0f} ms, "
                  f"p95 {percentile(ms, 0.95):.0f} ms", flush=True)


def build(n: int, out_root: Path) -> Path:
    from builder import BuildConfig, build_catalog
    shared = REPO.parent / "shared" / "data" / "imagenet-sample"
    available = len([f for f in shared.iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".png")])
    if available < n:
        print(f"only {available} images in {shared}; building with {available}")
        n = available
    out = out_root / f"efficientnet_lite0-imagenet-sample-{n}"
    if not (out / "manifest.json").is_file():
        build_catalog(BuildConfig(dataset=str(shared), samples=n, out=out))
    return out


def generated(n: int) -> Path:
    """The folder holding a generated catalog of n samples, generated first if absent."""
    from benchmarks.big_catalog import generate
    folder = REPO / ".cache" / f"big-catalogs-{n}"
    out = folder / f"generated-{n}"
    if not (out / "manifest.json").is_file():
        print(f"generating a catalog of {n} samples into {out}", flush=True)
        generate(n, out)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog-dir", type=Path, default=REPO / "catalogs")
    parser.add_argument("--build", type=int, default=None, help="first build a catalog of N images")
    parser.add_argument("--points", type=int, default=None,
                        help="serve a generated catalog of N samples (generated first if absent)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--select", type=int, default=0, help="also time box selections of about N points")
    parser.add_argument("--pictures", action="store_true",
                        help="time only the map's pictures: zoom to pictures drawn, layer switch with pictures")
    args = parser.parse_args()
    catalog_dir = args.catalog_dir
    if args.build:
        catalog_dir = REPO / ".cache" / "bench-catalogs"
        build(args.build, catalog_dir)
    elif args.points:
        catalog_dir = generated(args.points)
    env = {"LAYERSCOPE_CATALOG_DIR": str(catalog_dir)}
    with streamlit_server(REPO / "test-artifacts" / "bench-server.log", env) as (url, _):
        result = (measure_pictures(url, args.rounds) if args.pictures else
                  measure(url, args.rounds, select=args.select))
    for name, values in result.items():
        ms = [v * 1000 for v in values]
        print(f"{name}: n={len(ms)} median {statistics.median(ms):.0f} ms, p90 {percentile(ms, 0.9):.0f} ms, "
              f"p95 {percentile(ms, 0.95):.0f} ms, max {max(ms):.0f} ms")


if __name__ == "__main__":
    main()
