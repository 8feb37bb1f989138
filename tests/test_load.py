"""Several browser sessions on one server at once: every action answers, no session sees an error."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import os
import subprocess
import sys
import time

import pytest

from benchmarks.load import drive
from harness.cpu import CpuSampler
from harness.rss import RssSampler, tree_rss_mb


def test_tree_rss_counts_a_process_and_its_children():
    assert tree_rss_mb(os.getpid()) > 10  # this Python process with pytest loaded
    assert tree_rss_mb(2 ** 22 + 12345) == 0  # no such process: nothing, no error


def test_tree_rss_counts_a_child_that_holds_its_own_memory():
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; b = bytearray(150 * 2**20); "
                              "print('ready', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert tree_rss_mb(child.pid) > 150
        assert tree_rss_mb(os.getpid()) > tree_rss_mb(child.pid) + 10
    finally:
        child.kill()
        child.wait()


def test_tree_rss_does_not_count_a_forked_child_sharing_the_parents_pages_twice():
    # a child between fork and exec (e.g. the `ldconfig -p` torch runs on import) maps the parent's
    # pages: counted, it doubled the server's peak for that instant
    ballast = bytearray(200 * 2 ** 20)  # touched: resident
    own = tree_rss_mb(os.getpid())
    pid = os.fork()
    if pid == 0:
        time.sleep(3)
        os._exit(0)
    try:
        time.sleep(0.2)
        assert tree_rss_mb(os.getpid()) < own + 50
    finally:
        os.waitpid(pid, 0)
    del ballast


def test_cpu_sampler_charges_work_to_the_process_that_did_it():
    busy = subprocess.Popen([sys.executable, "-c", "import time; t = time.process_time()\n"
                             "while time.process_time() - t < 1.0: pass"])
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5)"])
    with CpuSampler({"busy": busy.pid, "idle": idle.pid}, interval=0.1) as cpu:
        busy.wait()
        idle.wait()
    totals = cpu.totals()
    assert sum(totals["busy"].values()) >= 0.7
    assert sum(totals["idle"].values()) < 0.3


@pytest.mark.browser
def test_three_concurrent_visitors_switch_hover_and_pin_without_errors(streamlit_server):
    with RssSampler(streamlit_server.process.pid) as rss:
        timings, errors = asyncio.run(drive(streamlit_server.url, sessions=3, seconds=8, extras=False))
    assert errors == []
    assert {"layer switch", "hover", "pin"} <= set(timings)
    assert "Traceback" not in streamlit_server.log()
    assert rss.peak_mb > 100


def test_protocol_visitors_each_see_their_own_layer_and_sample(streamlit_server):
    """Four websocket sessions (benchmarks/protocol_load.py) act at once: every switch shows the map of
    the layer that visitor chose and every hover and pin the sample that visitor chose (a session that
    saw another's result would be an error), with no exception on a page and no traceback."""
    from benchmarks import protocol_load
    timings, errors = asyncio.run(protocol_load.drive(streamlit_server.url, sessions=4, seconds=6))
    assert errors == []
    assert {"layer switch", "hover", "pin"} <= set(timings)
    assert len(timings["hover"]) == protocol_load.HOVERS_PER_ROUND * len(timings["pin"])
    assert "Traceback" not in streamlit_server.log()


def test_a_protocol_visitor_notices_a_result_it_did_not_ask_for(streamlit_server, monkeypatch):
    """The check behind the test above can fail: a visitor whose hovers name one sample while the page
    shows another reports each of them."""
    from benchmarks import protocol_load
    original = protocol_load.Visitor._event

    async def hover_elsewhere(self, event, sample_id):  # sends a different sample than the one checked
        other = next(i for i in self.page.sample_ids if i not in (sample_id, self.pinned))
        await original(self, event, other)

    monkeypatch.setattr(protocol_load.Visitor, "_event", hover_elsewhere)
    timings, errors = asyncio.run(protocol_load.drive(streamlit_server.url, sessions=1, seconds=2))
    assert timings["hover"] and len(errors) == len(timings["hover"]) + len(timings["pin"])
    assert all("did not show its result" in e for e in errors)


@pytest.mark.browser
def test_no_element_reaches_a_visitor_as_a_reference_to_its_message_cache(browser_page, streamlit_server,
                                                                          screenshot):
    """Streamlit may send an unchanged element as a reference to the browser's message cache; after a pin
    (st.rerun in the inspector fragment) it can refer to an entry the browser has dropped, which kills
    the page ("Cached ForwardMsg MISS"; 3 visitors on 2 busy cores: 5 runs in 28). The app turns that
    cache off (.streamlit/config.toml): switching layers and pinning, the page gets whole elements only."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from harness.browser import PINNED_JS, POINTS_JS, inspector_id, layer_ids, switch_layer
    page, frames, console = browser_page, [], []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload)))
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.goto(f"{streamlit_server.url}/Explorer")
    page.wait_for_selector(".st-key-datamap .js-plotly-plot .gtitle", timeout=120000)
    for layer_id in layer_ids(page)[2:5]:
        switch_layer(page, layer_id)
        for _ in range(2):  # a pin runs the whole page again
            pinned = inspector_id(page)
            x, y, sample_id = next(p for p in page.evaluate(POINTS_JS) if p[2] != pinned)
            page.mouse.move(x, y)
            page.mouse.click(x, y)
            try:
                page.wait_for_function(PINNED_JS, arg=sample_id, timeout=30000)
            except Exception as exc:
                screenshot("load-pin-not-shown")
                raise AssertionError(f"sample {sample_id} was not pinned; the page's errors: {console}") from exc
    messages = [ForwardMsg.FromString(f) for f in frames if isinstance(f, bytes)]
    assert len(messages) > 50  # the page, three layers and six pins came over this socket
    assert sum(m.WhichOneof("type") == "delta" for m in messages) > 20
    assert [m.ref_hash for m in messages if m.WhichOneof("type") == "ref_hash"] == []


def test_ordinary_visitors_see_no_error_beside_heavy_sql_and_a_crafted_selection(streamlit_server):
    """The hostile mix's protocol visitors (benchmarks/hostile_protocol.py) really attack: a SQL tab
    runs the heaviest queries, a crafted select event sends 2,000,000 ids; two ordinary visitors beside
    them see every result they ask for, and the server logs no traceback."""
    from benchmarks import protocol_load
    from benchmarks.hostile import HEAVY_SQL
    from benchmarks.hostile_protocol import CraftedSelection, ProtocolHostile, SqlTab
    url = streamlit_server.url

    async def scenario():
        attack = ProtocolHostile(None, url, None)
        hostile = asyncio.gather(SqlTab("heavy sql", url, attack, HEAVY_SQL).run(),
                                 CraftedSelection(url, attack).run(), return_exceptions=True)
        timings, errors = await protocol_load.drive(url, sessions=2, seconds=6)
        for _ in range(240):  # the first crafted selection answered (it takes seconds on a busy machine)
            if attack.timings.get("crafted selection"):
                break
            await asyncio.sleep(0.5)
        attack.stop.set()
        hostile.cancel()
        await asyncio.gather(hostile, return_exceptions=True)
        return timings, errors, attack.summary()

    # a loop of its own, in a thread of its own: the browser tests' Playwright keeps one running here
    with ThreadPoolExecutor(1) as apart:
        timings, errors, hostile = apart.submit(asyncio.run, scenario()).result()
    assert errors == []
    assert {"layer switch", "hover", "pin"} <= set(timings)
    assert hostile["outcomes"].get("crafted selection: answered", 0) >= 1, hostile
    assert "Traceback" not in streamlit_server.log()
