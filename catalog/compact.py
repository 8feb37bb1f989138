"""A published catalog made compact: smaller where no view can tell the difference.

`scripts.publish --compact` (and the committed demo) write three things with less precision than a build
keeps, and the manifest says which (`published.compact`):

- the channel statistics (mean, entropy, score) rounded to 11 significant bits, a float16's precision
  (3 decimal digits; the gallery shows two): the low mantissa bytes become zeros, which zstd then
  drops, so the table halves;
- guided backprop and guided Grad-CAM re-encoded as WebP at quality 75 with libwebp's best effort:
  noise-like textures whose look holds (about 33 dB PSNR against the build's quality-90 pictures) at
  40 % of the bytes; Grad-CAM stays a lossless PNG;
- each layer's PCA basis and mean stored as float16: half the reference files, an upload's place on
  the maps moved by about a thousandth of the spread. Every sample's features and t-SNE maps stay
  float32, so neighbours and maps are the build's own.

Types and columns do not change: a compact catalog is read as any other.
"""
from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
from PIL import Image

STAT_COLUMNS = {"channels": ("mean", "entropy", "score")}
PICTURE_COLUMNS = {"explanations": ("guided", "guided_gradcam")}
REFERENCE_HALF = ("pca_components", "pca_mean")
SIGNIFICANT_BITS = 11  # a float16's mantissa, its implicit bit included
WEBP_QUALITY = 75
WEBP_METHOD = 6  # libwebp's slowest, smallest effort: a publish is written once

DESCRIPTION = {
    "channels": f"mean, entropy, score rounded to {SIGNIFICANT_BITS} significant bits",
    "explanations": f"guided, guided_gradcam as WebP quality {WEBP_QUALITY}",
    "reference": "pca_components, pca_mean as float16",
}


def round_significant(values: np.ndarray, bits: int = SIGNIFICANT_BITS) -> np.ndarray:
    """float32 values rounded (to nearest, ties away) to `bits` significant bits; NaN and inf kept."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    raw = values.view(np.uint32)
    drop = 24 - bits  # float32 holds 24 significant bits
    rounded = ((raw + np.uint32(1 << (drop - 1))) & np.uint32((0xFFFFFFFF << drop) & 0xFFFFFFFF)).view(np.float32)
    return np.where(np.isfinite(values) & np.isfinite(rounded), rounded, values)


def _webp(data: bytes | None) -> bytes | None:
    if data is None:
        return None
    with Image.open(io.BytesIO(data)) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return buffer.getvalue()


def compact_table(name: str, table: pa.Table, pictures: bool = True) -> pa.Table:
    """The table as a compact publish writes it (same schema); tables without lossy columns as they are.
    `pictures` False keeps the pictures' bytes (a catalog already compact: no second generation loss)."""
    for column in STAT_COLUMNS.get(name, ()):
        values = table.column(column).to_numpy(zero_copy_only=False).astype(np.float32)
        table = table.set_column(table.schema.get_field_index(column), column,
                                 pa.array(round_significant(values), table.schema.field(column).type))
    for column in PICTURE_COLUMNS.get(name, ()) if pictures else ():
        pictures = [_webp(data) for data in table.column(column).to_pylist()]
        table = table.set_column(table.schema.get_field_index(column), column,
                                 pa.array(pictures, table.schema.field(column).type))
    return table


def compact_reference(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A layer's reference arrays with its PCA basis and mean as float16 (read back as float32); an array
    with values beyond float16's range stays float32."""
    def half(array: np.ndarray) -> np.ndarray:
        halved = array.astype(np.float16)
        return halved if np.array_equal(np.isfinite(halved), np.isfinite(array)) else array
    return {key: (half(array) if key in REFERENCE_HALF else array) for key, array in arrays.items()}
