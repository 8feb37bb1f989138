"""A published catalog made compact: smaller where no view can tell the difference.

`scripts.publish --compact` (and the committed demo) write four things with less precision than a build
keeps, and the manifest says which (`published.compact`):

- the channel statistics (mean, entropy, score) rounded to 11 significant bits, a float16's precision
  (3 decimal digits; the gallery shows two): the low mantissa bytes become zeros, which zstd then
  drops, so the table halves;
- guided backprop and guided Grad-CAM re-encoded as WebP at quality 75 with libwebp's best effort:
  noise-like textures whose look holds (about 33 dB PSNR against the build's quality-90 pictures) at
  40 % of the bytes; the model views (JPEG 90) as WebP at quality 80 (about 36 dB, 55 % of the bytes);
- Grad-CAM, a bilinear enlargement of the target layer's small map (7 x 7 for a 224 px view), stored
  as that small map: the grid whose enlargement (cv2's, as the overlay draws it) stays within a few grey
  levels of the stored picture, found by least squares; a PNG of about 120 bytes for one of 6 kB;
- each layer's PCA basis, mean and every sample's PCA features stored as float16: half the reference
  files, an upload's place on the maps moved by about a thousandth of the spread, 99.98 % of the
  demo's 10 nearest neighbours the same (the others near ties). t-SNE maps stay float32.

Types and columns do not change: a compact catalog is read as any other.
"""
from __future__ import annotations

import io
from functools import lru_cache

import cv2
import numpy as np
import pyarrow as pa
from PIL import Image

STAT_COLUMNS = {"channels": ("mean", "entropy", "score")}
WEBP_QUALITY = 75  # guided maps: noise-like, their look holds lower
VIEW_QUALITY = 80  # the model views, which people look at closely: about 36 dB against the build's JPEG
PICTURE_COLUMNS = {"explanations": {"guided": WEBP_QUALITY, "guided_gradcam": WEBP_QUALITY},
                   "images": {"image": VIEW_QUALITY}}
GRID_COLUMNS = {"explanations": ("gradcam",)}
REFERENCE_HALF = ("pca_components", "pca_mean", "features")
SIGNIFICANT_BITS = 11  # a float16's mantissa, its implicit bit included
WEBP_METHOD = 6  # libwebp's slowest, smallest effort: a publish is written once
GRID_TOLERANCE = 4  # grey levels: the uint8 grid cannot hold the peaks beyond 255 its enlargement rounds to
MIN_GRID_SHRINK = 4  # a grid finer than a quarter of the picture would save little: the picture is kept

DESCRIPTION = {
    "channels": f"mean, entropy, score rounded to {SIGNIFICANT_BITS} significant bits",
    "explanations": (f"guided, guided_gradcam as WebP quality {WEBP_QUALITY}; gradcam as its bilinear grid "
                     f"(enlarged within {GRID_TOLERANCE} grey levels)"),
    "images": f"image as WebP quality {VIEW_QUALITY}",
    "reference": "pca_components, pca_mean, features as float16",
}


def round_significant(values: np.ndarray, bits: int = SIGNIFICANT_BITS) -> np.ndarray:
    """float32 values rounded (to nearest, ties away) to `bits` significant bits; NaN and inf kept."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    raw = values.view(np.uint32)
    drop = 24 - bits  # float32 holds 24 significant bits
    rounded = ((raw + np.uint32(1 << (drop - 1))) & np.uint32((0xFFFFFFFF << drop) & 0xFFFFFFFF)).view(np.float32)
    return np.where(np.isfinite(values) & np.isfinite(rounded), rounded, values)


def _webp(data: bytes | None, quality: int) -> bytes | None:
    if data is None:
        return None
    with Image.open(io.BytesIO(data)) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="WEBP", quality=quality, method=WEBP_METHOD)
    return buffer.getvalue()


@lru_cache(maxsize=256)
def _enlargement(size: int, grid: int) -> tuple[np.ndarray, np.ndarray]:
    """cv2's bilinear resize of `grid` samples to `size` as a (size, grid) matrix, and its pseudo-inverse."""
    matrix = cv2.resize(np.eye(grid, dtype=np.float32), (size, grid), interpolation=cv2.INTER_LINEAR).T
    matrix = matrix.astype(np.float64)
    return matrix, np.linalg.pinv(matrix)


def bilinear_grid(picture: np.ndarray, tolerance: int = GRID_TOLERANCE) -> np.ndarray | None:
    """The smallest uint8 grid (of the picture's aspect) whose bilinear enlargement to the picture's size
    is within `tolerance` grey levels of it, or None when no grid of at most a quarter its size is."""
    height, width = picture.shape
    target = picture.astype(np.float64)
    for rows in range(1, height // MIN_GRID_SHRINK + 1):
        columns = max(1, round(rows * width / height))
        (_, left), (_, right) = _enlargement(height, rows), _enlargement(width, columns)
        grid = np.uint8(np.clip(np.round(left @ target @ right.T), 0, 255))
        enlarged = cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)
        if np.abs(enlarged.astype(np.int16) - picture).max() <= tolerance:
            return grid
    return None


def _grid_png(data: bytes | None) -> bytes | None:
    """A grayscale map as the PNG of its bilinear grid (the overlay enlarges it to the image); a map that
    is no enlargement of a small grid as it is."""
    if data is None:
        return None
    with Image.open(io.BytesIO(data)) as image:
        if image.mode != "L":
            return data
        grid = bilinear_grid(np.asarray(image))
    if grid is None:
        return data
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _replaced(table: pa.Table, column: str, encode) -> pa.Table:
    values = [encode(data) for data in table.column(column).to_pylist()]
    return table.set_column(table.schema.get_field_index(column), column,
                            pa.array(values, table.schema.field(column).type))


def compact_table(name: str, table: pa.Table, pictures: bool = True) -> pa.Table:
    """The table as a compact publish writes it (same schema); tables without lossy columns as they are.
    `pictures` False keeps the pictures' bytes (a catalog already compact: no second generation loss)."""
    for column in STAT_COLUMNS.get(name, ()):
        values = table.column(column).to_numpy(zero_copy_only=False).astype(np.float32)
        table = table.set_column(table.schema.get_field_index(column), column,
                                 pa.array(round_significant(values), table.schema.field(column).type))
    if not pictures:
        return table
    for column, quality in PICTURE_COLUMNS.get(name, {}).items():
        table = _replaced(table, column, lambda data, quality=quality: _webp(data, quality))
    for column in GRID_COLUMNS.get(name, ()):
        table = _replaced(table, column, _grid_png)
    return table


def compact_reference(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A layer's reference arrays with its PCA basis, mean and features as float16 (read back as float32);
    an array with values beyond float16's range stays float32."""
    def half(array: np.ndarray) -> np.ndarray:
        halved = array.astype(np.float16)
        return halved if np.array_equal(np.isfinite(halved), np.isfinite(array)) else array
    return {key: (half(array) if key in REFERENCE_HALF else array) for key, array in arrays.items()}
