"""One forward per batch captures every layer; conv statistics are the conv's own, not the next ReLU's."""
import pytest
import torch
from torch import nn

from core.layers import trace_layers
from core.onepass import TOP_K, capturing, run_batch
from core.stats import channel_stats, reduction_input


def tiny_vgg(inplace: bool) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=inplace), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(inplace=inplace), nn.AdaptiveAvgPool2d(2),
        nn.Flatten(), nn.Linear(32, 12),
    ).eval()


@pytest.mark.parametrize("inplace", [False, True])
def test_conv_statistics_are_taken_before_the_relu(inplace):
    model = tiny_vgg(inplace)
    layers, modules = trace_layers(model, 16)
    images = torch.randn(3, 3, 16, 16)
    result = run_batch(model, layers, modules, images)
    conv = next(layer for layer in layers if layer.name == "0")
    expected = channel_stats(model[0](images))
    summary = result.layers[conv.layer_id]
    assert (summary.mean < 0).any()  # a ReLU output could not have a negative mean
    for got, want in zip((summary.mean, summary.entropy, summary.score), expected):
        assert torch.allclose(torch.from_numpy(got), want, atol=1e-6)
    assert torch.allclose(torch.from_numpy(summary.features), reduction_input(model[0](images)), atol=1e-6)


def test_every_layer_is_captured_in_one_forward():
    model = tiny_vgg(False)
    layers, modules = trace_layers(model, 16)
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    result = run_batch(model, layers, modules, torch.randn(4, 3, 16, 16))
    assert len(calls) == 1
    assert set(result.layers) == {layer.layer_id for layer in layers}
    for layer in layers:
        summary = result.layers[layer.layer_id]
        assert summary.features.shape[0] == 4
        assert (summary.mean is not None) == layer.is_map


def test_top10_is_the_softmax_ranking():
    model = tiny_vgg(False)
    layers, modules = trace_layers(model, 16)
    images = torch.randn(2, 3, 16, 16)
    result = run_batch(model, layers, modules, images)
    probs = model(images).softmax(1)
    top = probs.topk(TOP_K, dim=1)
    assert (result.top_classes == top.indices.numpy()).all()
    assert torch.allclose(torch.from_numpy(result.top_probs), top.values, atol=1e-6)
    output = result.layers[layers[-1].layer_id].features
    assert torch.allclose(torch.from_numpy(output), probs, atol=1e-6)


def test_hooks_are_removed_even_when_the_forward_fails():
    model = tiny_vgg(False)
    layers, modules = trace_layers(model, 16)
    with pytest.raises(RuntimeError):
        with capturing(model, layers, modules):
            model(torch.randn(1, 5, 16, 16))  # wrong channel count
    assert all(not m._forward_hooks for m in model.modules())
