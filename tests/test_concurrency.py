"""Sessions share one model: two visitors running it at once each get their own image's activations."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from core.activations import activations
from core.layers import TracedModel
from core.models import LoadedModel
from core.placement import read_image
from core.preprocess import Preprocess

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
THREADS = 4
ROUNDS = 3


class _Slow(nn.Module):
    """Stands in for a heavy layer: it lets the other threads' forwards overlap this one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(0.01)
        return x


def _shared_model() -> LoadedModel:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), _Slow(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        _Slow(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
        nn.Flatten(), nn.Linear(32, 12),
    ).eval()
    return LoadedModel("tiny", "tiny", model, Preprocess(resize=40, crop=32), "seeded", True,
                       torch.device("cpu"))


def test_concurrent_activation_and_upload_runs_each_see_only_their_own_image():
    traced = TracedModel.trace(_shared_model())
    loaded, layers, modules = traced.loaded, traced.layers, traced.modules
    images = [Image.open(file).convert("RGB") for file in sorted(SAMPLE.glob("*.jpg"))[:THREADS]]
    tensors = [loaded.preprocess(image) for image in images]

    def activation_run(i: int) -> dict[int, np.ndarray]:
        return activations(loaded.model, layers, modules, tensors[i])

    def upload_run(i: int) -> dict[int, np.ndarray]:
        return read_image(traced, images[i]).vectors

    expected = {(kind, i): run(i) for i in range(THREADS)
                for kind, run in (("activations", activation_run), ("upload", upload_run))}
    assert not np.allclose(expected["activations", 0][3], expected["activations", 1][3])  # images differ

    start = threading.Barrier(2 * THREADS)

    def visitor(kind: str, i: int) -> list[dict[int, np.ndarray]]:
        run = activation_run if kind == "activations" else upload_run
        start.wait()
        return [run(i) for _ in range(ROUNDS)]

    with ThreadPoolExecutor(2 * THREADS) as pool:
        futures = {(kind, i): pool.submit(visitor, kind, i)
                   for i in range(THREADS) for kind in ("activations", "upload")}
        results = {key: future.result(timeout=60) for key, future in futures.items()}

    mixed = []
    for key, runs in results.items():
        for got in runs:
            want = expected[key]
            assert got.keys() == want.keys(), key
            mixed += [(key, layer_id) for layer_id in want if not np.allclose(got[layer_id], want[layer_id])]
    assert not mixed, f"{len(mixed)} layer results held another visitor's activations: {mixed[:5]}"
    assert all(not m._forward_hooks for m in loaded.model.modules())  # every hook came off
