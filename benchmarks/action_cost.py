"""What one Explorer action costs, in CPU seconds, on the server and in the browser (by process type).

    python -m benchmarks.action_cost [--catalog-dir DIR] [--repeats 10]

One headless Chromium page on `streamlit run Home.py`; for hover, layer switch and pin in turn, the
action is done `repeats` times back to back (as `benchmarks.load`'s visitors do it) while the CPU
time of the server and of every Chromium process is sampled. CPU seconds, unlike latencies, hardly
depend on how busy the machine is, so this says where the load benchmark's time goes: the server's
work per action against the browser's.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.browser_latency import CHROMIUM, CHROMIUM_ARGS, REPO, streamlit_server
from benchmarks.cpu import CpuSampler
from benchmarks.load import Visitor


async def measure(url: str, server_pid: int, repeats: int) -> dict:
    from playwright.async_api import async_playwright
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1440, "height": 900})
            page = await context.new_page()
            await page.goto(f"{url}/Explorer")
            await page.wait_for_selector(".st-key-datamap .js-plotly-plot .gtitle", timeout=120000)
            await page.wait_for_selector("[data-layer-id]", timeout=120000)
            layers = await page.eval_on_selector_all(
                "[data-layer-id]", "els => els.map(e => [e.dataset.layerId, e.dataset.name])")
            timings, errors = {}, []
            visitor = Visitor(2, context, url, 0, timings, errors, extras=False)

            async def switch():
                layer_id, name = visitor.random.choice(layers)
                await visitor.timed("layer switch", visitor.switch(page, layer_id, name))

            actions = {"hover": lambda: visitor.timed("hover", visitor.hover(page)), "layer switch": switch,
                       "pin": lambda: visitor.timed("pin", visitor.pin(page))}
            out = {}
            for name, act in actions.items():
                await act()  # warm: the first of a kind may fill caches
                await asyncio.sleep(1)
                with CpuSampler({"server": server_pid, "browser": os.getpid()}, interval=0.2) as cpu:
                    for _ in range(repeats):
                        await act()
                    await asyncio.sleep(1)  # what the last one set off
                totals = cpu.totals()
                out[name] = {"server": sum(totals.get("server", {}).values()) / repeats,
                             **{kind: seconds / repeats for kind, seconds in totals.get("browser", {}).items()
                                if kind in ("renderer", "gpu-process", "browser")},
                             "median_ms": statistics.median(timings[name][-repeats:]) * 1000}
            if errors:
                out["errors"] = errors
            return out
        finally:
            await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog-dir", type=Path, default=REPO / "catalogs")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache, \
            streamlit_server(REPO / "test-artifacts" / "action-cost-server.log",
                             {"LAYERSCOPE_CATALOG_DIR": str(args.catalog_dir),
                              "LAYERSCOPE_ACTIVATION_CACHE": cache}) as (url, process):
        start = time.time()
        result = asyncio.run(measure(url, process.pid, args.repeats))
    print(f"CPU seconds per action ({args.repeats} of each, {time.time() - start:.0f} s):")
    for name, row in result.items():
        if name == "errors":
            continue
        print(f"{name:>13}: server {row['server']:.3f}  renderer {row.get('renderer', 0):.3f}  "
              f"gpu-process {row.get('gpu-process', 0):.3f}  browser {row.get('browser', 0):.3f}  "
              f"(median latency {row['median_ms']:.0f} ms)")
    for line in result.get("errors", []):
        print("  error: " + line)


if __name__ == "__main__":
    main()
