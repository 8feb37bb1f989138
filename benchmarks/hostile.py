"""Hostile visitors for benchmarks/load.py (`--hostile`): what one anonymous visitor can throw at a public
deployment, run beside the ordinary visitors whose latency and errors the benchmark reports.

- two tabs run the heaviest SQL the limits allow, back to back: a query that runs until the time limit
  and one that grows until the memory limit stops it;
- a visitor keeps big results: several tabs, each holding a result cut at the byte limit;
- a crafted selection: 2,000,000 sample ids sent through the data map's plot bridge, again and again;
- uploads: the largest image the upload limits let through, and a PNG-signed file that is not a PNG.

Their outcomes (a refusal is the expected answer to most) are counted apart from the ordinary visitors'.
"""
from __future__ import annotations

import asyncio
import io
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

HEAVY_SQL = (
    # until the time limit: 40 billion rows of hashing
    "SELECT sum(hash(a.range + b.range)) AS h FROM range(200000) a, range(200000) b",
    # until the memory limit: a distinct count whose hash table outgrows DuckDB's memory_limit
    "SELECT count(DISTINCT a.range * 1000003 + b.range) AS n FROM range(2000000) a, range(1000) b",
)
BIG_RESULT_SQL = "SELECT s.*, repeat('x', 4000) AS ballast FROM samples s, range(100)"  # cut at the byte limit
KEEPER_TABS = 4  # each holds 16 MB + 6 x its 1 MB shown head: two fill the results budget (64 MB)
NAVIGATION_TIMEOUT_MS = 180000  # a page's first load, with 17 Chromium pages on a small machine
SELECTED_IDS = 2_000_000
CRAFTED_SELECTION_JS = """n => { const gd = document.querySelector('.st-key-datamap .js-plotly-plot');
    if (!gd || !gd.emit) return false;
    const points = new Array(n);
    for (let i = 0; i < n; i++) points[i] = {customdata: i, data: {name: 'crafted'}};
    gd.emit('plotly_selecting', {});
    gd.emit('plotly_selected', {points});
    return true; }"""
SETTLED_JS = "() => !document.querySelector('[data-testid=stStatusWidget]')"


class Hostile:
    """The hostile visitors of one load run: each in its own browser context, until `stop` is set."""

    def __init__(self, browser, url: str, folder: Path):
        self.browser, self.url, self.folder = browser, url, folder
        self.timings: dict[str, list[float]] = {}
        self.outcomes: Counter[str] = Counter()
        self.stop = asyncio.Event()
        self.uploaded = asyncio.Event()  # the first upload has answered: the model is in the server's memory

    async def run(self) -> None:
        await asyncio.gather(*(self._survive(name, visitor) for name, visitor in (
            ("heavy sql 0", self.heavy_sql(0)), ("heavy sql 1", self.heavy_sql(1)),
            ("big result kept", self.keep_results()), ("crafted selection", self.crafted_selection()),
            ("hostile upload", self.uploads()))))

    async def _survive(self, name: str, visitor) -> None:
        """One hostile visitor; if its page never comes up, that is counted, and the others go on."""
        try:
            await visitor
        except Exception as exc:  # noqa: BLE001
            if name == "hostile upload":
                self.uploaded.set()  # no model to wait for
            self.outcomes[f"{name} gave up: {type(exc).__name__}: {str(exc).splitlines()[0][:100]}"] += 1

    def summary(self) -> dict:
        return {"actions": {k: {"n": len(v), "max_s": round(max(v), 1)} for k, v in sorted(self.timings.items())},
                "outcomes": dict(self.outcomes.most_common())}

    async def _page(self, path: str):
        context = await self.browser.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        page = await context.new_page()
        await page.goto(f"{self.url}/{path}")
        return page

    async def timed(self, action: str, coroutine) -> None:
        start = time.perf_counter()
        try:
            outcome = await coroutine
        except Exception as exc:  # a hostile visitor's timeout is an outcome, not a crash of the benchmark
            outcome = f"{type(exc).__name__}: {str(exc).splitlines()[0][:100]}"
        self.timings.setdefault(action, []).append(time.perf_counter() - start)
        self.outcomes[f"{action}: {outcome}"] += 1

    async def _sql(self, page, query: str) -> str:
        """Run query on the SQL page; what the page says once it has answered (a refusal, or `a result`)."""
        box = page.locator(".st-key-sql_query textarea")
        await box.wait_for(timeout=60000)
        await box.fill(query)
        await page.locator(".st-key-sql_run button").click()
        try:
            await page.wait_for_selector("[data-testid=stSpinner]", timeout=10000)
        except Exception:  # noqa: BLE001  (an answer faster than the check: nothing to wait for)
            pass
        await page.wait_for_selector("[data-testid=stSpinner]", state="detached", timeout=120000)
        return await self._said(page) or "a result"

    @staticmethod
    async def _said(page) -> str | None:
        """The page's error message, its first clause (the icon's name left out), or None."""
        alert = page.locator("[data-testid=stAlertContentError]")
        if not await alert.count():
            return None
        lines = [line for line in (await alert.first.inner_text()).splitlines() if line.strip()]
        return lines[-1].split(":")[0][:90] if lines else "an empty error"

    async def heavy_sql(self, tab: int) -> None:
        page = await self._page("SQL")
        while not self.stop.is_set():
            for query in HEAVY_SQL:
                await self.timed(f"heavy sql {tab}", self._sql(page, query))

    async def keep_results(self) -> None:
        """Several tabs each keep a result at the byte limit, run again every few seconds."""
        pages = [await self._page("SQL") for _ in range(KEEPER_TABS)]
        while not self.stop.is_set():
            for page in pages:
                await self.timed("big result kept", self._sql(page, BIG_RESULT_SQL))
            await asyncio.sleep(5)

    async def crafted_selection(self) -> None:
        page = await self._page("Explorer")
        await page.wait_for_selector(".st-key-datamap .js-plotly-plot .gtitle", timeout=120000)
        while not self.stop.is_set():
            await self.timed("crafted selection", self._select(page))
            await asyncio.sleep(3)

    async def _select(self, page) -> str:
        if not await page.evaluate(CRAFTED_SELECTION_JS, SELECTED_IDS):
            return "no data map"
        await asyncio.sleep(1)
        await page.wait_for_function(SETTLED_JS, timeout=120000)
        return "answered"

    async def uploads(self) -> None:
        """Upload after upload, each from a fresh Explorer page (a new session, so its answer is its own)."""
        large, fake = self._images()
        page = await self._page("Explorer")
        while not self.stop.is_set():
            for image in (large, fake):
                await self.timed("hostile upload", self._upload(page, image))
                self.uploaded.set()

    def _images(self) -> tuple[Path, Path]:
        """A noisy PNG just under the upload limits (10 MB, 16 megapixels), and a PNG signature on junk."""
        rng = np.random.default_rng(0)
        pixels = rng.integers(0, 256, size=(1800, 1800, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
        large = self.folder / "noise.png"
        large.write_bytes(buffer.getvalue())
        fake = self.folder / "not-a-png.png"
        fake.write_bytes(b"\x89PNG\r\n\x1a\n" + rng.integers(0, 256, size=2_000_000, dtype=np.uint8).tobytes())
        return large, fake

    async def _upload(self, page, image: Path) -> str:
        await page.goto(f"{self.url}/Explorer")
        await page.wait_for_selector(".st-key-datamap .js-plotly-plot .gtitle", timeout=180000)
        await page.get_by_role("tab", name="Your image").click()
        chooser = page.locator(".st-key-upload_file input[type='file']")
        await chooser.wait_for(state="attached", timeout=60000)
        await chooser.set_input_files(str(image))
        answer = page.locator("[data-testid='upload-result'], [data-testid=stAlertContentError]")
        await answer.first.wait_for(timeout=300000)
        said = await self._said(page)
        return f"refused: {said}" if said else "analysed"
