"""The gallery's forward runs beside the visitor's script runs: a slow one never holds the map's hovers,
its gallery shows once it ends, and a failed one says why and can be tried again."""
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
