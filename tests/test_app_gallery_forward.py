"""The gallery's forward runs beside the visitor's script runs: a slow one never holds the map's hovers,
its gallery shows once it ends, and a failed one says why and can be tried again. The Channel tab's maps
warmed on the same worker are waited for, never computed twice."""
from __future__ import annotations

import threading

import pytest

from app import state
from tests.apptest_tools import page_text, rerun, send_component

EXPLORER = "pages/1_Explorer.py"


def _cells(at) -> bool:
    return any(e.proto.id.endswith("gallery_grid") for e in at.get("bidi_component"))


@pytest.fixture
def fresh_gallery():
    from app.gallery import _gallery_items
    _gallery_items.clear()  # an earlier test in this process may have shown the same sample's gallery


def test_a_slow_forward_leaves_hovers_answered_and_its_gallery_shows_when_it_ends(
        app_env, app_test, fresh_gallery, monkeypatch):
    release = threading.Event()
    forward = state._forward_and_keep

    def held(*args):
        assert release.wait(60)
        forward(*args)
    monkeypatch.setattr(state, "_forward_and_keep", held)
    at = app_test(EXPLORER)
    pinned = at.session_state.pinned
    rerun(at.button(key="compute_activations").click())
    try:
        # the run has ended while the forward waits: the gallery says so, and the inspector still answers
        assert f"Computing the activations of #{pinned}" in page_text(at)
        assert not _cells(at)
        assert state.activations_job_running(str(app_env.path), pinned)
        other = next(i for i in range(5) if i != pinned)
        send_component(at, "plot_bridge", event="hover", value=other)
        assert f'data-sample-id="{other}"' in page_text(at)
    finally:
        release.set()
    state.activations_job(str(app_env.path), pinned).result(timeout=60)
    rerun(at)  # what the gallery's poll does once the forward has ended
    assert _cells(at)
    assert "Computing the activations" not in page_text(at)
    assert not [b for b in at.button if b.key == "compute_activations"]


def test_a_failed_forward_says_why_and_try_again_computes_it(app_env, app_test, fresh_gallery, monkeypatch):
    forward = state._forward_and_keep

    def failing(*args):
        raise RuntimeError("the model could not be loaded: weights missing")
    monkeypatch.setattr(state, "_forward_and_keep", failing)
    at = app_test(EXPLORER)
    rerun(at.button(key="compute_activations").click())
    assert [e.value for e in at.error] == ["The activations could not be computed: the model could not be loaded: "
                                           "weights missing"]
    assert not _cells(at)
    assert not state.has_activations_job(str(app_env.path), at.session_state.pinned)  # reported: forgotten
    monkeypatch.setattr(state, "_forward_and_keep", forward)
    rerun(at.button(key="retry_activations").click())
    assert not at.error
    assert _cells(at)


def test_a_failed_forward_nobody_views_again_is_not_kept(app_env, monkeypatch):
    """The worker's jobs are any session's: a failure whose visitor has left would be kept for good."""
    def failing(*args):
        raise RuntimeError("out of memory")
    monkeypatch.setattr(state, "_forward_and_keep", failing)
    job = state.activations_job(str(app_env.path), 3)
    with pytest.raises(RuntimeError):
        job.result(timeout=60)
    with state._jobs_lock:
        assert (str(app_env.path), 3) not in state._jobs
    assert not state.has_activations_job(str(app_env.path), 3)


def test_a_slow_forward_that_fails_says_why_when_it_ends(app_env, app_test, fresh_gallery, monkeypatch):
    release = threading.Event()

    def held_then_failing(*args):
        assert release.wait(60)
        raise RuntimeError("the model could not be loaded: weights missing")
    monkeypatch.setattr(state, "_forward_and_keep", held_then_failing)
    at = app_test(EXPLORER)
    pinned = at.session_state.pinned
    rerun(at.button(key="compute_activations").click())
    job = state.activations_job(str(app_env.path), pinned)  # the one the gallery waits on
    assert "Computing the activations" in page_text(at)
    release.set()
    with pytest.raises(RuntimeError):
        job.result(timeout=60)
    rerun(at)  # what the gallery's poll does once the forward has ended
    assert [e.value for e in at.error] == ["The activations could not be computed: the model could not be loaded: "
                                           "weights missing"]
    assert not state.has_activations_job(str(app_env.path), pinned)
    rerun(at)  # reported once: the next run offers to compute them again
    assert not at.error and [b for b in at.button if b.key == "compute_activations"]


def test_maps_the_worker_is_warming_are_waited_for_not_computed_again(app_env, monkeypatch):
    import catalog
    path = str(app_env.path)
    layer_id = int(catalog.open(app_env.path).execute(
        "SELECT max(layer_id) FROM layers WHERE height > 1").fetchone()[0])
    release, calls, batch = threading.Event(), [], state._batch_and_keep

    def held(*args):
        calls.append(threading.current_thread().name)
        if threading.current_thread().name.startswith("layerscope-activations"):
            assert release.wait(60)
        return batch(*args)
    monkeypatch.setattr(state, "_batch_and_keep", held)
    state.warm_layer_activations(path, layer_id, lambda: [0, 1, 2], delay_s=0)
    timer = threading.Timer(0.5, release.set)
    timer.start()
    try:
        maps = state.layer_activations(path, [0, 1, 2], layer_id)  # asked while the worker's forward is held
    finally:
        release.set()
        timer.cancel()
    assert len(calls) == 1 and calls[0].startswith("layerscope-activations")
    assert [m.shape for m in maps] == [m.shape for m in state.layer_activations(path, [2, 1, 0], layer_id)][::-1]
    assert len(calls) == 1  # every map on disk now


def test_a_warm_up_whose_maps_were_computed_during_its_delay_runs_no_forward(app_env, monkeypatch):
    import catalog
    path = str(app_env.path)
    layer_id = int(catalog.open(app_env.path).execute(
        "SELECT min(layer_id) FROM layers WHERE height > 1").fetchone()[0])
    calls, batch = [], state._batch_and_keep

    def counted(*args):
        calls.append(threading.current_thread().name)
        return batch(*args)
    monkeypatch.setattr(state, "_batch_and_keep", counted)
    state.warm_layer_activations(path, layer_id, lambda: [3, 4], delay_s=0.5)
    state.layer_activations(path, [3, 4], layer_id)  # the tab opened at once: it computes them itself
    for timer in list(state._warm_timers.values()):
        timer.join(timeout=10)
    assert calls == ["MainThread"] and not state._warming
