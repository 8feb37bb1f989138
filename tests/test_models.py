"""Model registry: weights from the right place, preprocessing that travels with them, clear failures."""
import urllib.error

import pytest
import torch

from core.errors import WeightsUnavailable
from core.models import load_model, resolve_spec


def test_efficientnet_lite0_loads_real_weights_with_its_preprocessing():
    loaded = load_model("efficientnet_lite0")
    assert loaded.trained and "efficientnet-lite0" in loaded.weights
    assert loaded.preprocess.mean == (0.5, 0.5, 0.5) and loaded.preprocess.std == (0.5, 0.5, 0.5)
    assert loaded.preprocess.crop == 224 and loaded.preprocess.interpolation == "bicubic"
    assert loaded.label == "EfficientNet-Lite0"
    assert not loaded.model.training


def test_random_weights_are_labelled_untrained_and_activations_not_inplace():
    loaded = load_model("vgg16", "random")
    assert not loaded.trained and loaded.label == "VGG16 (untrained)"
    assert all(not getattr(m, "inplace", False) for m in loaded.model.modules())
    assert loaded.preprocess.mean == (0.485, 0.456, 0.406)


def test_random_weights_are_seeded():
    a, b = (load_model("torchvision:resnet18", "random").model for _ in range(2))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_offline_default_weights_name_the_ways_out(monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torchvision.models.VGG16_Weights.IMAGENET1K_V1.__class__, "get_state_dict", offline)
    with pytest.raises(WeightsUnavailable) as error:
        load_model("vgg16")
    message = str(error.value)
    assert "--weights PATH" in message and "--weights random" in message and "checkpoints" in message


def test_weights_from_a_file(tmp_path):
    source = load_model("torchvision:resnet18", "random").model
    with torch.no_grad():
        next(source.parameters()).add_(1.0)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    loaded = load_model("torchvision:resnet18", str(path))
    assert loaded.trained and loaded.weights == "file resnet18.pth"
    assert torch.equal(next(loaded.model.parameters()), next(source.parameters()))


@pytest.mark.parametrize("content, words", [
    (None, "no weights file"),
    (b"not a checkpoint", "not a readable"),
    ({"fc.weight": torch.zeros(3, 3)}, "do not fit"),
])
def test_bad_weight_files_are_refused_clearly(tmp_path, content, words):
    path = tmp_path / "w.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(WeightsUnavailable, match=words):
        load_model("torchvision:resnet18", str(path))


def test_any_torchvision_or_timm_name_resolves():
    assert resolve_spec("torchvision:alexnet").source == "torchvision"
    assert resolve_spec("resnet34").source == "torchvision"
    assert resolve_spec("timm:mobilenetv3_small_100").source == "timm"
    with pytest.raises(WeightsUnavailable, match="unknown model"):
        resolve_spec("no_such_net")
