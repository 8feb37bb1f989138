"""Grad-CAM, guided backprop and guided Grad-CAM for a batch, and their compact encoding.

The model object is shared between app sessions, so it is never modified: the explanations run on a
cached *guided twin* of it, a structural copy whose parameters alias the original's storage (no extra
weight memory, in-place weight updates show through) and whose ReLU/ReLU6 modules are replaced by one
autograd function with a switchable backward rule. One forward and one backward then serve both
explanations: the plain gradient at the target layer's map for Grad-CAM (computed as the grad-cam
package's `GradCAM` does) and the guided gradient at the input. The layers after the target (the
classifier head) run on two copies of its map: Grad-CAM's copy, a leaf whose gradient comes back through
the head under the plain rule, and the input's copy, under the guided rule all the way down; so the
head's matrix products run once for both (VGG16's first dense layer is a 411 MB matrix read per
product). The builder's one pass runs its statistics hooks on that same forward
(`explainable_forward`). Every run on a twin holds the twin's lock from `core.forward`.
Only `nn.ReLU` and `nn.ReLU6` modules get the guided rule; a functional `F.relu` inside some
`forward` cannot be swapped and keeps its plain gradient.
"""
from __future__ import annotations

import io
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from PIL import Image
from torch import nn

from core.forward import Hook, hooked
from core.twins import aliased_copy, storage_key
from core.heatmaps import decode, overlay  # noqa: F401  (re-exported for callers that compute maps)

RGB_FORMAT = "WEBP"
RGB_QUALITY = 90
# libwebp's effort (0-6; PIL's default 4): 1 takes half the time (2.8-3.0 vs 5.3-6.1 ms a map) for
# files 0.2-3 % larger at the same fidelity (PSNR within 0.05 dB; docs/PERFORMANCE.md, "Settled measurements")
RGB_METHOD = 1


@dataclass(frozen=True)
class Explanations:
    """Per-sample maps at the input resolution, as numpy arrays."""

    gradcam: np.ndarray  # float32 [B, H, W] in [0, 1]
    guided: np.ndarray  # float32 [B, H, W, 3], raw guided-backprop input gradients
    guided_gradcam: np.ndarray  # float32 [B, H, W, 3] = guided * gradcam[..., None]

    def __len__(self) -> int:
        return len(self.gradcam)


class _Mode:
    """Shared by every guided activation of one twin: which backward rule is in force, and how many
    rows of a doubled head (2 x `head_rows` rows: Grad-CAM's copy first) keep the plain rule."""

    guided = False
    head_rows = 0


class _SwitchableReLU(torch.autograd.Function):
    """ReLU (or ReLU6 when `upper` is 6) whose backward is plain or guided, read at backward time.

    Plain: the gradient passes where the input lies strictly inside (0, upper), through the same
    kernels autograd uses for relu and hardtanh. Guided: negative gradients are zeroed as well, so it
    passes only where the input is in range and the gradient is positive.

    It keeps its output, not its input, for the backward: the output lies strictly inside (0, upper)
    exactly where the input does, and the next layer keeps the output anyway, so the input (the
    conv's map) can be freed: one saved map per conv + ReLU instead of two. In the doubled head (twice
    the batch's rows) the guided rule skips the first half, Grad-CAM's copy.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, upper: float | None, mode: _Mode) -> torch.Tensor:
        out = x.clamp_min(0) if upper is None else x.clamp(0, upper)
        ctx.save_for_backward(out)
        ctx.upper, ctx.mode = upper, mode
        ctx.plain_rows = mode.head_rows if mode.head_rows and x.shape[0] == 2 * mode.head_rows else 0
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors  # the output: inside (0, upper) where the input is
        if ctx.upper is None:
            passed = torch.ops.aten.threshold_backward(grad, x, 0)
        else:
            passed = torch.ops.aten.hardtanh_backward(grad, x, 0, ctx.upper)
        if ctx.mode.guided:  # in place on the fresh result: no second map-sized tensor
            passed[ctx.plain_rows:].clamp_min_(0)
        return passed, None, None


class _GuidedActivation(nn.Module):
    """Out-of-place stand-in for nn.ReLU / nn.ReLU6 inside the twin (inplace would break autograd)."""

    def __init__(self, upper: float | None, mode: _Mode):
        super().__init__()
        self.upper, self.mode = upper, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SwitchableReLU.apply(x, self.upper, self.mode)


@dataclass
class _Twin:
    model: nn.Module
    mode: _Mode
    key: list[tuple]


def _make_twin(model: nn.Module) -> _Twin:
    # Parameters are frozen aliases (so no weight gradients are ever computed or stored) and buffers
    # are shared (`core.twins.aliased_copy`); the ReLUs are swapped for the switchable ones.
    twin = aliased_copy(model)
    mode = _Mode()
    for module in twin.modules():
        for name, child in module.named_children():
            if type(child) is nn.ReLU:
                setattr(module, name, _GuidedActivation(None, mode))
            elif type(child) is nn.ReLU6:
                setattr(module, name, _GuidedActivation(6.0, mode))
    return _Twin(twin, mode, storage_key(model))


_twins: weakref.WeakKeyDictionary[nn.Module, _Twin] = weakref.WeakKeyDictionary()
_twins_lock = threading.Lock()


def _twin_of(model: nn.Module) -> _Twin:
    """The cached twin, rebuilt when the model's tensors moved; keyed weakly so models can be freed."""
    with _twins_lock:
        twin = _twins.get(model)
        if twin is None or twin.key != storage_key(model):
            twin = _twins[model] = _make_twin(model)
        return twin


def _module_name(model: nn.Module, target: nn.Module) -> str:
    for name, module in model.named_modules():
        if module is target:
            return name
    raise ValueError(f"target layer {type(target).__name__} is not a module of the model")


def explain_batch(model: nn.Module, target_layer: nn.Module, images: torch.Tensor,
                  class_idx: Sequence[int]) -> Explanations:
    """Grad-CAM at `target_layer`, guided backprop and guided Grad-CAM for each image's class.

    Runs in eval mode whatever the model's mode, one forward and one backward for the whole batch
    (samples are independent in eval mode, so summing the target logits gives each its own gradient).
    """
    _checked_classes(class_idx, images)
    with explainable_forward(model, target_layer, images) as forward:
        return forward.explain(class_idx)


class ExplainableForward:
    """One forward on the guided twin, input requiring grad, parameters frozen: its logits, and the
    backward that explains it (valid only inside `explainable_forward`'s block)."""

    def __init__(self, twin: _Twin, x: torch.Tensor, logits: torch.Tensor, target: list[torch.Tensor]):
        self._twin, self._x, self._logits, self._target = twin, x, logits, target
        self.logits = logits[:len(x)].detach()  # Grad-CAM's copy; the input's copy holds the same values
        self.open = True

    def explain(self, class_idx: Sequence[int]) -> Explanations:
        """One backward from the summed target logits of both copies of the head: Grad-CAM's copy gives
        the plain gradient at the target map, the input's copy the guided gradient at the input. It
        frees the graph; only the input and Grad-CAM's copy of the map get a gradient.
        """
        if not self.open:
            raise RuntimeError("explain() after its forward's block was left")
        classes = _checked_classes(class_idx, self._x)
        if not self._target:
            raise ValueError("the target layer was not reached by the forward")
        activation, plain_copy = self._target
        rows = torch.arange(len(classes), device=self._logits.device)
        picked = self._logits[rows, classes].sum() + self._logits[rows + len(classes), classes].sum()
        self._twin.mode.guided = True
        try:
            grads, guided = torch.autograd.grad(picked, (plain_copy, self._x))
        finally:
            self._twin.mode.guided = False
        gradcam = gradcam_maps(activation.detach(), grads, self._x.shape[-1], self._x.shape[-2])
        guided_np = guided.detach().permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)
        return Explanations(gradcam, guided_np, guided_np * gradcam[..., None])


@contextmanager
def explainable_forward(model: nn.Module, target_layer: nn.Module, images: torch.Tensor,
                        hooks: Sequence[tuple[str, Hook]] = ()) -> Iterator[ExplainableForward]:
    """Run the model's guided twin once on `images` (eval mode, gradients for the input only) and
    yield the forward, whose `explain(classes)` runs the backward.

    `hooks` are (module name, forward hook) pairs put on the twin's module of that name for this
    forward only, so one forward can also serve a caller's statistics; a hook after the target layer
    sees one copy of the doubled head, the batch's rows. The twin's lock is held and every hook removed
    however the block exits.
    """
    layer_name = _module_name(model, target_layer)
    twin = _twin_of(model)
    reference = next(model.parameters())
    rows = len(images)
    kept: list[torch.Tensor] = []

    def double_target(_module, _inputs, output):
        """The target map's first output goes on as two copies: Grad-CAM's (a leaf) and the input's."""
        if kept:  # a module called twice: its first map, as Grad-CAM's target
            return None
        plain_copy = output.detach().requires_grad_(True)
        kept.extend((output, plain_copy))
        return torch.cat((plain_copy, output))

    def one_copy(hook: Hook) -> Hook:
        def seen(module, inputs, output):
            doubled = isinstance(output, torch.Tensor) and output.dim() > 0 and output.shape[0] == 2 * rows
            return hook(module, inputs, output[:rows] if doubled else output)
        return seen

    module = twin.model.get_submodule
    on_twin = [(module(layer_name), double_target), *((module(name), one_copy(hook)) for name, hook in hooks)]
    with hooked(twin.model, on_twin), torch.inference_mode(False), torch.enable_grad():
        twin.mode.head_rows = rows
        forward = None
        try:
            x = images.detach().to(reference.device, reference.dtype).clone().requires_grad_(True)
            forward = ExplainableForward(twin, x, twin.model(x), kept)
            yield forward
        finally:
            if forward is not None:
                forward.open = False
            twin.mode.guided, twin.mode.head_rows = False, 0


def gradcam_maps(activations: torch.Tensor, grads: torch.Tensor, width: int, height: int) -> np.ndarray:
    """Grad-CAM as the grad-cam package computes it for one target layer, float32 [B, H, W] in [0, 1].

    Channel weights are the spatially averaged gradients; the weighted sum of the maps is rectified,
    scaled to [0, 1] per image, resized to the input (bilinear), rectified and scaled again.
    """
    acts, grads_np = activations.cpu().numpy(), grads.detach().cpu().numpy()
    weights = np.mean(grads_np, axis=(2, 3))
    cam = np.maximum((weights[:, :, None, None] * acts).sum(axis=1), 0)
    resized = np.maximum(_scaled(cam, (width, height)), 0)
    return _scaled(resized)


def _scaled(cams: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """Each map shifted to a zero minimum and divided by (1e-7 + max), then resized to `size` (w, h)."""
    out = []
    for cam in cams:
        cam = cam - np.min(cam)
        cam = cam / (1e-7 + np.max(cam))
        out.append(cv2.resize(np.float32(cam), size) if size is not None else cam)
    return np.float32(out)


def _checked_classes(class_idx: Sequence[int], images: torch.Tensor) -> list[int]:
    classes = [int(c) for c in class_idx]
    if images.ndim != 4 or len(classes) != len(images):
        raise ValueError(f"need images [B, 3, H, W] and B classes, got {tuple(images.shape)} "
                         f"and {len(classes)} classes")
    if any(c < 0 for c in classes):
        raise ValueError(f"class indices must be non-negative, got {classes}")
    return classes


def default_target_layer(model: nn.Module, layers: Sequence[str] | None = None,
                         input_size: int = 224) -> nn.Module:
    """The Grad-CAM layer: the last Conv2d's map, carried through the modules that keep its shape.

    One dummy forward records every module's output in completion order. From the last Conv2d with
    a 4D output, the target moves on through the following modules whose output has the same shape
    (norm, ReLU, a residual block or stage that ends there) and stops at the first that changes it
    (pooling). So the map is the rectified one the classifier head pools: VGG's last ReLU
    (`features.29` in VGG16), EfficientNet's `bn2` (BatchNorm + ReLU6), ResNet's `layer4`. Modules
    called more than once (a shared ReLU) are skipped, since Grad-CAM needs one activation; `layers`
    (module names, e.g. from `core.layers.trace_layers`) restricts the choice to those names.
    """
    order: list[tuple[str, tuple[int, ...]]] = []
    calls: dict[str, int] = {}

    def record(name: str):
        def hook(_module, _inputs, output):
            calls[name] = calls.get(name, 0) + 1
            if isinstance(output, torch.Tensor):
                order.append((name, tuple(output.shape)))
        return hook

    # The dummy forward runs on the twin: in eval mode whatever the model's mode (no running-stat
    # updates) and without firing hooks that other sessions put on the shared model.
    twin = _twin_of(model)
    named = [(name, module) for name, module in twin.model.named_modules() if name]
    reference = next(model.parameters())
    with hooked(twin.model, [(module, record(name)) for name, module in named]), torch.no_grad():
        twin.model(torch.zeros(1, 3, input_size, input_size, device=reference.device, dtype=reference.dtype))

    modules = dict(model.named_modules())
    convs = [i for i, (name, shape) in enumerate(order)
             if isinstance(modules[name], nn.Conv2d) and len(shape) == 4]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no Conv2d with a 4D output for Grad-CAM")
    allowed = set(layers) if layers is not None else set(modules)
    anchor_shape = order[convs[-1]][1]
    chosen = None
    for name, shape in order[convs[-1]:]:
        if shape != anchor_shape:
            break
        if name in allowed and calls[name] == 1:
            chosen = name
    if chosen is None:
        raise ValueError("no module among `layers` holds the last convolutional map")
    return modules[chosen]


def deprocess(guided: np.ndarray) -> np.ndarray:
    """grad-cam's `deprocess_image`, without importing the package: standardise, ×0.1, +0.5, clip."""
    x = (guided - np.mean(guided)) / (np.std(guided) + 1e-5)
    return np.uint8(np.clip(x * 0.1 + 0.5, 0, 1) * 255)


def _to_bytes(array: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def encode(expl: Explanations, i: int) -> dict[str, bytes]:
    """Sample i for the catalog: Grad-CAM as 8-bit grayscale PNG, the RGB maps as lossy WebP.

    The guided maps are stored deprocessed (as they are shown): their raw scale is meaningless
    to a viewer and lossy coding of 8-bit images is several times smaller than float arrays.
    """
    cam = np.uint8(np.round(np.clip(expl.gradcam[i], 0, 1) * 255))
    return {
        "gradcam": _to_bytes(cam, "PNG"),  # optimize=True: 3 % smaller, 8x the time (2/3 of all encoding)
        "guided": _to_bytes(deprocess(expl.guided[i]), RGB_FORMAT, quality=RGB_QUALITY, method=RGB_METHOD),
        "guided_gradcam": _to_bytes(deprocess(expl.guided_gradcam[i]), RGB_FORMAT,
                                    quality=RGB_QUALITY, method=RGB_METHOD),
    }
