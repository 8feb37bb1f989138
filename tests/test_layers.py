"""The layer graph is traced from the model itself, for VGG16 and for any other CNN."""
from collections import Counter

import pytest
from torch import nn

from core.layers import trace_layers
from core.models import load_model


def _no_hooks(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


@pytest.fixture(scope="module")
def vgg16():
    return load_model("vgg16", "random").model


def test_vgg16_has_every_layer(vgg16):
    layers, modules = trace_layers(vgg16, 224)
    kinds = Counter(layer.kind for layer in layers)
    assert len(layers) >= 37
    assert kinds["conv"] == 13 and kinds["pool"] == 6 and kinds["dense"] == 3
    assert kinds["relu"] == 13 + 2
    assert layers[0].kind == "input" and layers[0].shape == (3, 224, 224)
    assert layers[-1].kind == "output" and layers[-1].shape == (1000,)
    assert [layer.layer_id for layer in layers] == list(range(len(layers)))
    assert set(modules) == {layer.name for layer in layers[1:-1]}
    assert _no_hooks(vgg16)


def test_vgg16_shapes_funnel_down(vgg16):
    layers, _ = trace_layers(vgg16, 224)
    by_name = {layer.name: layer for layer in layers}
    assert by_name["features.0"].shape == (64, 224, 224)
    assert by_name["features.0"].params == 3 * 3 * 3 * 64 + 64
    assert by_name["features.30"].shape == (512, 7, 7)
    assert by_name["classifier.0"].shape == (4096,)


def test_identity_layers_say_so(vgg16):
    layers, _ = trace_layers(vgg16, 224)
    identities = {layer.name for layer in layers if layer.identity}
    # dropout in eval, and the 7x7 adaptive average pool on a map that is already 7x7
    assert identities == {"classifier.2", "classifier.5", "avgpool"}


@pytest.mark.parametrize("name, blocks", [("efficientnet_lite0", 16), ("torchvision:resnet18", 8)])
def test_other_cnns_use_the_same_path(name, blocks):
    model = load_model(name, "random").model
    layers, _ = trace_layers(model, 224)
    kinds = Counter(layer.kind for layer in layers)
    assert kinds["block"] == blocks
    assert layers[-1].shape == (1000,)
    assert 15 <= len(layers) <= 60
    assert _no_hooks(model)


def test_shared_module_counts_once():
    relu = nn.ReLU()
    model = nn.Sequential(nn.Conv2d(3, 4, 3), relu, nn.Conv2d(4, 4, 3), relu, nn.Flatten(), nn.LazyLinear(5))
    model(__import__("torch").zeros(1, 3, 8, 8))
    layers, _ = trace_layers(model, 8)
    assert [layer.kind for layer in layers] == ["input", "conv", "relu", "conv", "flatten", "dense", "output"]
