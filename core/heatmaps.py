"""Decoding stored explanation maps and laying a heatmap over an image: numpy, PIL and OpenCV only.

Kept apart from `core.explain` (which computes the maps with torch) so that browsing a catalog, which
only decodes what the builder stored, never imports torch.
"""
from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def decode(data: bytes) -> np.ndarray:
    """uint8 [H, W] for a Grad-CAM map, uint8 [H, W, 3] for an RGB map."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L" if image.mode in ("L", "P") else "RGB"))


def overlay(rgb_uint8: np.ndarray, cam: np.ndarray, image_weight: float = 0.5) -> np.ndarray:
    """The image under a JET heatmap of `cam` (float in [0, 1] or uint8), resized to the image."""
    cam8 = cam if cam.dtype == np.uint8 else np.uint8(np.round(np.clip(cam, 0, 1) * 255))
    height, width = rgb_uint8.shape[:2]
    if cam8.shape != (height, width):
        cam8 = cv2.resize(cam8, (width, height), interpolation=cv2.INTER_LINEAR)
    heatmap = cv2.cvtColor(cv2.applyColorMap(cam8, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    blend = image_weight * rgb_uint8.astype(np.float32) + (1 - image_weight) * heatmap
    return np.uint8(np.round(blend))
