"""The Explain tab through AppTest against the small catalog (real EfficientNet-Lite0 weights): nothing
runs until asked, a method or class switch draws another map, faithfulness has its random row, layers
without a map and servers without the model say so, an upload gets the same panel, the method and
class survive another tab or page, a Stop click after a run has ended leaves no message, a session's run
waits for its stopped one, and public mode stops a slow method at its time limit with a message. A Stop
click mid-run is tested in a browser (tests/test_browser_explain_stop.py)."""
from __future__ import annotations

import re
import threading

import pytest
from streamlit.testing.v1 import AppTest

from app import layer_explain
from app.layer_explain import Busy, Gate
from catalog.publish import publish
from tests.apptest_tools import APP_TIMEOUT, check, rerun
from tests.paths import REPO

EXPLORER = "pages/1_Explorer.py"


@pytest.fixture(autouse=True)
def nothing_computed_yet(monkeypatch):
    """Each test starts from an empty process-wide store (its disk cache is a fresh folder already)."""
    from app.bounded import BoundedStore
    for name in ("_maps", "_scores", "_concepts"):
        monkeypatch.setattr(layer_explain, name, BoundedStore(8))


def _html(at) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def _shown_map(at) -> tuple[str, str] | None:
    """(method, picture data URL) of the layer CAM on screen, or None."""
    found = re.search(r'data-testid="layer-cam" data-method="([^"]+)".*?<img src="([^"]+)"', _html(at), re.S)
    return (found.group(1), found.group(2)) if found else None


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return "\n".join(parts + [w.value for w in at.warning] + [e.value for e in at.error])


def _explained(at, prefix: str = "explain"):
    return rerun(at.button(key=f"{prefix}_explain").click())


def test_nothing_is_computed_until_asked_then_a_method_switch_draws_another_map(app_test):
    at = app_test(EXPLORER, tab="Explain")
    assert _shown_map(at) is None  # the first load computes nothing
    assert at.button(key="explain_explain").label == "Explain at this layer"
    _explained(at)
    method, gradcam = _shown_map(at)
    assert method == "gradcam"
    at.session_state["explain_method"] = "eigencam"
    rerun(at)  # once asked, a switch computes at once: no second button
    method, eigencam = _shown_map(at)
    assert method == "eigencam" and eigencam != gradcam
    at.session_state["explain_method"] = "gradcam"
    rerun(at)
    assert _shown_map(at) == ("gradcam", gradcam)  # the same map again, from the cache


def test_choosing_another_class_of_the_top10_explains_that_class(app_test):
    at = app_test(EXPLORER, tab="Explain")
    _explained(at)
    _, predicted = _shown_map(at)
    choice = at.selectbox(key=f"explain_class_sample-{at.session_state.pinned}")
    assert "predicted" in choice.options[0] and len(choice.options) == 10
    rerun(choice.select_index(1))
    _, other = _shown_map(at)
    assert other != predicted
    name = re.sub(r"^2\. | \(.*$", "", choice.options[1])
    assert name in _html(at)  # the caption names the class it explains


def _choices(at, class_key: str) -> tuple:
    """What the Explain tab shows: the method, the class, the map, the faithfulness table, the concepts."""
    table = at.dataframe[0].value.to_dict() if at.dataframe else None
    return (at.segmented_control(key="explain_method").value, at.selectbox(key=class_key).value, _shown_map(at),
            table, re.findall(r'data-kind="(concept-\d+)"', _html(at)))


def test_method_class_and_results_survive_a_tab_switch_and_a_trip_to_another_page(app_env, monkeypatch):
    """Streamlit drops the keys of widgets a run does not draw (another tab, another page): the person's
    method and class come back, and what was computed shows again without computing it again."""
    at = rerun(AppTest.from_file(str(REPO / "Home.py"), default_timeout=APP_TIMEOUT))
    at.switch_page(EXPLORER)
    rerun(at)
    at.session_state["explorer_tab"] = "Explain"
    rerun(at)
    _explained(at)
    rerun(at.segmented_control(key="explain_method").set_value("eigencam"))
    class_key = f"explain_class_sample-{at.session_state.pinned}"
    predicted = at.selectbox(key=class_key).value
    rerun(at.selectbox(key=class_key).select_index(2))
    rerun(at.button(key="explain_measure_button").click())
    rerun(at.button(key="explain_find_concepts_button").click())
    before = _choices(at, class_key)
    assert before[0] == "eigencam" and before[1] != predicted
    assert before[2][0] == "eigencam" and before[3] and len(before[4]) == layer_explain.CONCEPTS

    def no_computing(*_args, **_kwargs):
        raise AssertionError("computed again")
    for name in ("compute_map", "compute_scores", "compute_concepts"):
        monkeypatch.setattr(layer_explain, name, no_computing)
    at.session_state["explorer_tab"] = "Neighbours"
    rerun(at)
    assert not at.get("segmented_control") or not any(
        w.key == "explain_method" for w in at.get("segmented_control"))  # the Explain tab did not run
    at.session_state["explorer_tab"] = "Explain"
    rerun(at)
    assert _choices(at, class_key) == before
    at.switch_page("pages/3_About.py")
    rerun(at)
    at.switch_page(EXPLORER)
    rerun(at)
    assert at.session_state.explorer_tab == "Explain"
    assert _choices(at, class_key) == before


def test_faithfulness_rows_every_fast_method_and_the_random_baseline(app_test):
    at = app_test(EXPLORER, tab="Explain")
    assert not at.dataframe  # slow: only on request
    rerun(at.button(key="explain_measure_button").click())
    assert len(at.dataframe) == 1
    assert not any(b.key == "explain_measure_button" for b in at.button)  # the table took its place
    table = at.dataframe[0].value
    assert list(table.index) == [layer_explain.METHOD_LABELS[m] for m in layer_explain.FAST] + ["random (baseline)"]
    assert {"ROAD combined", "confidence change", "beats random"} <= set(table.columns)
    assert table["ROAD combined"].notna().all()
    assert "not to be trusted" in _texts(at)


def test_score_cam_runs_on_its_own_button_and_concepts_name_their_classes(app_test):
    at = app_test(EXPLORER, tab="Explain")
    first = at.selectbox(key="layer_select").options[1]  # "1: conv_stem", 32 channels: one masked batch
    at.session_state.layer_id = at.session_state.layer_select = int(first.split(":")[0])
    at.session_state["explain_method"] = "scorecam"
    rerun(at)
    assert _shown_map(at) is None and "slow" in _texts(at)  # never started by a switch
    rerun(at.button(key="explain_run_slow_button").click())
    assert _shown_map(at)[0] == "scorecam"
    assert not any(b.key == "explain_run_slow_button" for b in at.button)  # the map took its place
    assert not any(b.key == "explain_stop" for b in at.button)  # the Stop button goes with the run
    rerun(at.button(key="explain_find_concepts_button").click())
    concepts = re.findall(r'data-kind="concept-\d+".*?<figcaption>Concept \d+: ([^<]+)</figcaption>', _html(at), re.S)
    assert len(concepts) == layer_explain.CONCEPTS
    assert all(re.search(r"\d+%", caption) for caption in concepts)  # each with the classes it supports


def test_a_stop_click_that_arrives_after_the_run_finished_leaves_no_stale_message(app_test):
    """The Stop button goes when the run ends; a click already on its way finds the map kept: no later
    Score-CAM (another layer) may say that it was stopped."""
    at = app_test(EXPLORER, tab="Explain")
    layers = at.selectbox(key="layer_select").options
    at.session_state.layer_id = at.session_state.layer_select = int(layers[1].split(":")[0])  # conv_stem
    at.session_state["explain_method"] = "scorecam"
    rerun(at)
    rerun(at.button(key="explain_run_slow_button").click())
    assert _shown_map(at)[0] == "scorecam"
    at.session_state["explain_stopped"] = True  # what the Stop click's callback does, in the next run
    rerun(at)
    assert _shown_map(at)[0] == "scorecam" and "stopped" not in _texts(at)
    at.session_state.layer_id = at.session_state.layer_select = int(layers[2].split(":")[0])
    rerun(at)
    assert at.button(key="explain_run_slow_button").label == "Run Score-CAM"
    assert "stopped" not in _texts(at)


def test_a_layer_without_a_spatial_map_says_so(app_test):
    at = app_test(EXPLORER, tab="Explain")
    last = at.selectbox(key="layer_select").options[-1]  # "23: output", the class probabilities
    at.session_state.layer_id = at.session_state.layer_select = int(last.split(":")[0])
    rerun(at)
    assert "has no spatial map" in _texts(at)
    assert not any(b.key == "explain_explain" for b in at.button)


def test_a_server_without_the_model_says_the_section_needs_it(app_test, monkeypatch):
    monkeypatch.setattr(layer_explain, "model_missing", lambda: "torch not installed")
    at = app_test(EXPLORER, tab="Explain")
    assert "need the model" in _texts(at)
    assert not any(b.key == "explain_explain" for b in at.button)


def test_an_upload_gets_the_same_explanations(app_test):
    at = app_test(EXPLORER, tab="Your image")
    rerun(at.selectbox(key="upload_pick").select(at.selectbox(key="upload_pick").options[3]))
    assert _shown_map(at) is None
    _explained(at, "upload_explain")
    assert _shown_map(at)[0] == "gradcam"


def test_the_gate_runs_one_computation_per_session_and_caps_the_process():
    gate = Gate(2, handover_s=0.05)
    gate.enter("a")
    with pytest.raises(Busy, match="still running"):
        gate.enter("a")
    gate.enter("b")
    with pytest.raises(Busy, match="other visitors"):
        gate.enter("c")
    gate.leave("a")
    gate.enter("c")  # a place freed is taken again


def test_a_sessions_new_run_waits_for_its_interrupted_run_to_give_its_place_back():
    """A Stop click reruns the page while the stopped computation runs on to its next progress report."""
    gate = Gate(1, handover_s=30)
    gate.enter("a")
    entered = threading.Event()
    rerun = threading.Thread(target=lambda: (gate.enter("a"), entered.set()))
    rerun.start()
    assert not entered.wait(0.3)  # waiting, not refused
    gate.leave("a")  # the interrupted run unwinds
    assert entered.wait(10)
    rerun.join()
    with pytest.raises(Busy, match="other visitors"):  # the rerun holds the place now
        gate.enter("b")


@pytest.fixture(scope="module")
def published_root(small_catalog, tmp_path_factory):
    root = tmp_path_factory.mktemp("published")
    publish(small_catalog[0], name="lite0-demo", root=root)
    return root


def test_public_mode_stops_score_cam_at_its_time_limit_with_a_message(published_root, monkeypatch, tmp_path):
    monkeypatch.setenv("LAYERSCOPE_PUBLIC", "1")
    monkeypatch.setenv("LAYERSCOPE_PUBLISHED_DIR", str(published_root))
    monkeypatch.setenv("LAYERSCOPE_CATALOG_DIR", str(tmp_path / "owner-catalogs"))
    monkeypatch.setenv("LAYERSCOPE_LAYER_CAM_CACHE", str(tmp_path / "layer-cams"))
    monkeypatch.setenv(layer_explain.LIMIT_ENV, "0")  # every computation is past its limit at once
    at = AppTest.from_file(str(REPO / EXPLORER), default_timeout=APP_TIMEOUT)
    check(at.run())
    at.session_state["explorer_tab"] = "Explain"
    at.session_state["explain_method"] = "scorecam"
    rerun(at)
    assert "This server stops it after 0 s" in _texts(at)
    rerun(at.button(key="explain_run_slow_button").click())
    assert "stopped: it ran past the time limit" in _texts(at)
    assert "public server limits each explanation" in _texts(at)
    assert _shown_map(at) is None
