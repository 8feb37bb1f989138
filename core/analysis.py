"""Everything the app shows about one new image (an upload), from one forward and one explanation.

The app only draws and caches: the model runs here. One forward (`core.onepass.explained_batch`, as
the builder's) gives the predictions and every layer's reduction input, and its graph serves the
backward of Grad-CAM, guided backprop and guided Grad-CAM, on the same 224 px view the model
saw. (It used to be three: a forward to read the image, a probing forward to find the Grad-CAM layer
on every upload, and the explanations' own forward.) The graph is freed when the block is left.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from torch import nn

from core import explain
from core.layers import TracedModel
from core.onepass import explained_batch
from core.pictures import jpeg, overlay_jpeg
from core.placement import read_image

VIEW_QUALITY = 90
OVERLAY_QUALITY = 88


@dataclass(frozen=True)
class ImageAnalysis:
    top_classes: np.ndarray  # (10,) class indices, most probable first
    top_probs: np.ndarray  # (10,)
    vectors: dict[int, np.ndarray]  # layer_id -> reduction input (D,)
    pictures: dict[str, bytes] = field(default_factory=dict)  # image, gradcam, guided, guided_gradcam


_targets: weakref.WeakKeyDictionary[nn.Module, nn.Module | None] = weakref.WeakKeyDictionary()


def target_layer(traced: TracedModel) -> nn.Module | None:
    """The model's Grad-CAM layer, found once per model (a probing forward); None when it has none."""
    loaded = traced.loaded
    if loaded.model not in _targets:
        try:
            _targets[loaded.model] = explain.default_target_layer(loaded.model, list(traced.modules),
                                                                  input_size=loaded.preprocess.crop)
        except ValueError:
            _targets[loaded.model] = None
    return _targets[loaded.model]


def analyse_image(traced: TracedModel, image: Image.Image) -> ImageAnalysis:
    """Predictions, reduction inputs and the four encoded pictures of one RGB image.

    A model without a convolutional map to explain still gets its predictions and the view.
    """
    loaded = traced.loaded
    view = loaded.preprocess.view(image.convert("RGB"))
    pictures = {"image": jpeg(view, VIEW_QUALITY)}
    target = target_layer(traced)
    if target is None:
        reading = read_image(traced, image)
        return ImageAnalysis(reading.top_classes, reading.top_probs, reading.vectors, pictures)
    batch = loaded.preprocess.normalize(view)[None].to(loaded.device)
    maps = None
    with explained_batch(loaded.model, traced.layers, traced.modules, target, batch) as (result, explain_top1):
        try:
            maps = explain_top1()
        except (ValueError, RuntimeError):
            pass
    if maps is not None:
        encoded = explain.encode(maps, 0)
        pictures.update(gradcam=overlay_jpeg(np.asarray(view), explain.decode(encoded["gradcam"]), OVERLAY_QUALITY),
                        guided=encoded["guided"], guided_gradcam=encoded["guided_gradcam"])
    vectors = {layer_id: summary.features[0] for layer_id, summary in result.layers.items()}
    return ImageAnalysis(result.top_classes[0], result.top_probs[0], vectors, pictures)
