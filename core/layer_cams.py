"""Class activation maps at any spatial layer, by the grad-cam package's own methods.

Each method runs through `pytorch_grad_cam` itself on the model it is given (no re-implementation):
the app gives a twin of the shared model (`core.twins`), so that a run of up to a minute keeps no other
session's forward waiting. The package registers its own hooks on the target layer, so the whole run
holds that model's lock from `core.forward` and the package's hooks are released in `finally`; the
gradients a backward leaves on the parameters (a model that is no twin) are dropped there too. A counting hook on the model (through `core.forward`)
reports Score-CAM's masked forwards as progress and stops any method between forwards when the
caller's `should_stop` says so (a deadline or a cancel button); the stop is raised as `Cancelled`.

The methods run with one BLAS thread: EigenCAM's SVD (the package's `get_2d_projection`, a full SVD of
the [H*W, C] activations) is small, and numpy's BLAS threads started right after torch's forward
compete with torch's still-spinning threads for the cores: on 2 cores that made it several times
slower (about 3 s against 0.3 s for a 49 x 1280 matrix).

The functions take an image tensor (a catalog sample or an upload, preprocessed the same way).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from pytorch_grad_cam import (
    EigenCAM,
    GradCAM,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    XGradCAM,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from threadpoolctl import threadpool_limits
from torch import nn

from core.errors import LayerScopeError
from core.forward import hooked, model_lock

METHODS: dict[str, type] = {
    "gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "hirescam": HiResCAM, "xgradcam": XGradCAM,
    "layercam": LayerCAM, "eigencam": EigenCAM, "scorecam": ScoreCAM,
}
SLOW_METHODS = ("scorecam",)  # one masked forward per channel of the layer
FAST_METHODS = tuple(name for name in METHODS if name not in SLOW_METHODS)
SCORECAM_BATCH = 32  # masked images per forward (the package's `batch_size` attribute; its default is 16)

Progress = Callable[[int, int], None]  # (forwards done, forwards in all) of one slow method
ShouldStop = Callable[[], bool]


class Cancelled(LayerScopeError):
    """The caller's `should_stop` asked for the run to end (a deadline passed, or a cancel)."""


def deadline_after(seconds: float) -> ShouldStop:
    """A `should_stop` that turns true `seconds` from now."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() > end


def as_batch(image: torch.Tensor) -> torch.Tensor:
    """A preprocessed image [3, H, W] (or one-image batch) as a [1, 3, H, W] float batch."""
    if image.dim() == 3:
        image = image.unsqueeze(0)
    if image.dim() != 4 or image.shape[0] != 1:
        raise LayerScopeError(f"expected one preprocessed image [3, H, W], got shape {tuple(image.shape)}")
    return image.float()


def predicted_class(model: nn.Module, image: torch.Tensor) -> int:
    """The top-1 class of `image` (under the model's lock: another run's hooks must not see it)."""
    with model_lock(model), torch.no_grad():
        return int(model(as_batch(image)).argmax(dim=1)[0])


def layer_cams(model: nn.Module, target_layer: nn.Module, image: torch.Tensor, class_idx: int | None = None,
               methods: Sequence[str] = FAST_METHODS, *, progress: Progress | None = None,
               should_stop: ShouldStop | None = None, scorecam_batch: int = SCORECAM_BATCH) -> dict[str, np.ndarray]:
    """Each method's map of `image` for `class_idx` (None: the predicted class) at `target_layer`:
    float32 [H, W] in [0, 1] at the input's resolution, as the package returns it."""
    unknown = [name for name in methods if name not in METHODS]
    if unknown:
        raise LayerScopeError(f"unknown CAM method(s) {unknown}: use some of {list(METHODS)}")
    batch = as_batch(image)
    if class_idx is None:
        class_idx = predicted_class(model, batch)
    targets = [ClassifierOutputTarget(int(class_idx))]
    counter = _ForwardCounter(should_stop)
    maps: dict[str, np.ndarray] = {}
    with model_lock(model), hooked(model, [(model, counter)]), torch.enable_grad(), threadpool_limits(1, "blas"):
        for name in methods:
            cam = METHODS[name](model, [target_layer])
            counter.start(name, _forwards(name, target_layer, batch, scorecam_batch, model), progress)
            if name == "scorecam":
                cam.batch_size = scorecam_batch
            # the input asks for its gradient, so the target layer's map has one on a twin too, whose
            # parameters are frozen (`core.twins`); the package then records it
            given = batch.detach().clone().requires_grad_(True) if cam.uses_gradients else batch
            try:
                maps[name] = np.asarray(cam(input_tensor=given, targets=targets)[0], dtype=np.float32)
            finally:
                cam.activations_and_grads.release()
                model.zero_grad(set_to_none=True)
    return maps


def _forwards(name: str, target_layer: nn.Module, batch: torch.Tensor, scorecam_batch: int,
              model: nn.Module) -> int:
    """How many forwards the method runs: one, plus Score-CAM's masked batches (one per
    `scorecam_batch` channels of the target layer)."""
    if name != "scorecam":
        return 1
    channels = _channels(model, target_layer, batch)
    return 1 + math.ceil(channels / scorecam_batch)


def _channels(model: nn.Module, target_layer: nn.Module, batch: torch.Tensor) -> int:
    seen: list[int] = []
    with hooked(model, [(target_layer, lambda _m, _i, out: seen.append(out.shape[1]))]), torch.no_grad():
        model(batch)
    return seen[0]


class _ForwardCounter:
    """A forward hook on the whole model: counts the method's forwards, reports them, and raises
    `Cancelled` when `should_stop` turns true."""

    def __init__(self, should_stop: ShouldStop | None):
        self.should_stop = should_stop
        self.name, self.total, self.done, self.progress = "", 1, 0, None

    def start(self, name: str, total: int, progress: Progress | None) -> None:
        self.name, self.total, self.done = name, total, 0
        self.progress = progress if name in SLOW_METHODS else None
        self._check()
        if self.progress is not None:
            self.progress(0, total)

    def __call__(self, _module, _inputs, _output) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)
        self._check()

    def _check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Cancelled(f"{self.name}: stopped after {self.done} of {self.total} forwards")
