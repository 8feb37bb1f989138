"""Explanations run on a twin of the shared model (`core.twins`): while one runs, other sessions'
gallery and upload forwards on the shared model go ahead, and no run's hooks see another's forward.

Tiny hand-made models; the waits are events with a generous bound, never timing asserts."""
from __future__ import annotations

import io
import threading

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch import nn

from app import layer_explain, state
from app.layer_explain import Subject
from core import twins
from core.activations import activations
from core.faithfulness import faithfulness
from core.forward import hooked, model_lock
from core.layer_cams import layer_cams
from core.layers import TracedModel
from core.models import LoadedModel
from core.preprocess import Preprocess

WAIT_S = 30.0  # a bound for a wait that, when the fix works, ends at once


def tiny() -> TracedModel:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 24, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, 5)).eval()
    return TracedModel.trace(LoadedModel("tiny", "tiny", model, Preprocess(resize=16, crop=16), "seeded",
                                         True, torch.device("cpu")))


def picture(seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8))


def subject(seed: int = 1) -> Subject:
    buffer = io.BytesIO()
    picture(seed).save(buffer, format="PNG")
    return Subject(f"upload-{seed}", "your image", buffer.getvalue(), pd.DataFrame())


@pytest.fixture
def traced(monkeypatch) -> TracedModel:
    model = tiny()
    monkeypatch.setattr(state, "model_for", lambda _path: model)
    return model


def test_a_twin_shares_the_weights_but_not_the_hooks():
    net = tiny().loaded.model
    x = torch.randn(1, 3, 16, 16)
    with twins.borrowed(net) as twin:
        assert twin is not net
        for mine, theirs in zip(twin.parameters(), net.parameters()):
            assert mine.data_ptr() == theirs.data_ptr() and not mine.requires_grad
        fired = []
        with hooked(net, [(net[0], lambda *_: fired.append("shared"))]):
            with hooked(twin, [(twin[0], lambda *_: fired.append("twin"))]):
                torch.testing.assert_close(twin(x), net(x))
        assert sorted(fired) == ["shared", "twin"]  # each forward fired its own model's hook only
        with torch.no_grad():
            net[6].bias.add_(1.0)  # a change in place shows through the alias
        torch.testing.assert_close(twin(x), net(x))
        with twins.borrowed(net) as second:
            assert second is not twin  # two runs at once: a twin each
    with twins.borrowed(net) as again:
        assert again in (twin, second)  # given back and kept for the next run


def test_a_model_moved_to_new_storage_gets_a_new_twin():
    net = tiny().loaded.model
    with twins.borrowed(net) as twin:
        pass
    net.double()
    with twins.borrowed(net) as fresh:
        assert fresh is not twin
        assert next(fresh.parameters()).dtype == torch.float64


def test_a_run_holds_a_twin_whose_layer_is_the_one_asked_for(traced):
    shared = traced.loaded.model
    with layer_explain._Run("catalog", subject(), "2") as run:
        assert run.model is not shared
        assert run.layer is run.model[2]
        assert run.layer.weight.data_ptr() == shared[2].weight.data_ptr()


def test_a_gallery_forward_goes_ahead_while_score_cam_runs_and_neither_sees_the_other(traced):
    shared = traced.loaded.model
    gallery_image = traced.loaded.preprocess(picture(7))
    alone = activations(shared, traced.layers, traced.modules, gallery_image)
    with layer_explain._Run("catalog", subject(), "2") as run:
        image = run.image
    cam_alone = layer_cams(shared, shared[2], image, 3, ["scorecam"], scorecam_batch=4)["scorecam"]

    during: dict = {}
    finished = threading.Event()

    def gallery() -> None:
        during.update(activations(shared, traced.layers, traced.modules, gallery_image))
        finished.set()

    def progress(done: int, _total: int) -> None:
        if done == 1:  # Score-CAM is under way, its hooks on: another visitor opens the gallery
            threading.Thread(target=gallery).start()
            finished.wait(WAIT_S)

    with layer_explain._Run("catalog", subject(), "2") as run:
        cam = layer_cams(run.model, run.layer, run.image, 3, ["scorecam"], progress=progress,
                         scorecam_batch=4)["scorecam"]
        assert finished.is_set()  # the gallery's forward did not wait for the explanation
    assert during.keys() == alone.keys()
    for layer_id, values in alone.items():
        np.testing.assert_array_equal(during[layer_id], values)
    np.testing.assert_allclose(cam, cam_alone, atol=1e-6)
    assert all(not m._forward_hooks for m in shared.modules())


def test_faithfulness_goes_ahead_while_another_session_holds_the_shared_model(traced):
    """Another session's hooked run holds the shared model's lock: the explanation scores on its twin
    meanwhile, and the other run's hook sees only that run's own forward."""
    shared = traced.loaded.model
    with layer_explain._Run("catalog", subject(), "2") as run:
        image = run.image
    cam = layer_cams(shared, shared[2], image, 3, ["gradcam"])["gradcam"]
    seen, holding, scored = [], threading.Event(), threading.Event()

    def other_session() -> None:
        with hooked(shared, [(shared[0], lambda _m, _i, out: seen.append(out.shape[0]))]):
            holding.set()
            scored.wait(WAIT_S)
            shared(image[None])

    thread = threading.Thread(target=other_session)
    thread.start()
    holding.wait()
    with layer_explain._Run("catalog", subject(), "2") as run:
        scores = faithfulness(run.model, run.image, 3, {"gradcam": cam}, percentiles=(30, 70), seed=5)
    other_still_running = thread.is_alive()  # it holds the lock until `scored` is set (or its wait ends)
    scored.set()
    thread.join()
    assert other_still_running
    assert seen == [1]
    assert scores == faithfulness(shared, image, 3, {"gradcam": cam}, percentiles=(30, 70), seed=5)
    assert model_lock(shared).acquire(blocking=False)
    model_lock(shared).release()
