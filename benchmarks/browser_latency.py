"""Browser benchmark of the Explorer: hover-to-inspector and layer-switch-to-redrawn-map latencies.

    python -m benchmarks.browser_latency [--catalog-dir DIR] [--build N] [--rounds 15] [--select 10000]

Starts `streamlit run Home.py` on a free port with LAYERSCOPE_CATALOG_DIR=DIR, drives headless
Debian Chromium (/usr/bin/chromium) with Playwright, and prints medians and 90th percentiles:
- hover: from the mouse moving onto a point to the inspector showing that sample's id;
- layer switch: from a click on a layer in the layer map to the data map's title naming that layer
  with a single plot on the page;
- box selection (`--select N`, N > 0): with "Drag to: box" and the Selection tab open, from releasing
  the mouse after dragging a box over about N points to the Selection tab's summary counting them and
  the map ringing every one of them.
`--build N` first builds a catalog of N images of ../shared/data/imagenet-sample into DIR (if absent).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(log_path: Path, env: dict[str, str]):
    """`streamlit run Home.py` on a free port with `env` added to the environment (the catalog folder,
    caches); yields (url, process); always terminates it."""
    port = free_port()
    env = {**os.environ, **env}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "Home.py", "--server.headless", "true",
                                "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                               cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log_path}")
            time.sleep(0.3)
        yield url, process
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate a server, killing it if it has not gone after `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def open_explorer(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("link", name="Explorer").first.click()
    page.wait_for_selector(".st-key-datamap .js-plotly-plot .gtitle", timeout=60000)
    page.wait_for_selector("[data-layer-id]", timeout=60000)
    page.wait_for_selector(".ls-inspector-head", timeout=60000)


def map_title(page) -> str:
    return page.evaluate("() => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                         ".map(e => e.textContent).join(' | ')")


def wait_map_settled(page, layer_name: str, timeout: float = 30000) -> None:
    page.wait_for_function(
        """name => { const t = [...document.querySelectorAll('.st-key-datamap .gtitle')];
                     return t.length === 1 && t[0].textContent.startsWith(name + ' ·'); }""",
        arg=layer_name, timeout=timeout)


def layer_ids(page) -> list[int]:
    """The layer map's layer ids, in drawing order (input first)."""
    return [int(v) for v in page.eval_on_selector_all("[data-layer-id]", "els => els.map(e => e.dataset.layerId)")]


def switch_layer(page, layer_id: int) -> tuple[str, float]:
    """Click a layer in the map; seconds until the data map shows it."""
    target = page.locator(f'[data-layer-id="{layer_id}"]')
    name = target.get_attribute("data-name")
    start = time.perf_counter()
    target.locator(".hit").click()
    wait_map_settled(page, name)
    return name, time.perf_counter() - start


def point_positions(page, count: int = 40) -> list[tuple[float, float, int]]:
    """Page coordinates and sample ids of up to `count` points of the data map, spread over traces."""
    return page.evaluate(
        """count => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
            const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, box = gd.getBoundingClientRect();
            const pts = [];
            gd._fullData.forEach(tr => { if (!tr.customdata || tr.name === 'highlighted') return;
              // a filtered-out trace keeps one gap (x null) and no customdata
              for (let i = 0; i < tr.x.length; i++) if (tr.x[i] != null && tr.customdata[i]) pts.push([box.left + xa._offset + xa.l2p(tr.x[i]),
                                                               box.top + ya._offset + ya.l2p(tr.y[i]),
                                                               Number(tr.customdata[i][0])]); });
            // keep points far from every other one, so the hover lands on the intended point
            const far = pts.filter(p => pts.every(q => q === p || Math.hypot(p[0]-q[0], p[1]-q[1]) > 9));
            const step = Math.max(1, Math.floor(far.length / count));
            return far.filter((_, i) => i % step === 0).slice(0, count); }""", count)


def inspector_id(page) -> int | None:
    value = page.evaluate("() => { const e = document.querySelector('.ls-inspector-head');"
                          " return e ? e.dataset.sampleId : null; }")
    return None if value is None else int(value)


def hover_point(page, x: float, y: float, sample_id: int, timeout: float = 15000) -> float:
    """Move onto a point; seconds until the inspector shows that sample (its image loaded)."""
    start = time.perf_counter()
    page.mouse.move(x, y)
    page.wait_for_function(
        """id => { const e = document.querySelector('.ls-inspector-head');
                   if (!e || e.dataset.sampleId !== String(id)) return false;
                   const img = document.querySelector('.st-key-inspector img');
                   return !img || img.complete; }""", arg=sample_id, timeout=timeout, polling="raf")
    return time.perf_counter() - start


def box_over(page, count: int, offset: int = 0) -> tuple[list[float], int]:
    """A box (page coordinates: left, top, right, bottom) over the full height of the data map's plot
    area that holds about `count` of its points, the `offset`-th such box from the left edge (boxes
    overlap); returns it with how many points lie inside."""
    return page.evaluate(
        """([count, offset]) => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
            const fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis, box = gd.getBoundingClientRect();
            const top = box.top + ya._offset + 2, bottom = box.top + ya._offset + ya._length - 2;
            const xs = [];
            gd._fullData.forEach(tr => { if (!tr.customdata || tr.name === 'highlighted' || tr.name === 'pinned') return;
              for (let i = 0; i < tr.x.length; i++) { if (tr.x[i] === null) continue;
                const py = box.top + ya._offset + ya.l2p(tr.y[i]);
                if (py > top && py < bottom) xs.push(box.left + xa._offset + xa.l2p(tr.x[i])); } });
            xs.sort((a, b) => a - b);
            const first = Math.min(xs.length - 1, Math.floor(offset * count / 4));
            const last = Math.min(xs.length - 1, first + count - 1);
            const left = first === 0 ? box.left + xa._offset + 2 : (xs[first - 1] + xs[first]) / 2;
            const right = last === xs.length - 1 ? box.left + xa._offset + xa._length - 2 : (xs[last] + xs[last + 1]) / 2;
            const inside = xs.filter(x => x > left && x < right).length;
            return [[left, top, right, bottom], inside]; }""", [count, offset])


def ringed(page) -> int:
    """How many points the data map rings as selected (its 'highlighted' trace)."""
    return page.evaluate("""() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
        const t = gd && gd._fullData ? gd._fullData.find(t => t.name === 'highlighted') : null;
        return t ? t.x.length : 0; }""")


def select_box(page, count: int, offset: int = 0, timeout: float = 30000) -> tuple[int, float]:
    """Drag a box over about `count` points ("Drag to: box" chosen, the Selection tab open); returns how
    many the app selected and the seconds from the mouse's release until the Selection tab's summary
    counts them and the map rings exactly that many (a single map on the page)."""
    page.locator(".st-key-datamap").scroll_into_view_if_needed()
    (left, top, right, bottom), _ = box_over(page, count, offset)
    before = page.evaluate(SUMMARY_JS)
    page.mouse.move(left, top)
    page.mouse.down()
    page.mouse.move((left + right) / 2, (top + bottom) / 2, steps=4)
    page.mouse.move(right, bottom, steps=4)
    start = time.perf_counter()
    page.mouse.up()
    handle = page.wait_for_function(
        """before => { const e = document.querySelector("[data-testid='selection-summary'] b");
                  if (!e || e.textContent === before) return false;
                  const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
                  const t = gd && gd._fullData ? gd._fullData.find(t => t.name === 'highlighted') : null;
                  const n = Number(e.textContent);
                  return !!t && t.x.length === n && document.querySelectorAll('.st-key-datamap .gtitle').length === 1 && n; }""",
        arg=before, timeout=timeout, polling="raf")
    seconds = time.perf_counter() - start
    return int(handle.json_value()), seconds


SUMMARY_JS = """() => { const e = document.querySelector("[data-testid='selection-summary'] b");
                        return e ? e.textContent : null; }"""


def clear_selection(page) -> None:
    """Press "Clear the selection" and wait until the summary is gone (so the next one is news)."""
    page.locator(".st-key-clear_selection button").click()
    page.wait_for_selector("[data-testid='selection-summary']", state="detached", timeout=30000)


def open_selection(page) -> None:
    """Choose "Drag to: box" and open the Selection tab."""
    page.locator(".st-key-drag_mode button", has_text="box").click()
    page.wait_for_function("() => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');"
                           " return gd && gd._fullLayout && gd._fullLayout.dragmode === 'select'; }", timeout=30000)
    page.get_by_role("tab", name="Selection").click()
    page.wait_for_selector(".st-key-confusion_box .js-plotly-plot", timeout=60000)
    page.wait_for_timeout(500)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog-dir", type=Path, default=REPO / "catalogs")
    parser.add_argument("--build", type=int, default=None, help="first build a catalog of N images")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--select", type=int, default=0, help="also time box selections of about N points")
    args = parser.parse_args()
    catalog_dir = args.catalog_dir
    if args.build:
        catalog_dir = REPO / ".cache" / "bench-catalogs"
        build(args.build, catalog_dir)
    env = {"LAYERSCOPE_CATALOG_DIR": str(catalog_dir)}
    with streamlit_server(REPO / "test-artifacts" / "bench-server.log", env) as (url, _):
        result = measure(url, args.rounds, select=args.select)
    for name, values in result.items():
        ms = [v * 1000 for v in values]
        print(f"{name}: n={len(ms)} median {statistics.median(ms):.0f} ms, p90 {percentile(ms, 0.9):.0f} ms, "
              f"p95 {percentile(ms, 0.95):.0f} ms, max {max(ms):.0f} ms")


if __name__ == "__main__":
    main()
