"""The hostile visitors of benchmarks/hostile.py over Streamlit's own protocol, for
`python -m benchmarks.protocol_load --hostile`: on a small machine that other work keeps busy, seventeen
Chromium pages cannot even load, while websocket clients cost next to nothing and leave the cores to the
server under test. The SQL tabs and the crafted selection speak the protocol; the uploads go through
one Chromium page (benchmarks/hostile.py), the only way to send a file as a browser does.
"""
from __future__ import annotations

import asyncio
import json

from streamlit.proto.Alert_pb2 import Alert

from benchmarks import protocol_load
from benchmarks.hostile import BIG_RESULT_SQL, HEAVY_SQL, KEEPER_TABS, SELECTED_IDS, Hostile


class SqlTab(protocol_load.Visitor):
    """A session of the SQL page that runs `queries` one after another until `stop` is set."""

    def __init__(self, name: str, url: str, attack: "ProtocolHostile", queries: tuple[str, ...], pause: float = 0):
        super().__init__(0, url, 0, attack.timings, [], 0)
        self.name, self.attack, self.queries, self.pause = name, attack, queries, pause
        self.sql_hash = self.query_box = self.run_button = None
        self.said: str | None = None

    async def run(self) -> None:
        from websockets.asyncio.client import connect
        async with connect(self.ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=120,
                           compression=None) as ws:
            self.ws = ws
            await self._rerun()  # Home: the app's pages
            await self._rerun(page_hash=self.sql_hash)
            while not self.attack.stop.is_set():
                for query in self.queries:
                    widgets = {self.query_box: ("string_value", query), self.run_button: ("trigger_value", True)}
                    await self.attack.timed(self.name, self._query(widgets))
                await asyncio.sleep(self.pause)

    async def _query(self, widgets: dict) -> str:
        self.said = None
        await asyncio.wait_for(self._rerun(widgets=widgets, page_hash=self.sql_hash), 180)
        return self.said or "a result"

    def _pages(self, pages) -> None:
        super()._pages(pages)
        for page in pages:
            if page.url_pathname.lower() == "sql" or page.page_name.lower().endswith("sql"):
                self.sql_hash = page.page_script_hash

    def _delta(self, delta) -> None:
        super()._delta(delta)
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "text_area" and element.text_area.id.endswith("sql_query"):
            self.query_box = element.text_area.id
        elif kind == "button" and element.button.id.endswith("sql_run"):
            self.run_button = element.button.id
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            self.said = element.alert.body.split(":")[0][:90]


class CraftedSelection(protocol_load.Visitor):
    """An Explorer session whose plot bridge sends a select event of 2,000,000 ids, again and again."""

    def __init__(self, url: str, attack: "ProtocolHostile"):
        super().__init__(0, url, 0, attack.timings, [], 0)
        self.attack = attack

    async def run(self) -> None:
        from websockets.asyncio.client import connect
        event = json.dumps([{"event": "select", "value": list(range(SELECTED_IDS))}])
        async with connect(self.ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=120,
                           compression=None) as ws:
            self.ws = ws
            await self._rerun()
            await self._rerun(page_hash=self.explorer_hash)
            while not self.attack.stop.is_set():
                await self.attack.timed("crafted selection", self._select(event))
                await asyncio.sleep(2)

    async def _select(self, event: str) -> str:
        await asyncio.wait_for(self._rerun(widgets={self.page.bridge_trigger: ("json_trigger_value", event)},
                                           fragment=self.page.bridge_fragment, until_page=True), 180)
        if self.page.exceptions:
            return f"an exception on the page: {self.page.exceptions.pop()[:80]}"
        return "answered"


class ProtocolHostile(Hostile):
    """benchmarks/hostile.py's mix with the SQL tabs and the selection over websockets."""

    async def run(self) -> None:
        visitors = [("heavy sql 0", SqlTab("heavy sql 0", self.url, self, HEAVY_SQL).run()),
                    ("heavy sql 1", SqlTab("heavy sql 1", self.url, self, HEAVY_SQL).run()),
                    *((f"big result kept {i}", SqlTab("big result kept", self.url, self, (BIG_RESULT_SQL,), 5).run())
                      for i in range(KEEPER_TABS)),
                    ("crafted selection", CraftedSelection(self.url, self).run()),
                    ("hostile upload", self.uploads())]
        await asyncio.gather(*(self._survive(name, visitor) for name, visitor in visitors))
