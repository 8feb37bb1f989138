"""N visitors without browsers: websocket clients that speak Streamlit's own protocol to one server.

    python -m benchmarks.protocol_load [--sessions 8] [--seconds 60] [--catalog-dir DIR] [--think S]
                                       [--hostile] [--json OUT]

`benchmarks.load` drives real Chromiums; on a 2-core machine eight software-rendering browsers cost
five to ten times the server's CPU, so its latencies measure their drawing more than the server (see
docs/PERFORMANCE.md). This client sends what a browser sends and waits for what it waits for, minus the
drawing: each visitor opens the Explorer and then, back to back, switches the layer (the sidebar's
layer select), hovers three points (the plot bridge's hover trigger, which reruns the inspector
fragment) and pins one (the bridge's click trigger: the fragment reruns the page). An action's latency
runs from the message sent to the server's "script finished" for the run it caused, every delta of
that run received and parsed. So N concurrent sessions are measured on the server's side: its work,
the locks and caches its sessions share, and the transport, with the two cores left to it.

It prints per-action latency p50/p95, errors (exceptions on a page, runs that never finish),
tracebacks in the server log, the server's peak RSS, and CPU seconds of the server and of this client.
`--hostile` serves DIR in public mode and adds the hostile visitors of benchmarks/hostile_protocol.py
beside the ordinary ones (who arrive once the first hostile upload has loaded the model); their outcomes are reported apart.
"""
from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import time
from dataclasses import dataclass, field

import numpy as np

from benchmarks.load import load_arguments, run_load

TIMEOUT_S = 60
HOVERS_PER_ROUND = 3
FIRST_UPLOAD_S = 300  # --hostile: the longest the ordinary visitors wait for the first hostile upload
INSPECTED = re.compile(r'class="ls-inspector-head" data-sample-id="(\d+)"')


@dataclass
class Page:
    """What a visitor knows of the page: the widgets it drives and the sample ids on the map."""

    layer_select: str | None = None
    layer_options: list[str] = field(default_factory=list)
    bridge_trigger: str | None = None
    bridge_fragment: str | None = None
    sample_ids: list[int] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    map_title: str = ""  # what the last run drew: the data map's title and the inspector's sample
    inspected: int | None = None


def _decode(value) -> list:
    """A plotly typed array ({"dtype", "bdata", "shape"}) or a list, as a flat list of values."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).tolist()
    flat = []
    for item in value or []:
        flat.extend(item if isinstance(item, list) else [item])
    return flat


def _trigger_id(component_id: str) -> str:
    """The widget id under which a components-v2 element's events (its trigger values) travel."""
    from streamlit.components.v2.bidi_component.main import _make_trigger_id
    return _make_trigger_id(component_id, "events")


class Visitor:
    """One session on the server, over one websocket."""

    def __init__(self, index: int, url: str, seconds: float, timings: dict, errors: list, think: float):
        self.index, self.seconds, self.timings, self.errors, self.think = index, seconds, timings, errors, think
        self.ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.page = Page()
        self.explorer_hash = ""
        self.query_string = ""
        self.rng = random.Random(index)
        self.pinned: int | None = None

    async def run(self) -> None:
        from websockets.asyncio.client import connect
        async with connect(self.ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=TIMEOUT_S,
                           compression=None) as ws:
            self.ws = ws
            await self._rerun()  # Home
            await self._rerun(page_hash=self.explorer_hash)
            if not (self.page.layer_select and self.page.bridge_trigger and self.page.sample_ids):
                raise RuntimeError(f"the Explorer did not show its layer select, bridge or map: {self.page}")
            self.pinned = self.page.inspected  # nothing hovered yet: the inspector shows the pinned sample
            end = time.perf_counter() + self.seconds
            layer = 0
            while time.perf_counter() < end:
                layer = (layer + 7) % len(self.page.layer_options)
                option = self.page.layer_options[layer]
                await self._timed("layer switch", self._rerun(widgets={self.page.layer_select: ("string_value", option)}),
                                  lambda option=option: self.page.map_title.startswith(option.split(": ", 1)[1] + " · "))
                for _ in range(HOVERS_PER_ROUND):
                    sample = self.rng.choice(self.page.sample_ids)
                    await self._timed("hover", self._event("hover", sample), lambda sample=sample: self.page.inspected == sample)
                sample = self.rng.choice([i for i in self.page.sample_ids if i != self.pinned])
                await self._timed("pin", self._event("click", sample), lambda sample=sample: self.page.inspected == sample)

    async def _timed(self, action: str, work, shown) -> None:
        """Time one action; `shown()` says whether the page now shows its result (else an error)."""
        started = time.perf_counter()
        try:
            await asyncio.wait_for(work, TIMEOUT_S)
        except TimeoutError:
            self.errors.append(f"visitor {self.index}: {action} had no answer in {TIMEOUT_S} s")
            return
        self.timings.setdefault(action, []).append(time.perf_counter() - started)
        if not shown():
            self.errors.append(f"visitor {self.index}: {action} did not show its result "
                               f"(map {self.page.map_title[:40]!r}, inspector #{self.page.inspected})")
        if self.page.exceptions:
            self.errors += [f"visitor {self.index}: {action}: {e}" for e in self.page.exceptions]
            self.page.exceptions.clear()
        if self.think:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think)

    async def _event(self, event: str, sample_id: int) -> None:
        """A bridge event, as the browser sends it: a trigger value for a rerun of the inspector fragment.
        A click pins the sample, and the fragment then reruns the page: that run is waited for too."""
        trigger = json.dumps([{"event": event, "value": int(sample_id)}])
        repin = event == "click" and sample_id != self.pinned  # clicking the pinned sample changes nothing
        await self._rerun(widgets={self.page.bridge_trigger: ("json_trigger_value", trigger)},
                          fragment=self.page.bridge_fragment, until_page=repin)
        if event == "click":
            self.pinned = int(sample_id)

    async def _rerun(self, widgets: dict | None = None, page_hash: str | None = None, fragment: str | None = None,
                     until_page: bool = False) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetState
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.explorer_hash if page_hash is None else page_hash
        if fragment:
            state.fragment_id = fragment
        for widget_id, (kind, value) in (widgets or {}).items():
            widget = WidgetState(id=widget_id)
            setattr(widget, kind, value)
            state.widget_states.widgets.append(widget)
        await self.ws.send(message.SerializeToString())
        await self._until_finished(fragment is not None and not until_page)

    async def _until_finished(self, fragment_run: bool) -> None:
        """Read messages until the run (the page's, or the fragment's) has finished."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await self.ws.recv())
            kind = msg.WhichOneof("type")
            if kind in ("new_session", "navigation"):  # the app's pages (st.navigation's, or pages/)
                self._pages(getattr(msg, kind).app_pages)
            elif kind == "page_info_changed":
                self.query_string = msg.page_info_changed.query_string
            elif kind == "delta":
                self._delta(msg.delta)
            elif kind == "script_finished":
                status = msg.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # a st.rerun(): the next run follows
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    self.page.exceptions.append("the script did not compile")
                if fragment_run or status != ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                    return

    def _pages(self, pages) -> None:
        for page in pages:
            if page.page_name.lower().endswith("explorer") or page.url_pathname.lower() == "explorer":
                self.explorer_hash = page.page_script_hash

    def _delta(self, delta) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.page.exceptions.append(f"{element.exception.type}: {element.exception.message[:160]}")
        elif kind == "selectbox" and element.selectbox.id.endswith("layer_select"):
            self.page.layer_select = element.selectbox.id
            self.page.layer_options = list(element.selectbox.options)
        elif kind == "html" and (found := INSPECTED.search(element.html.body)):
            self.page.inspected = int(found.group(1))
        elif kind == "bidi_component":
            component = element.bidi_component
            if component.id.endswith("plot_bridge"):
                self.page.bridge_trigger = _trigger_id(component.id)
                self.page.bridge_fragment = delta.fragment_id or None
            elif component.id.endswith("datamap_chart"):  # the mounted chart (app/plotly_view.py)
                sent = json.loads(component.json)
                self._map({"data": json.loads(sent["traces"]), "layout": json.loads(sent["layout"])})
        elif kind == "plotly_chart" and element.plotly_chart.id.endswith("datamap_chart"):  # the fallback chart
            self._map(json.loads(element.plotly_chart.spec))

    def _map(self, figure: dict) -> None:
        self.page.map_title = str(figure["layout"]["title"]["text"])
        if not self.page.sample_ids:
            self.page.sample_ids = sorted({int(i) for trace in figure["data"] if trace.get("customdata")
                                           for i in _decode(trace["customdata"])})


async def drive(url: str, sessions: int, seconds: float, think: float = 0.0,
                hostile: dict | None = None) -> tuple[dict, list]:
    """`sessions` ordinary visitors for `seconds`; `hostile`: a dict to fill with the summary of the
    hostile visitors (benchmarks/hostile_protocol.py) run beside them, or None for none."""
    timings: dict[str, list[float]] = {}
    errors: list[str] = []
    visitors = [Visitor(i, url, seconds, timings, errors, think) for i in range(sessions)]
    if hostile is None:
        results = await asyncio.gather(*(v.run() for v in visitors), return_exceptions=True)
    else:
        results = await _beside_hostile_visitors(url, visitors, hostile)
    errors += [f"visitor {i}: {type(r).__name__}: {str(r)[:200]}" for i, r in enumerate(results)
               if isinstance(r, BaseException)]
    return timings, errors


async def _beside_hostile_visitors(url: str, visitors: list[Visitor], hostile: dict) -> list:
    """Run the ordinary visitors while the hostile ones attack; the hostile ones stop when they are done."""
    import tempfile
    from pathlib import Path

    from playwright.async_api import async_playwright

    from benchmarks.hostile_protocol import ProtocolHostile
    from harness.browser import CHROMIUM, CHROMIUM_ARGS
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with tempfile.TemporaryDirectory() as folder:
            attackers = ProtocolHostile(browser, url, Path(folder))
            attack = asyncio.ensure_future(attackers.run())
            try:  # the attack under way, the model loaded by the first upload, before the ordinary visitors arrive
                await asyncio.wait_for(attackers.uploaded.wait(), FIRST_UPLOAD_S)
            except TimeoutError:
                pass
            try:
                results = await asyncio.gather(*(v.run() for v in visitors), return_exceptions=True)
            finally:
                attackers.stop.set()
                attack.cancel()
                await asyncio.gather(attack, return_exceptions=True)
                hostile.update(attackers.summary())
                await browser.close()
    return results


def main() -> None:
    args = load_arguments(__doc__.splitlines()[0]).parse_args()
    hostile = {} if args.hostile else None
    run_load(args, "protocol-load-server.log",
             lambda url: drive(url, args.sessions, args.seconds, think=args.think, hostile=hostile),
             client="client", client_kind="websocket protocol", public=args.hostile, hostile=hostile)


if __name__ == "__main__":
    main()
