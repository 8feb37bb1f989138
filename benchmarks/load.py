"""Load benchmark: N visitors on one server at once, as a shared deployment sees them.

    python -m benchmarks.load [--sessions 8] [--seconds 60] [--catalog-dir DIR] [--nice-browsers 10]
                              [--think SECONDS] [--hostile] [--json OUT]

Starts `streamlit run Home.py` on a free port (LAYERSCOPE_CATALOG_DIR=DIR), opens N browser contexts of
one headless Debian Chromium (each its own Streamlit session), and for a fixed time lets each visitor
switch layers, hover points and pin them; visitor 0 also uploads images (in its first round, then
at random) and visitor 1 runs SQL. The
server's resident memory (with its children) is sampled all along. It prints per-action latency p50 and
p95, errors (timeouts, exceptions shown on a page), tracebacks in the server log, peak RSS, and the CPU
seconds the server and the browsers used (by Chromium process type): on one small machine the
browsers compete with the server they measure, and `--nice-browsers N` runs them (and the driver) at
nice N so that the server under test keeps its priority. Visitors act back to back by default (a stress
test: on 2 cores that is a test of how fast eight Chromiums render); `--think S` makes each visitor
pause 0.5 S to 1.5 S after every action, as a person looking at what they hovered does.
`--hostile` serves DIR in public mode (as LAYERSCOPE_PUBLISHED_DIR) and adds, beside the N ordinary
visitors, the hostile ones of benchmarks/hostile.py (heavy SQL from two tabs, big results kept, a crafted
selection of 2,000,000 ids, large and disguised uploads); their outcomes are reported apart.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.browser_latency import percentile
from harness.browser import CHROMIUM, CHROMIUM_ARGS, PINNED_JS, POINTS_JS
from harness.cpu import CpuSampler
from harness.rss import RssSampler
from harness.server import REPO, streamlit_server

SAMPLE_IMAGES = REPO / "data" / "sample"
SQL_QUERIES = (
    "SELECT label_name, count(*) AS n FROM samples GROUP BY 1 ORDER BY 2 DESC LIMIT 20",
    "SELECT s.label_name, p.class_name, p.prob FROM samples s JOIN predictions p USING (sample_id) "
    "WHERE p.rank = 1 AND p.class_idx <> s.label_idx ORDER BY p.prob DESC LIMIT 50",
    "SELECT layer_id, avg(score) FROM channels GROUP BY 1 ORDER BY 1",
)
INSPECTOR_SHOWS_JS = """id => { const e = document.querySelector('.ls-inspector-head');
    return !!e && e.dataset.sampleId === String(id); }"""
MAP_SHOWS_JS = """name => { const t = [...document.querySelectorAll('.st-key-datamap .gtitle')];
    return t.length === 1 && t[0].textContent.startsWith(name + ' ·'); }"""
SHOWN_JS = """() => ({titles: [...document.querySelectorAll('.st-key-datamap .gtitle')].map(t => t.textContent),
    selected: [...document.querySelectorAll('[data-layer-id].selected, [data-layer-id][aria-selected=true]')].map(e => e.dataset.name),
    running: !!document.querySelector('[data-testid=stStatusWidget]'),
    inspector: (document.querySelector('.ls-inspector-head') || {dataset: {}}).dataset.sampleId,
    head: (document.querySelector('.ls-inspector-head') || {}).innerText,
    ring: ((document.querySelector('.st-key-datamap .js-plotly-plot') || {}).layout?.shapes || [])
      .filter(s => s.name === 'pinned').map(s => [s.xanchor, s.yanchor]),
    dialog: (document.querySelector('[role=dialog]') || {}).innerText,
    hovers_sent: window.__lsHoversSent || 0, last_hover_sent: window.__lsHoverId,
    since_last_hover_ms: window.__lsHoverAt ? Math.round(performance.now() - window.__lsHoverAt) : null})"""
PAGE_ERRORS_JS = "() => document.querySelectorAll('[data-testid=\"stException\"]').length"


class Visitor:
    """One browser context: one Streamlit session doing what a visitor does, timing each action."""

    def __init__(self, number: int, context, url: str, seconds: float, timings: dict, errors: list,
                 extras: bool = True, think: float = 0.0):
        self.number, self.context, self.url, self.seconds, self.think = number, context, url, seconds, think
        self.uploads, self.queries = extras and number == 0, extras and number == 1
        self.timings, self.errors = timings, errors
        self.random = random.Random(number)

    def record(self, action: str, seconds: float) -> None:
        self.timings.setdefault(action, []).append(seconds)

    async def timed(self, action: str, coroutine) -> None:
        start = time.perf_counter()
        try:
            await coroutine
        except Exception as exc:  # a timeout or a vanished element: an error of this action, go on
            self.errors.append(f"visitor {self.number} {action}: {type(exc).__name__}: {str(exc)[:400]}")
        else:
            self.record(action, time.perf_counter() - start)
        if self.think:
            await asyncio.sleep(self.think * (0.5 + self.random.random()))

    def console_error(self, message) -> None:
        """A page's console error is the visitor's error (e.g. Streamlit's "Connection error" when a message
        fails on the websocket), except failed resource loads: Streamlit probes health URLs under the
        page's path (/Explorer/_stcore/health, a 404) before the root's."""
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"visitor {self.number} console: {message.text[:400]}")

    async def run(self) -> None:
        page = await self.context.new_page()
        page.on("console", self.console_error)
        await page.goto(f"{self.url}/Explorer")
        await page.wait_for_selector(".st-key-datamap .js-plotly-plot .gtitle", timeout=120000)
        await page.wait_for_selector("[data-layer-id]", timeout=120000)
        layers = await page.eval_on_selector_all(
            "[data-layer-id]", "els => els.map(e => [e.dataset.layerId, e.dataset.name])")
        deadline = time.time() + self.seconds  # the clock starts once this visitor's page is up
        rounds = 0
        while time.time() < deadline:
            rounds += 1
            if self.uploads and (rounds == 1 or self.random.random() < 0.25):  # always one upload at least
                await self.timed("upload", self.upload(page))
            elif self.queries and self.random.random() < 0.3:
                await self.timed("sql", self.sql(page))
                await page.goto(f"{self.url}/Explorer")
                await page.wait_for_selector(".st-key-datamap .js-plotly-plot .gtitle", timeout=120000)
            layer_id, name = self.random.choice(layers)
            await self.timed("layer switch", self.switch(page, layer_id, name))
            for _ in range(3):
                await self.timed("hover", self.hover(page))
            await self.timed("pin", self.pin(page))
            if await page.evaluate(PAGE_ERRORS_JS):
                self.errors.append(f"visitor {self.number}: an exception is shown on the page")

    async def switch(self, page, layer_id: str, name: str) -> None:
        await page.locator(f'[data-layer-id="{layer_id}"] .hit').click()
        try:
            await page.wait_for_function(MAP_SHOWS_JS, arg=name, timeout=30000)
        except Exception as exc:  # say what the page showed instead
            raise RuntimeError(f"{type(exc).__name__} waiting for layer {name}: {await page.evaluate(SHOWN_JS)}") from exc

    async def _point(self, page):
        points = await page.evaluate(POINTS_JS)
        if not points:
            raise RuntimeError("no point on the data map")
        return self.random.choice(points)

    async def hover(self, page) -> None:
        x, y, sample_id = await self._point(page)
        await page.mouse.move(x, y)
        try:
            await page.wait_for_function(INSPECTOR_SHOWS_JS, arg=sample_id, timeout=15000)
        except Exception as exc:  # say what the page showed instead
            raise RuntimeError(f"{type(exc).__name__} waiting for sample {sample_id}: {await page.evaluate(SHOWN_JS)}") from exc

    async def pin(self, page) -> None:
        """Click a point; done when the inspector shows it pinned and the map rings it."""
        x, y, sample_id = await self._point(page)
        await page.mouse.move(x, y)
        await page.mouse.click(x, y)
        try:
            await page.wait_for_function(PINNED_JS, arg=sample_id, timeout=30000)
        except Exception as exc:  # say what the page showed instead
            raise RuntimeError(f"{type(exc).__name__} waiting for sample {sample_id} pinned: "
                               f"{await page.evaluate(SHOWN_JS)}") from exc

    async def upload(self, page) -> None:
        image = self.random.choice(sorted(SAMPLE_IMAGES.glob("*.jpg")))
        await page.get_by_role("tab", name="Your image").click()
        chooser = page.locator(".st-key-upload_file input[type='file']")
        await chooser.wait_for(state="attached", timeout=30000)
        await chooser.set_input_files(str(image))
        await page.wait_for_selector("[data-testid='upload-result']", timeout=120000)

    async def sql(self, page) -> None:
        await page.goto(f"{self.url}/SQL")
        box = page.locator(".st-key-sql_query textarea")
        await box.wait_for(timeout=60000)
        await box.fill(self.random.choice(SQL_QUERIES))
        await page.locator(".st-key-sql_run button").click()
        await page.wait_for_selector(".st-key-sql_download button", timeout=60000)


async def drive(url: str, sessions: int, seconds: float, extras: bool = True,
                think: float = 0.0, hostile: dict | None = None) -> tuple[dict, list]:
    """Run `sessions` visitors for `seconds` each; `extras`: visitor 0 uploads and visitor 1 runs SQL;
    `think`: mean pause after each action (0: back to back); `hostile`: a dict to fill with the
    summary of the hostile visitors (benchmarks/hostile.py) run beside them, or None for none."""
    from playwright.async_api import async_playwright

    from benchmarks.hostile import NAVIGATION_TIMEOUT_MS, Hostile
    timings: dict[str, list[float]] = {}
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with tempfile.TemporaryDirectory() as folder:
            attackers = Hostile(browser, url, Path(folder)) if hostile is not None else None
            attack = asyncio.ensure_future(attackers.run()) if attackers else None
            try:
                contexts = [await browser.new_context(viewport={"width": 1440, "height": 900}) for _ in range(sessions)]
                if attackers:  # beside the hostile pages, a first load takes longer than Playwright's 30 s
                    for context in contexts:
                        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
                visitors = [Visitor(i, c, url, seconds, timings, errors, extras, think) for i, c in enumerate(contexts)]
                results = await asyncio.gather(*(v.run() for v in visitors), return_exceptions=True)
                errors += [f"visitor {i}: {type(r).__name__}: {str(r)[:160]}" for i, r in enumerate(results)
                           if isinstance(r, BaseException)]
            finally:
                if attack is not None:
                    attackers.stop.set()
                    attack.cancel()
                    done = (await asyncio.gather(attack, return_exceptions=True))[0]
                    if isinstance(done, BaseException) and not isinstance(done, asyncio.CancelledError):
                        errors.append(f"hostile visitors stopped early: {type(done).__name__}: {str(done)[:160]}")
                    hostile.update(attackers.summary())
                await browser.close()
    return timings, errors


def report(timings: dict, errors: list, tracebacks: int, peak_mb: float, cpu: dict | None = None,
           hwm_mb: float | None = None) -> dict:
    summary = {"actions": {}, "errors": errors, "tracebacks_in_server_log": tracebacks, "peak_rss_mb": peak_mb,
               "server_process_hwm_mb": hwm_mb, "cpu_seconds": cpu or {}}
    for action, values in sorted(timings.items()):
        ms = [v * 1000 for v in values]
        summary["actions"][action] = {"n": len(ms), "p50_ms": round(statistics.median(ms)),
                                      "p95_ms": round(percentile(ms, 0.95)), "max_ms": round(max(ms))}
    return summary


def load_arguments(description: str) -> argparse.ArgumentParser:
    """The options both load benchmarks take (this one and benchmarks/protocol_load.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--catalog-dir", type=Path, default=REPO / "catalogs")
    parser.add_argument("--think", type=float, default=0.0, metavar="S",
                        help="each visitor pauses 0.5 S to 1.5 S after every action (default 0: back to back)")
    parser.add_argument("--json", type=Path, default=None, help="also write the summary here")
    parser.add_argument("--hostile", action="store_true",
                        help="a public server, and hostile visitors beside the ordinary ones (benchmarks/hostile.py)")
    return parser


def run_load(args, log_name: str, drive_visitors, client: str, nice_client: int = 0, public: bool = False,
             **noted) -> None:
    """Start the app on `args.catalog_dir` (as the published folder of a public deployment if `public`),
    run `drive_visitors(url)` -> (timings, errors) against it with the server's RSS and everyone's CPU
    sampled (this process and its children as `client`), and print the summary (`noted` is added to it)."""
    log_path = REPO / "test-artifacts" / log_name
    load_before = os.getloadavg()[0]
    folder = {"LAYERSCOPE_PUBLIC": "1", "LAYERSCOPE_PUBLISHED_DIR": str(args.catalog_dir)} if public else {
        "LAYERSCOPE_CATALOG_DIR": str(args.catalog_dir)}
    with tempfile.TemporaryDirectory() as cache, \
            streamlit_server(log_path, {**folder, "LAYERSCOPE_ACTIVATION_CACHE": cache}) as (url, process), \
            RssSampler(process.pid) as rss, CpuSampler({"server": process.pid, client: os.getpid()}) as cpu:
        if nice_client:
            os.nice(nice_client)  # this process and what it starts from here inherit it; the server not
        timings, errors = asyncio.run(drive_visitors(url))
    tracebacks = log_path.read_text(errors="replace").count("Traceback")
    summary = report(timings, errors, tracebacks, round(rss.peak_mb), cpu.totals(), round(rss.hwm_mb))
    summary.update(sessions=args.sessions, seconds=args.seconds, think=args.think, **noted,
                   load_average_before=load_before, load_average_after=os.getloadavg()[0])
    print_report(summary, args.json)


def main() -> None:
    parser = load_arguments(__doc__.splitlines()[0])
    parser.add_argument("--nice-browsers", type=int, default=0, metavar="N",
                        help="run the browsers (and this driver) at nice N; the server keeps normal priority")
    args = parser.parse_args()
    hostile = {} if args.hostile else None
    run_load(args, "load-server.log",
             lambda url: drive(url, args.sessions, args.seconds, think=args.think, hostile=hostile),
             client="load", nice_client=args.nice_browsers, public=args.hostile, nice_browsers=args.nice_browsers,
             hostile=hostile)


def print_report(summary: dict, json_path: Path | None = None) -> None:
    """The summary of a load run on the terminal (and as JSON in `json_path`)."""
    for action, row in summary["actions"].items():
        print(f"{action:>13}: n={row['n']:4d}  p50 {row['p50_ms']:6d} ms  p95 {row['p95_ms']:6d} ms  "
              f"max {row['max_ms']:6d} ms")
    errors = summary["errors"]
    print(f"errors: {len(errors)}; tracebacks in the server log: {summary['tracebacks_in_server_log']}; "
          f"peak server RSS: {summary['peak_rss_mb']} MB (the server process's own VmHWM: "
          f"{summary['server_process_hwm_mb']} MB)")
    for label, by_kind in summary["cpu_seconds"].items():
        print(f"CPU seconds, {label}: {sum(by_kind.values()):.1f} (" +
              ", ".join(f"{k} {v:.1f}" for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])) + ")")
    print(f"load average (1 min) before {summary['load_average_before']:.2f}, "
          f"after {summary['load_average_after']:.2f}")
    for line in errors[:20]:
        print("  " + line)
    hostile = summary.get("hostile")
    if hostile:
        print("hostile visitors (apart from the figures above): " +
              ", ".join(f"{action} x{row['n']} (longest {row['max_s']} s)" for action, row in hostile["actions"].items()))
        for outcome, n in hostile["outcomes"].items():
            print(f"  {n:4d} x {outcome}")
    if json_path:
        json_path.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
