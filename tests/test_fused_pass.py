"""The builder's fused pass (one forward for statistics, predictions and explanations) against the
previous way, computed here the plain way: a no-grad forward for the statistics and predictions, the
grad-cam package's GradCAM and GuidedBackpropReLUModel for the explanations, one image at a time.
The tiny model uses nn.ReLU only: the package has no guided rule for ReLU6 (test_explain checks ours by
hand)."""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM, GuidedBackpropReLUModel
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from core.explain import _twin_of, default_target_layer
from core.images import load_rgb
from core.layers import trace_layers
from core.onepass import explained_batch
from core.preprocess import Preprocess
from core.stats import reduction_input
from tests.test_stats import reference_channel_stats

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
SIDE = 32


def tiny_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
        nn.Flatten(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 12),
    ).eval()


def real_images(count: int) -> torch.Tensor:
    preprocess = Preprocess(resize=SIDE, crop=SIDE)
    paths = sorted(SAMPLE.glob("*.jpg"))[:count]
    return torch.stack([preprocess(load_rgb(p)) for p in paths])


def reference_outputs(model: nn.Module, names: list[str], images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every named module's output in a plain no-grad forward."""
    outputs = {}
    handles = [model.get_submodule(name).register_forward_hook(
        lambda _m, _i, out, name=name: outputs.setdefault(name, out.clone())) for name in names]
    try:
        with torch.no_grad():
            outputs["output"] = model(images)
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def reference_explanations(model: nn.Module, target_name: str, images: torch.Tensor, classes: list[int]):
    """Grad-CAM and guided backprop by the grad-cam package, one image at a time."""
    gradcams, guided = [], []
    for image, c in zip(images, classes):
        twin = copy.deepcopy(model)
        cam = GradCAM(twin, [twin.get_submodule(target_name)])
        try:
            gradcams.append(cam(image[None], [ClassifierOutputTarget(c)])[0])
        finally:
            cam.activations_and_grads.release()
        guided.append(GuidedBackpropReLUModel(copy.deepcopy(model), device="cpu")(image[None].clone(), c))
    return np.stack(gradcams), np.stack(guided)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_one_forward_gives_the_statistics_and_explanations_of_the_plain_way(memory_format):
    # channels_last: conv weights as core.models loads them, checked against the plain way in the usual order
    model = tiny_cnn().to(memory_format=memory_format)
    layers, modules = trace_layers(model, SIDE)
    images = real_images(4)
    target = default_target_layer(model, list(modules), input_size=SIDE)
    with explained_batch(model, layers, modules, target, images) as (result, explain_top1):
        expl = explain_top1()

    model = tiny_cnn()
    outputs = reference_outputs(model, [layer.name for layer in layers[1:-1]], images)
    probs = outputs["output"].softmax(1)
    top = probs.topk(10, dim=1)
    np.testing.assert_array_equal(result.top_classes, top.indices.numpy())
    np.testing.assert_allclose(result.top_probs, top.values.numpy(), rtol=1e-5, atol=1e-6)
    for layer in layers:
        activations = images if layer.name == "input" else probs if layer.name == "output" else outputs[layer.name]
        summary = result.layers[layer.layer_id]
        np.testing.assert_allclose(summary.features, reduction_input(activations).numpy(), rtol=1e-5, atol=1e-6)
        if layer.is_map:
            for got, want in zip((summary.mean, summary.entropy, summary.score), reference_channel_stats(activations)):
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)

    target_name = next(name for name, module in modules.items() if module is target)
    gradcam, guided = reference_explanations(model, target_name, images, list(result.top_classes[:, 0]))
    np.testing.assert_allclose(expl.gradcam, gradcam, atol=1e-5)
    np.testing.assert_allclose(expl.guided, guided, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(expl.guided_gradcam, guided * gradcam[..., None], rtol=1e-4, atol=1e-7)
    assert np.abs(expl.guided).max() > 0 and expl.gradcam.max() > 0.99


def test_the_fused_pass_runs_each_conv_once(monkeypatch):
    model = tiny_cnn()
    layers, modules = trace_layers(model, SIDE)
    target = default_target_layer(model, list(modules), input_size=SIDE)
    calls = []
    plain = nn.Conv2d.forward
    monkeypatch.setattr(nn.Conv2d, "forward", lambda self, x: calls.append(1) or plain(self, x))
    with explained_batch(model, layers, modules, target, real_images(2)) as (_, explain_top1):
        explain_top1()
    assert len(calls) == 2  # two convs, one forward


def test_explaining_after_the_block_is_refused_and_hooks_are_gone():
    model = tiny_cnn()
    layers, modules = trace_layers(model, SIDE)
    target = default_target_layer(model, list(modules), input_size=SIDE)
    with explained_batch(model, layers, modules, target, real_images(1)) as (_, explain_top1):
        pass
    with pytest.raises(RuntimeError, match="block"):
        explain_top1()
    with pytest.raises(RuntimeError), explained_batch(model, layers, modules, target, torch.randn(1, 5, SIDE, SIDE)):
        pass
    twin = _twin_of(model).model
    assert all(not m._forward_hooks for m in [*model.modules(), *twin.modules()])
