"""The shared fixtures and hooks of the tests: one small real catalog (and a generated big one), the
app's environment, AppTest pages, and Streamlit servers with headless Chromium for the browser tests
(over `harness/`, which the benchmarks share). Plain helpers live in ordinary modules that tests import:
paths.py (where things are), apptest_tools.py (driving and reading an AppTest), pictures.py (made-up
image files)."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import subprocess
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import pytest

from builder import BuildConfig, NoProgress, build_catalog
from tests.apptest_tools import APP_TIMEOUT, check
from tests.paths import (
    ACTIVATION_CACHE_ENV,
    ARTIFACTS,
    CATALOG_DIR_ENV,
    DOWNLOAD_CACHE_ENV,
    LAYER_CAM_CACHE_ENV,
    REPO,
)


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
    fresh temporary folder (and layer CAMs in another)."""
    path, manifest = small_catalog
    cache = tmp_path / "cache"
    monkeypatch.setenv(CATALOG_DIR_ENV, str(path.parent))
    monkeypatch.setenv(ACTIVATION_CACHE_ENV, str(cache))
    monkeypatch.setenv(LAYER_CAM_CACHE_ENV, str(tmp_path / "layer-cams"))
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
        check(at.run())
        if tab:
            at.session_state["explorer_tab"] = tab
            check(at.run())
        return at

    yield open_page
    # a pin's Channel warm-up (app.state, 1.5 s after its gallery) must not fire into the next test
    from app import state
    with state._jobs_lock:
        timers = list(state._warm_timers.values())
        state._warm_timers.clear()
    for timer in timers:
        timer.cancel()
    futures.wait(list(state._warming.values()), timeout=60)


# --- the app in a browser ----------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    path: Path  # the catalog the server finds, the only one in its folder
    manifest: dict | None  # the small catalog's manifest (None for the generated catalog)
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def _serve(catalog_path: Path, manifest: dict | None, cache: Path, name: str) -> Iterator[Server]:
    """`streamlit run Home.py` on a free port over the folder of `catalog_path`, activations cached in
    `cache`, its log in test-artifacts/<name>-server.log; always stopped."""
    from harness.server import streamlit_server as serve
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}-server.log"
    env = {CATALOG_DIR_ENV: str(catalog_path.parent), ACTIVATION_CACHE_ENV: str(cache),
           LAYER_CAM_CACHE_ENV: str(cache.with_name(cache.name + "-layer-cams")), "PYTHONUNBUFFERED": "1"}
    with serve(log_path, env) as (url, process):
        yield Server(url, catalog_path, manifest, log_path, process)


@pytest.fixture
def streamlit_server(small_catalog, tmp_path, request) -> Iterator[Server]:
    """The app served over the small catalog for one test, with its own empty activation cache."""
    with _serve(*small_catalog, tmp_path / "cache", request.node.name) as server:
        yield server


@pytest.fixture(scope="module")
def shared_streamlit_server(small_catalog, tmp_path_factory, request) -> Iterator[Server]:
    """The app served over the small catalog for all tests of a module (quicker where no test needs a
    fresh server or activation cache)."""
    with _serve(*small_catalog, tmp_path_factory.mktemp("cache"), request.module.__name__) as server:
        yield server


@pytest.fixture(scope="module")
def generated_catalog_server(generated_catalog, tmp_path_factory, request) -> Iterator[Server]:
    """The app served over the generated catalog of 3000 samples for all tests of a module."""
    with _serve(generated_catalog, None, tmp_path_factory.mktemp("cache"), request.module.__name__) as server:
        yield server


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium (Debian's, with the project's launch arguments), one for the tests of a module."""
    from playwright.sync_api import sync_playwright

    from harness.browser import launch
    with sync_playwright() as p:
        browser = launch(p)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page_errors() -> list[str]:
    """JavaScript errors the browser page raised (filled in by `browser_page`)."""
    return []


@pytest.fixture
def browser_page(chromium, page_errors):
    """A fresh 1600x1100 page of `chromium` (its own cookies and storage), its JavaScript errors
    collected in `page_errors`; closed after the test."""
    page = chromium.new_page(viewport={"width": 1600, "height": 1100})
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    yield page
    page.close()


@pytest.fixture
def screenshot(browser_page) -> Callable[..., Path]:
    """`screenshot("1-explorer", full_page=False)`: the page as test-artifacts/1-explorer.png."""
    def take(name: str, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        target = ARTIFACTS / f"{name}.png"
        browser_page.screenshot(path=str(target), full_page=full_page)
        return target

    return take
