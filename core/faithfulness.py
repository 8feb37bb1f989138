"""How faithful each explanation map is to the model, by the grad-cam package's own metrics.

For one image, one class and a set of maps (any method's, at any layer), every map is scored by
`pytorch_grad_cam.metrics` on the softmax probability of the class:

- `road_morf`: ROAD, most relevant first: the most relevant pixels (by the map) are replaced by noisy
  linear imputation; the package returns the probability change, which falls the more the map found
  what the model needs, so it is stored negated.
- `road_lerf`: ROAD, least relevant first: the least relevant pixels are imputed instead; the
  probability change (stays high when the map kept what matters).
- `road_combined`: the package's `ROADCombined`, (lerf - morf) / 2 over the same percentiles.
- `cam_mult_confidence_change`: `CamMultImageConfidenceChange`: the probability change when the
  image is multiplied by the map.

Every value is oriented so that higher means more faithful. A `random` map (uniform noise at the
layer's resolution, upscaled like the CAMs are) is scored beside them as the baseline. ROAD's
imputation draws torch noise; it runs under a forked, seeded generator, so the scores repeat and the
caller's random state is untouched. The metric forwards carry no hooks, so they need no model lock;
`should_stop` is checked before every one of them.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch
from pytorch_grad_cam.metrics.cam_mult_image import CamMultImageConfidenceChange
from pytorch_grad_cam.metrics.road import ROADCombined
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from torch import nn

from core.layer_cams import Cancelled, ShouldStop, as_batch

METRICS = ("road_morf", "road_lerf", "road_combined", "cam_mult_confidence_change")
RANDOM = "random"
# ROAD's thresholds: each is one imputation per map for each ordering (the slow part, a sparse solve
# per image); the package's default is every tenth, its ARCC metric uses four.
ROAD_PERCENTILES = (20, 50, 80)


def random_map(size: tuple[int, int], layer_size: tuple[int, int] = (7, 7), seed: int = 0) -> np.ndarray:
    """Uniform noise drawn at `layer_size` (height, width), upscaled bilinearly to `size` and scaled to
    [0, 1]: a baseline as smooth as a CAM at that layer, but blind to the image."""
    noise = np.random.default_rng(seed).random(layer_size).astype(np.float32)
    height, width = size
    upscaled = cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR)
    upscaled -= upscaled.min()
    return upscaled / max(float(upscaled.max()), 1e-8)


def faithfulness(model: nn.Module, image: torch.Tensor, class_idx: int, maps: dict[str, np.ndarray], *,
                 layer_size: tuple[int, int] = (7, 7), with_random: bool = True,
                 percentiles: Sequence[int] = ROAD_PERCENTILES, seed: int = 0,
                 should_stop: ShouldStop | None = None) -> dict[str, dict[str, float]]:
    """method -> metric -> value (higher: more faithful) for each map of `image` for `class_idx`,
    plus `random` (see `random_map`) unless `with_random` is false."""
    batch = as_batch(image)
    height, width = batch.shape[-2:]
    named = dict(maps)
    if with_random:
        named[RANDOM] = random_map((height, width), layer_size, seed)
    names = list(named)
    cams = np.stack([_checked_map(named[name], (height, width), name) for name in names])
    inputs = batch.expand(len(names), -1, -1, -1).contiguous()
    targets = [ClassifierOutputSoftmaxTarget(int(class_idx)) for _ in names]
    checked = _Checked(model, should_stop)
    with torch.no_grad():
        mult = CamMultImageConfidenceChange()(inputs, cams, targets, checked)
        road = ROADCombined(percentiles=list(percentiles))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            lerf = road.lerf_averager(inputs, cams, targets, checked)  # ROADCombined's order: lerf, then morf
            morf = road.morf_averager(inputs, cams, targets, checked)
    combined = (lerf - morf) / 2
    return {name: {"road_morf": float(-morf[i]), "road_lerf": float(lerf[i]),
                   "road_combined": float(combined[i]), "cam_mult_confidence_change": float(mult[i])}
            for i, name in enumerate(names)}


def _checked_map(cam: np.ndarray, size: tuple[int, int], name: str) -> np.ndarray:
    cam = np.asarray(cam, dtype=np.float32)
    if cam.shape != tuple(size):
        raise ValueError(f"the {name} map is {cam.shape}, the image {tuple(size)}")
    return cam


class _Checked:
    """The model as the metrics call it, asking `should_stop` before each forward."""

    def __init__(self, model: nn.Module, should_stop: Callable[[], bool] | None):
        self.model, self.should_stop = model, should_stop

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.should_stop is not None and self.should_stop():
            raise Cancelled("faithfulness: stopped before the next forward")
        return self.model(x)
