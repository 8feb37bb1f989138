"""A sample's thumbnail: its model view shrunk to a small WebP, so a map can draw the pictures themselves
where they can be told apart. Made at build time from the crop the builder already holds, and stored in
the catalog, so a published catalog shows them without the original files."""
from __future__ import annotations

import io

from PIL import Image

THUMB_PX = 64  # the longer side, in pixels
THUMB_QUALITY = 70  # WebP quality: a 64 px picture needs little


def thumbnail(view: Image.Image, size: int = THUMB_PX, quality: int = THUMB_QUALITY) -> bytes:
    """`view` fitted into `size` x `size` (aspect kept), as WebP bytes."""
    small = view.convert("RGB")
    small.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="WEBP", quality=quality, method=4)
    return out.getvalue()
