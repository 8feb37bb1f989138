"""Everything the app shows about one new image (an upload), from one forward and one explanation.

The app only draws and caches: the model runs here. Predictions and every layer's reduction input
come from `core.placement.read_image`; Grad-CAM, guided backprop and guided Grad-CAM from
`core.explain` on the same 224 px view the model saw.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from torch import nn

from core import explain
from core.layers import LayerInfo
from core.models import LoadedModel
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


def analyse_image(loaded: LoadedModel, layers: list[LayerInfo], modules: dict[str, nn.Module],
                  image: Image.Image) -> ImageAnalysis:
    """Predictions, reduction inputs and the four encoded pictures of one RGB image.

    A model without a convolutional map to explain still gets its predictions and the view.
    """
    reading = read_image(loaded, layers, modules, image)
    view = loaded.preprocess.view(image.convert("RGB"))
    pictures = {"image": jpeg(view, VIEW_QUALITY)}
    try:
        target = explain.default_target_layer(loaded.model, list(modules), input_size=loaded.preprocess.crop)
        maps = explain.explain_batch(loaded.model, target, loaded.preprocess.normalize(view)[None],
                                     [int(reading.top_classes[0])])
        encoded = explain.encode(maps, 0)
        pictures.update(gradcam=overlay_jpeg(np.asarray(view), explain.decode(encoded["gradcam"]), OVERLAY_QUALITY),
                        guided=encoded["guided"], guided_gradcam=encoded["guided_gradcam"])
    except (ValueError, RuntimeError):
        pass
    return ImageAnalysis(reading.top_classes, reading.top_probs, reading.vectors, pictures)
