"""The shared test fixtures: one small real catalog, the app's environment, AppTest pages, a Streamlit
server with headless Chromium for the browser tests (over `harness/`, which the benchmarks share), and
small made-up images."""
from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import pytest
from PIL import Image

from builder import BuildConfig, NoProgress, build_catalog

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"  # screenshots and server logs of the browser tests (git-ignored)

# The environment variables the app reads, named here and nowhere else in tests/.
CATALOG_DIR_ENV = "LAYERSCOPE_CATALOG_DIR"  # where Home, the Explorer and the scripts look for catalogs
ACTIVATION_CACHE_ENV = "LAYERSCOPE_ACTIVATION_CACHE"  # where the Explorer's gallery caches computed activations
DOWNLOAD_CACHE_ENV = "LAYERSCOPE_CACHE"  # where datasets are downloaded and unpacked

APP_TIMEOUT = 180  # seconds one AppTest run may take (the first Explorer run loads the model)


# Fixtures that build a real catalog (tens of seconds once a run): a test that uses one is `slow`.
CATALOG_FIXTURES = {"small_catalog", "generated_catalog"}


def pytest_collection_modifyitems(config, items):
    """Tests that build a catalog are marked `slow`, so `-m "not slow and not browser"` is the quick
    suite; browser tests are skipped, before any fixture starts, where there is no Chromium or Playwright."""
    for item in items:
        if CATALOG_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    from harness.browser import CHROMIUM
    reason = None
    if not os.path.exists(CHROMIUM):
        reason = f"needs Debian's chromium at {CHROMIUM}"
    elif importlib.util.find_spec("playwright") is None:
        reason = "needs playwright (pip install -r requirements-dev.txt)"
    if reason:
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


# --- the catalog -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def small_catalog(tmp_path_factory) -> tuple[Path, dict]:
    """24 bundled images through EfficientNet-Lite0 with real weights; t-SNE at perplexities 3 and
    30, which is capped to 7 for 24 samples."""
    out = tmp_path_factory.mktemp("catalogs") / "lite0-sample-24"
    config = BuildConfig(dataset="sample", samples=24, perplexities=(3, 30), out=out, batch_size=8)
    return build_catalog(config, progress=NoProgress, log=lambda _: None)


@pytest.fixture(scope="session")
def generated_catalog(tmp_path_factory) -> Path:
    """A generated catalog (benchmarks/big_catalog.py) of 3000 samples over 60 classes: EfficientNet-Lite0's
    real layer graph, synthetic maps and predictions, the pictures of 60 bundled images reused."""
    from benchmarks.big_catalog import generate
    out = tmp_path_factory.mktemp("generated") / "generated-3000"
    return generate(3000, out, classes=60, log=lambda _: None)


# --- the app through AppTest -------------------------------------------------------------------------


class AppEnv(NamedTuple):
    path: Path  # the small catalog, the only one in its folder
    manifest: dict
    cache: Path  # the activation cache, empty at the start of each test


@pytest.fixture
def app_env(small_catalog, monkeypatch, tmp_path) -> AppEnv:
    """The app's environment: catalogs looked for beside the small catalog, activations cached in a
    fresh temporary folder."""
    path, manifest = small_catalog
    cache = tmp_path / "cache"
    monkeypatch.setenv(CATALOG_DIR_ENV, str(path.parent))
    monkeypatch.setenv(ACTIVATION_CACHE_ENV, str(cache))
    return AppEnv(path, manifest, cache)


@pytest.fixture
def catalog_dir_env(monkeypatch) -> Callable[[Path], None]:
    """Point the app (and scripts) at another folder of catalogs: `catalog_dir_env(folder)`."""
    return lambda folder: monkeypatch.setenv(CATALOG_DIR_ENV, str(folder))


@pytest.fixture
def download_cache(monkeypatch, tmp_path) -> Path:
    """Datasets download and unpack into a fresh temporary folder (returned), not ~/.cache."""
    folder = tmp_path / "download-cache"
    monkeypatch.setenv(DOWNLOAD_CACHE_ENV, str(folder))
    return folder


def _check(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def app_test(app_env):
    """Run one page of the app in AppTest against the small catalog: `app_test("pages/1_Explorer.py",
    params={...}, tab="Neighbours")` returns the AppTest after its first run (and after opening `tab`),
    asserting that no run raised."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()  # results cached by an earlier test (the process is shared) would hide this one's work

    def open_page(page: str, params: dict | None = None, tab: str | None = None):
        at = AppTest.from_file(str(REPO / page), default_timeout=APP_TIMEOUT)
        for key, value in (params or {}).items():
            at.query_params[key] = value
        _check(at.run())
        if tab:
            at.session_state["explorer_tab"] = tab
            _check(at.run())
        return at

    return open_page


def rerun(at):
    """Run the AppTest again (after changing a widget or the session state); assert nothing raised."""
    return _check(at.run())


def click_plotly_points(at, key: str, points: list[dict]):
    """What the browser sends when a user clicks (selects) `points` of the plotly chart with `key`:
    the chart's selection state, so its on_select callback runs; then the rerun's AppTest."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    chart = next((c for c in at.get("plotly_chart") if c.proto.id.endswith(key)), None)
    assert chart is not None, f"no plotly chart {key}"
    selection = {"selection": {"points": points, "point_indices": [p.get("point_index", 0) for p in points],
                               "box": [], "lasso": []}}
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=chart.proto.id, string_value=json.dumps(selection)))
    return _check(at._run(states))


def send_component(at, key: str, *, event: str | None = None, value=None, state: dict | None = None):
    """What a browser sends for the components-v2 element with `key`: one trigger `event` carrying
    `value` (the plot bridge's hover, click, select), or the element's `state` (the layer map's
    {"selected": id}); then the rerun's AppTest. Any JSON a visitor's browser could send."""
    from streamlit.components.v2.bidi_component.main import _make_trigger_id
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    element = next((e for e in at.get("bidi_component") if e.proto.id.endswith(key)), None)
    assert element is not None, f"no component {key}"
    sent = {}
    if event is not None:
        sent[_make_trigger_id(element.proto.id, "events")] = WidgetState(
            json_trigger_value=json.dumps([{"event": event, "value": value}]))
    if state is not None:
        sent[element.proto.id] = WidgetState(json_value=json.dumps(state))
    states = at._tree.get_widget_states()
    kept = [w for w in states.widgets if w.id not in sent]
    del states.widgets[:]
    states.widgets.extend(kept)
    for widget_id, widget in sent.items():
        widget.id = widget_id
        states.widgets.append(widget)
    return _check(at._run(states))


def chart_json(at, key: str = "datamap_chart") -> dict:
    """The plotly figure (data and layout) of the chart with `key` as sent to the browser, whether
    Streamlit's st.plotly_chart or the mounted chart of app/plotly_view.py draws it."""
    for chart in at.get("plotly_chart"):
        if chart.proto.id.endswith(key):
            return json.loads(chart.proto.spec)
    for element in at.get("bidi_component"):
        if element.proto.id.endswith(key):
            sent = json.loads(element.proto.json)
            return {"data": json.loads(sent["traces"]), "layout": json.loads(sent["layout"])}
    raise AssertionError(f"no plotly chart {key}")


def chart_spec(at, key: str = "datamap_chart") -> dict:
    """`chart_json` with its typed arrays (numpy arrays travel as {"dtype", "bdata", "shape"}) decoded
    into lists as plotly.js decodes them."""
    return decode_typed_arrays(chart_json(at, key))


def decode_typed_arrays(value):
    import base64

    import numpy as np
    if isinstance(value, dict):
        if isinstance(value.get("bdata"), str) and isinstance(value.get("dtype"), str):
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
            if value.get("shape") is not None:
                array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
            return array.tolist()
        return {k: decode_typed_arrays(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_typed_arrays(v) for v in value]
    return value


def page_text(at) -> str:
    """All markdown, captions and HTML of the page, as one string."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [h.proto.body for h in at.get("html")]
    return "\n".join(parts)


# --- the app in a browser ----------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    path: Path  # the small catalog the server finds
    manifest: dict
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()


def _artifact_name(request) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)


@pytest.fixture
def streamlit_server(small_catalog, tmp_path, request) -> Iterator[Server]:
    """`streamlit run Home.py` on a free port over the small catalog's folder, with its own activation
    cache; its log goes to test-artifacts/<test>-server.log. Stopped after the test."""
    from harness.server import streamlit_server as serve
    path, manifest = small_catalog
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"{_artifact_name(request)}-server.log"
    env = {CATALOG_DIR_ENV: str(path.parent), ACTIVATION_CACHE_ENV: str(tmp_path / "cache"),
           "PYTHONUNBUFFERED": "1"}
    with serve(log_path, env) as (url, _process):
        yield Server(url, path, manifest, log_path)


@pytest.fixture
def page_errors() -> list[str]:
    """JavaScript errors the browser page raised (filled in by `browser_page`)."""
    return []


@pytest.fixture
def browser_page(streamlit_server, page_errors):
    """A 1600x1100 page of headless Chromium (Debian's, with the project's launch arguments), its
    JavaScript errors collected in `page_errors`; the browser is closed after the test."""
    from playwright.sync_api import sync_playwright

    from harness.browser import launch
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            yield page
        finally:
            browser.close()


@pytest.fixture
def screenshot(browser_page) -> Callable[..., Path]:
    """`screenshot("1-explorer", full_page=False)`: the page as test-artifacts/1-explorer.png."""
    def take(name: str, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        target = ARTIFACTS / f"{name}.png"
        browser_page.screenshot(path=str(target), full_page=full_page)
        return target

    return take


# --- made-up images ----------------------------------------------------------------------------------


def _png_claiming_size(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (8, 8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # the IHDR chunk's width and height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # and its checksum
    return bytes(data)


@pytest.fixture
def png_claiming_size() -> Callable[[int, int], bytes]:
    """`png_claiming_size(width, height)`: the bytes of a tiny valid PNG whose header claims width x
    height (1-bit): cheap to make, huge to decode."""
    return _png_claiming_size


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG written chunk by chunk, each with its correct length and CRC."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunk(kind, data) for kind, data in chunks) + chunk(b"IEND", b"")


def _malformed_pngs() -> dict[str, bytes]:
    from PIL import PngImagePlugin
    side = 40
    rgb_header = b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit RGB
    rgb_pixels = b"IDAT", zlib.compress(b"".join(b"\0" + b"\x80" * 3 * side for _ in range(side)))
    palette_header = b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 3, 0, 0, 0)  # 8-bit palette
    palette_pixels = b"IDAT", zlib.compress(b"".join(b"\0" + b"\0" * side for _ in range(side)))
    oversized = zlib.compress(b"a" * (PngImagePlugin.MAX_TEXT_CHUNK + 1))  # 1 MB inflated, 1 kB stored
    return {
        "ztxt": _png([rgb_header, (b"zTXt", b"comment\0\0" + oversized), rgb_pixels]),
        "iccp": _png([rgb_header, (b"iCCP", b"profile\0\0" + oversized), rgb_pixels]),
        # a two-colour palette, and a tRNS chunk whose one transparent entry is index 300
        "trns": _png([palette_header, (b"PLTE", b"\xff\0\0\0\xff\0"), (b"tRNS", b"\xff" * 300 + b"\0"),
                      palette_pixels]),
    }


@pytest.fixture
def malformed_pngs() -> dict[str, bytes]:
    """PNGs with valid CRCs that Pillow refuses with ValueError: an oversized zTXt or iCCP chunk (over
    PngImagePlugin.MAX_TEXT_CHUNK inflated), a tRNS chunk naming a palette index out of range."""
    return _malformed_pngs()


def _photocd_behind(magic: bytes) -> bytes:
    """A PhotoCD image (768 x 512) whose first bytes are `magic`: Pillow's PhotoCD decoder looks only at
    offset 2048, so it opens this whatever the first bytes say."""
    data = bytearray(96 * 2048 + 768 * 512 * 3 // 2)
    data[:len(magic)] = magic
    data[2048:2055] = b"PCD_IPI"
    return bytes(data)


@pytest.fixture
def photocd_behind() -> Callable[[bytes], bytes]:
    """`photocd_behind(b"\\x89PNG\\r\\n\\x1a\\n")`: a PhotoCD image that starts like a PNG (or anything)."""
    return _photocd_behind
