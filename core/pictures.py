"""The pictures the app shows, encoded once here: JPEG of a view, and a heatmap over an image as JPEG.

Inspector, upload, channel view and the builder all show the same kind of picture; one encoder keeps
their look (colour map, blend, quality) the same everywhere.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from core.heatmaps import overlay

JPEG_QUALITY = 85


def jpeg(picture: np.ndarray | Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    """A uint8 RGB array or a PIL image as JPEG bytes."""
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def rgb_of(encoded: bytes) -> np.ndarray:
    """uint8 [H, W, 3] of an encoded picture (a stored view)."""
    with Image.open(io.BytesIO(encoded)) as image:
        return np.asarray(image.convert("RGB"))


def overlay_jpeg(rgb: np.ndarray | bytes, cam: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """`rgb` (uint8 [H, W, 3], or encoded bytes) under a JET heatmap of `cam` (float in [0, 1] or
    uint8, any size: resized to the image), as JPEG."""
    base = rgb_of(rgb) if isinstance(rgb, bytes) else rgb
    return jpeg(overlay(base, cam), quality)
