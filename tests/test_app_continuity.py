"""The Explorer's view outlives other pages (AppTest, a real run of each page): Streamlit drops the keys
of widgets a page does not draw, so the view is kept where no widget owns it. And its first looks wait
for no model load: owner mode loads the model in the background, public mode never does."""
from __future__ import annotations

import threading
import time

from streamlit.testing.v1 import AppTest

from app.settings import PUBLIC_ENV

from tests.apptest_tools import APP_TIMEOUT, rerun, send_component
from tests.paths import REPO


def test_a_trip_to_about_and_back_keeps_the_explorers_view(app_env):
    at = rerun(AppTest.from_file(str(REPO / "Home.py"), default_timeout=APP_TIMEOUT))
    at.switch_page("pages/1_Explorer.py")
    rerun(at)
    layer = at.selectbox(key="layer_select").options[-3]
    rerun(at.selectbox(key="layer_select").select(layer))
    rerun(at.radio(key="method").set_value("pca"))
    rerun(at.selectbox(key="colour_by").set_value("predicted class"))
    rerun(at.segmented_control(key="map_filter").set_value("incorrect"))
    at.session_state["explorer_tab"] = "Neighbours"
    rerun(at)
    before = dict(at.query_params)
    layer_id = at.session_state.layer_id

    at.switch_page("pages/3_About.py")
    rerun(at)
    at.switch_page("pages/1_Explorer.py")
    rerun(at)
    assert at.session_state.layer_id == layer_id
    assert at.radio(key="method").value == "pca"
    assert at.selectbox(key="colour_by").value == "predicted class"
    assert at.segmented_control(key="map_filter").value == "incorrect"
    assert at.session_state.explorer_tab == "Neighbours"
    assert {k: at.query_params[k] for k in at.query_params} == {k: before[k] for k in before}


def test_the_explorer_loads_the_model_in_the_background(app_test, monkeypatch):
    """Owner mode: once the Explorer has drawn, the model loads without anyone asking, so the first
    gallery or Channel tab does not wait for it (here no browser reports the map drawn: it starts
    after PRELOAD_WAIT_S)."""
    from app import state
    monkeypatch.setattr(state, "_models", {})
    monkeypatch.setattr(state, "_preloads", set())
    monkeypatch.setattr(state, "_map_drawn", threading.Event())
    app_test("pages/1_Explorer.py")
    deadline = time.time() + 180
    while not state._models and time.time() < deadline:
        time.sleep(0.5)
    assert list(state._models) == [("efficientnet_lite0", "default")]


def test_public_mode_never_preloads_the_model(app_env, monkeypatch):
    from app import state
    monkeypatch.setenv(PUBLIC_ENV, "1")
    monkeypatch.setattr(state, "_preloads", set())
    before = threading.active_count()
    state.preload_model(str(app_env.path))
    assert state._preloads == set() and threading.active_count() == before


def test_the_model_preload_waits_until_a_browser_has_drawn_the_map(app_test, monkeypatch):
    """The preload's seconds of CPU would slow the browser drawing the first map on a small machine: it
    starts when the plot bridge reports the map drawn, not when the page's first run ends."""
    from app import state
    loaded_by = []
    monkeypatch.setattr(state, "model", lambda *key: loaded_by.append(threading.current_thread()))
    monkeypatch.setattr(state, "_preloads", set())
    monkeypatch.setattr(state, "_map_drawn", threading.Event())
    monkeypatch.setattr(state, "PRELOAD_WAIT_S", 600)
    before = set(threading.enumerate())
    at = app_test("pages/1_Explorer.py")
    preload = [t for t in threading.enumerate() if t.name == "layerscope-model-preload" and t not in before]
    assert len(preload) == 1
    preload[0].join(1.0)
    assert preload[0].is_alive() and preload[0] not in loaded_by  # asked for, and waiting
    send_component(at, "plot_bridge", event="drawn", value=True)
    preload[0].join(30)
    assert not preload[0].is_alive() and preload[0] in loaded_by
