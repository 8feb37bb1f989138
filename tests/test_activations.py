"""Full activation maps on request: a batch of images through one forward gives each image the maps it
would get alone (the Channel view computes its nine samples that way)."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from core.activations import activations, batch_activations
from core.forward import intra_op_threads
from core.layers import TracedModel
from core.models import LoadedModel
from core.preprocess import Preprocess

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def _tiny_model() -> LoadedModel:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 12),
    ).eval()
    return LoadedModel("tiny", "tiny", model, Preprocess(resize=40, crop=32), "seeded", True, torch.device("cpu"))


def test_a_batch_gives_each_image_the_maps_it_gets_alone():
    traced = TracedModel.trace(_tiny_model())
    loaded, layers, modules = traced.loaded, traced.layers, traced.modules
    images = [loaded.preprocess(Image.open(file).convert("RGB")) for file in sorted(SAMPLE.glob("*.jpg"))[:5]]
    batched = batch_activations(loaded.model, layers, modules, torch.stack(images))
    assert len(batched) == len(images)
    for image, got in zip(images, batched):
        alone = activations(loaded.model, layers, modules, image)
        assert got.keys() == alone.keys() == {layer.layer_id for layer in layers}
        for layer_id, want in alone.items():
            assert got[layer_id].shape == want.shape
            np.testing.assert_allclose(got[layer_id], want, rtol=1e-4, atol=1e-5)
    assert not np.allclose(batched[0][layers[1].layer_id], batched[1][layers[1].layer_id])  # images differ


def test_a_forward_on_one_thread_gives_the_same_maps_and_leaves_every_other_thread_its_own():
    """The gallery's forward runs on one thread (fast on a busy machine); the thread count comes back
    after it, however it ends, and no other thread's forward (an explanation, the Channel view) loses
    its threads meanwhile."""
    traced = TracedModel.trace(_tiny_model())
    loaded, layers, modules = traced.loaded, traced.layers, traced.modules
    image = loaded.preprocess(Image.open(sorted(SAMPLE.glob("*.jpg"))[0]).convert("RGB"))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        want = activations(loaded.model, layers, modules, image)
        other_ready, checked, seen = threading.Event(), threading.Event(), {}

        def other() -> None:
            torch.get_num_threads()  # this thread has used torch before the block starts
            other_ready.set()
            checked.wait(10)
            seen["threads"] = torch.get_num_threads()

        thread = threading.Thread(target=other)
        thread.start()
        other_ready.wait(10)
        with intra_op_threads(1):
            assert torch.get_num_threads() == 1
            got = activations(loaded.model, layers, modules, image)
            checked.set()
            thread.join(10)
        assert seen["threads"] == 2
        assert torch.get_num_threads() == 2
        for layer_id, maps in want.items():
            np.testing.assert_allclose(got[layer_id], maps, rtol=1e-4, atol=1e-5)
        with pytest.raises(RuntimeError), intra_op_threads(1):
            raise RuntimeError("a forward that fails")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
