import copy

import numpy as np
import pytest
import timm
import torch
import torchvision
from pytorch_grad_cam import GradCAM, GuidedBackpropReLUModel
from pytorch_grad_cam.utils.image import deprocess_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from core.explain import (
    Explanations,
    decode,
    default_target_layer,
    deprocess,
    encode,
    explain_batch,
    overlay,
)

HOOK_DICTS = ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_pre_hooks",
              "_forward_pre_hooks_with_kwargs", "_backward_hooks", "_backward_pre_hooks")


def pointwise(weight: list[list[float]]) -> nn.Conv2d:
    """A 1x1 conv without bias: on a 1x1 image it is a matrix product we can follow by hand."""
    conv = nn.Conv2d(len(weight[0]), len(weight), 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(weight)[:, :, None, None])
    return conv


def pixel(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)[:, None, None]


def small_net(inplace: bool = False) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=inplace), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(inplace=inplace),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5)).eval()


def test_guided_backprop_by_hand():
    # h = W1 x = (1, -2, 2) for x = (1, 2, 2); the logits are W2 relu(h).
    # Class 0 sends (2, 5, -4) back: unit 1 passes, unit 2 is off (h < 0), unit 3 gets a negative
    # gradient and is blocked, so the input gradient is 2 * W1[0] = (2, 2, -2) (plain: (2, 2, -6)).
    # Class 1 sends (-1, 1, 1): only unit 3 passes, giving W1[2] = (0, 0, 1).
    net = nn.Sequential(pointwise([[1, 1, -1], [0, -1, 0], [0, 0, 1]]), nn.ReLU(inplace=True),
                        pointwise([[2, 5, -4], [-1, 1, 1]]), nn.Flatten()).eval()
    images = torch.stack([pixel(1, 2, 2), pixel(1, 2, 2)])
    expl = explain_batch(net, net[1], images, [0, 1])
    np.testing.assert_array_equal(expl.guided[:, 0, 0], [[2, 2, -2], [0, 0, 1]])
    assert expl.guided.dtype == np.float32 and expl.guided.shape == (2, 1, 1, 3)


def test_relu6_passes_only_inside_its_linear_range():
    # h = (3, 7, -1, 2): unit 1 is inside (0, 6) and passes; unit 2 is clipped at 6, unit 3 is off;
    # unit 4 is inside but its gradient -1 is negative. So only W1[0] = (1, 1, 0) comes through.
    net = nn.Sequential(pointwise([[1, 1, 0], [1, 0, 2], [-1, 0, 0], [0, 1, 0]]),
                        nn.ReLU6(inplace=True), pointwise([[1, 1, 1, -1]]), nn.Flatten()).eval()
    expl = explain_batch(net, net[1], pixel(1, 2, 3)[None], [0])
    np.testing.assert_array_equal(expl.guided[0, 0, 0], [1, 1, 0])


def test_batched_guided_backprop_equals_the_package_one_sample_at_a_time():
    net = small_net()
    torch.manual_seed(1)
    images = torch.randn(3, 3, 16, 16)
    classes = [4, 0, 2]
    expl = explain_batch(net, net[4], images, classes)
    for b, c in enumerate(classes):
        reference = GuidedBackpropReLUModel(copy.deepcopy(net), device="cpu")(images[b:b + 1].clone(), c)
        np.testing.assert_allclose(expl.guided[b], reference, rtol=1e-5, atol=1e-7)
    assert np.abs(expl.guided).max() > 0


def test_gradcam_equals_the_package_and_batches_like_single_images():
    net = small_net()
    torch.manual_seed(2)
    images = torch.randn(3, 3, 16, 16)
    classes = [1, 3, 3]
    expl = explain_batch(net, net[3], images, classes)
    assert expl.gradcam.shape == (3, 16, 16) and expl.gradcam.dtype == np.float32
    assert expl.gradcam.min() >= 0 and expl.gradcam.max() <= 1 and expl.gradcam.max() > 0.99
    twin = copy.deepcopy(net)
    cam = GradCAM(twin, [twin[3]])
    try:
        reference = cam(images, [ClassifierOutputTarget(c) for c in classes])
    finally:
        cam.activations_and_grads.release()
    np.testing.assert_allclose(expl.gradcam, reference, atol=1e-5)
    for b, c in enumerate(classes):
        single = explain_batch(net, net[3], images[b:b + 1], [c])
        np.testing.assert_allclose(single.gradcam[0], expl.gradcam[b], atol=1e-5)
        np.testing.assert_allclose(single.guided[0], expl.guided[b], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(expl.guided_gradcam, expl.guided * expl.gradcam[..., None])


def test_the_shared_model_is_left_untouched():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
                        nn.Conv2d(4, 4, 3), nn.ReLU6(inplace=True), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)).eval()
    seen_by_user_hook = []
    user_hook = net[2].register_forward_hook(lambda *_: seen_by_user_hook.append(1))
    images = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        before = net(images)
    modules = list(net.modules())
    params = {name: (p, p.detach().clone()) for name, p in net.named_parameters()}
    buffers = {name: b.clone() for name, b in net.named_buffers()}
    seen_by_user_hook.clear()

    explain_batch(net, net[1], images, [0, 2])
    net.train()
    explain_batch(net, net[4], images, [1, 1])
    assert default_target_layer(net, input_size=12) is net[5]
    assert net.training and all(m.training for m in net.modules())
    net.eval()

    assert seen_by_user_hook == []  # the explanation never ran the shared model's hooks
    user_hook.remove()
    assert list(net.modules()) == modules
    assert [type(m) for m in net] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Conv2d, nn.ReLU6,
                                      nn.ReLU, nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear]
    assert (net[2].inplace, net[4].inplace, net[5].inplace) == (True, True, False)
    for name, p in net.named_parameters():
        assert p is params[name][0] and p.requires_grad and p.grad is None
        assert torch.equal(p, params[name][1])
    for name, b in net.named_buffers():
        assert torch.equal(b, buffers[name])
    for module in net.modules():
        for attr in HOOK_DICTS:
            assert not getattr(module, attr), (module, attr)
    with torch.no_grad():
        assert torch.equal(net(images), before)


def test_the_cached_twin_follows_weight_changes():
    net = small_net()
    images = torch.randn(2, 3, 16, 16)
    explain_batch(net, net[4], images, [0, 1])
    with torch.no_grad():
        net[0].weight.mul_(-2)  # in place: the twin aliases the storage
    net[3].weight = nn.Parameter(torch.randn_like(net[3].weight))  # a new tensor: rebuilt
    fresh = copy.deepcopy(net)
    got, want = (explain_batch(m, m[4], images, [0, 1]) for m in (net, fresh))
    np.testing.assert_allclose(got.guided, want.guided, rtol=1e-6)
    np.testing.assert_allclose(got.gradcam, want.gradcam, atol=1e-6)


def test_works_under_inference_mode_and_rejects_bad_arguments():
    net = small_net(inplace=True)
    with torch.inference_mode():
        images = torch.randn(2, 3, 16, 16)
        expl = explain_batch(net, net[4], images, np.array([3, 1]))
    assert len(expl) == 2 and np.abs(expl.guided).max() > 0
    with pytest.raises(ValueError, match="classes"):
        explain_batch(net, net[4], images, [3])
    with pytest.raises(ValueError, match="non-negative"):
        explain_batch(net, net[4], images, [3, -1])
    with pytest.raises(ValueError, match="not a module"):
        explain_batch(net, nn.ReLU(), images, [3, 1])


@pytest.fixture(scope="module")
def lite0() -> nn.Module:
    torch.manual_seed(0)
    return timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()


def test_default_target_layer_is_the_last_rectified_conv_map(lite0):
    vgg = torchvision.models.vgg11(weights=None).eval()
    assert default_target_layer(vgg, input_size=64) is vgg.features[19]
    names = [f"features.{i}" for i in range(19)]
    assert default_target_layer(vgg, names, input_size=64) is vgg.features[18]
    assert default_target_layer(lite0, input_size=64) is lite0.bn2
    assert default_target_layer(lite0, ["conv_head", "global_pool"], input_size=64) is lite0.conv_head
    resnet = torchvision.models.resnet18(weights=None).eval()  # its blocks call one ReLU twice
    assert default_target_layer(resnet, input_size=64) is resnet.layer4


def test_encode_is_compact_and_decodes_to_images(lite0):
    # A random network's guided maps are pixel noise, the hardest case for the codec.
    torch.manual_seed(3)
    expl = explain_batch(lite0, lite0.bn2, torch.randn(1, 3, 224, 224), [7])
    encoded = encode(expl, 0)
    assert set(encoded) == {"gradcam", "guided", "guided_gradcam"}
    assert all(len(data) < 30_000 for data in encoded.values()), {k: len(v) for k, v in encoded.items()}
    cam = decode(encoded["gradcam"])
    assert cam.dtype == np.uint8 and cam.shape == (224, 224)
    assert np.abs(cam / 255 - expl.gradcam[0]).max() <= 0.5 / 255 + 1e-6  # lossless up to 8 bits
    for key in ("guided", "guided_gradcam"):
        rgb = decode(encoded[key])
        assert rgb.dtype == np.uint8 and rgb.shape == (224, 224, 3)


def test_encode_keeps_smooth_maps_close():
    ramp = np.linspace(-1, 1, 64, dtype=np.float32)
    guided = np.stack([ramp[None, :] * np.ones((64, 1)), ramp[:, None] * np.ones((1, 64)),
                       np.zeros((64, 64))], axis=-1).astype(np.float32)[None]
    cam = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (64, 1))[None]
    encoded = encode(Explanations(cam, guided, guided * cam[..., None]), 0)
    for key, array in (("guided", guided), ("guided_gradcam", guided * cam[..., None])):
        error = np.abs(decode(encoded[key]).astype(float) - deprocess(array[0]))
        assert error.mean() < 1.5, key


def test_deprocess_matches_the_package():
    guided = np.random.default_rng(0).normal(size=(8, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(deprocess(guided), deprocess_image(guided))


def test_overlay_blends_a_heatmap_over_the_image():
    rgb = np.full((20, 30, 3), 100, np.uint8)
    cam = np.zeros((10, 15), np.float32)
    cam[:, 8:] = 1.0
    out = overlay(rgb, cam)
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    # JET: 0 is dark blue (0, 0, 128), 1 is dark red (128, 0, 0); half image, half heatmap.
    np.testing.assert_array_equal(out[0, 0], [50, 50, 114])
    np.testing.assert_array_equal(out[0, -1], [114, 50, 50])
    np.testing.assert_array_equal(overlay(rgb, np.uint8(cam * 255)), out)

