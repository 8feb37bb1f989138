"""Opening one image file safely: an RGB picture the models can use, or `BadImage(reason)`.

The policy: a bad file costs one skipped sample with a short reason in the build summary, never a
crash, and never a decode of something huge. Size and mode are judged from the header, before the
pixels are decoded. EXIF orientation is applied, so a phone photo comes out upright.

Each file is opened only by the decoders of the formats it may have: a dataset file by those of
`BUILD_FORMATS`, an upload by the one its first bytes name. Pillow's other decoders (PhotoCD and the
like) check no magic bytes, and would accept any file whose own format failed to parse.

Uploads (`load_rgb_bytes`) are stricter: only JPEG, PNG and WebP, recognised by their first bytes (not
by name, and not every format Pillow can open), and at most 16 megapixels.
"""

import io
import struct
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import BadImage

REASON_UNREADABLE = "unreadable file"
REASON_EMPTY = "empty file"
REASON_NOT_IMAGE = "not an image"
REASON_TOO_LARGE = "too large"
REASON_TOO_SMALL = "too small"
REASON_TRUNCATED = "truncated file"
REASON_CORRUPT = "corrupt image data"

UPLOAD_MAX_PIXELS = 16_000_000
UPLOAD_FORMATS = "JPEG, PNG or WebP"
BUILD_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
"""Pillow's names of the formats of `core.datasets.IMAGE_SUFFIXES` (a phone's MPO opens as JPEG)."""

_MALFORMED = (ValueError, SyntaxError, EOFError, IndexError, TypeError, ZeroDivisionError, struct.error)
"""What Pillow's parsers raise on a malformed file besides OSError: an oversized zTXt or iCCP chunk, a
tRNS entry outside the palette, a broken header field."""

_CONVERTIBLE_MODES = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "P", "PA", "LA"})
"""Colour or palette modes (possibly with alpha) that become RGB without a judgement call."""

_REJECTED_MODES: dict[str, str] = {
    "CMYK": "CMYK colour",
    "L": "grayscale",
    "1": "grayscale",
    "I;16": "16-bit",
    "I;16L": "16-bit",
    "I;16B": "16-bit",
    "I;16N": "16-bit",
    "I": "32-bit integer pixels",
    "F": "floating-point pixels",
}
"""Modes we skip: the models were trained on 8-bit RGB, and converting these changes the picture."""


def mode_problem(mode: str) -> str | None:
    """Why an image of this PIL mode is skipped, or None when it can be used."""
    if mode in _CONVERTIBLE_MODES:
        return None
    return _REJECTED_MODES.get(mode, f"unsupported colour mode {mode}")


def load_rgb(path: Path | str, *, min_side: int = 32, max_pixels: int = 40_000_000) -> Image.Image:
    """Open, check and fully decode one image as RGB, or raise BadImage with a short reason."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise BadImage(REASON_EMPTY)
    except OSError:
        raise BadImage(REASON_UNREADABLE) from None
    return _load(path, BUILD_FORMATS, min_side=min_side, max_pixels=max_pixels)


def upload_format(data: bytes) -> str | None:
    """"JPEG", "PNG" or "WEBP" when the first bytes say so, else None (whatever the file is called)."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def load_rgb_bytes(data: bytes, *, min_side: int = 32, max_pixels: int = UPLOAD_MAX_PIXELS) -> Image.Image:
    """`load_rgb` for an upload in memory: the same checks and reasons, but only JPEG, PNG or WebP
    (other formats Pillow could open are refused, naming the format) and a lower pixel cap."""
    if not data:
        raise BadImage(REASON_EMPTY)
    found = upload_format(data)
    if found is None:
        raise BadImage(_other_format(data))
    return _load(io.BytesIO(data), (found,), min_side=min_side, max_pixels=max_pixels)


def _other_format(data: bytes) -> str:
    """Why bytes that are not JPEG, PNG or WebP are refused: their format if Pillow knows it (from the
    header only), else "not an image"."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = image.format
    except Exception:  # anything Pillow cannot identify: not an image we could name
        return REASON_NOT_IMAGE
    return f"{found} files are not accepted (only {UPLOAD_FORMATS})" if found else REASON_NOT_IMAGE


def _load(source, formats: tuple[str, ...], *, min_side: int, max_pixels: int) -> Image.Image:
    """Open `source` with the decoders of `formats` only, check it, decode it, and return it as RGB."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=list(formats)) as image:
                _check_header(image, min_side=min_side, max_pixels=max_pixels)
                _decode(image)
                return _to_rgb(_upright(image))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(REASON_TOO_LARGE) from None
    except UnidentifiedImageError:
        raise BadImage(REASON_NOT_IMAGE) from None
    except OSError:
        raise BadImage(REASON_UNREADABLE) from None
    except _MALFORMED:
        raise BadImage(REASON_CORRUPT) from None


def _check_header(image: Image.Image, *, min_side: int, max_pixels: int) -> None:
    """Reject by size and mode using only what the header says."""
    width, height = image.size
    if width * height > max_pixels:
        raise BadImage(REASON_TOO_LARGE)
    if min(width, height) < min_side:
        raise BadImage(REASON_TOO_SMALL)
    problem = mode_problem(image.mode)
    if problem is not None:
        raise BadImage(problem)


def _decode(image: Image.Image) -> None:
    """Decode every pixel now, so a damaged file fails here rather than later in a batch."""
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        reason = REASON_TRUNCATED if "truncated" in str(error).lower() else REASON_CORRUPT
        raise BadImage(reason) from None


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says (a phone photo stored sideways); a damaged EXIF
    block is ignored rather than costing the image."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # Pillow raises several types on malformed EXIF
        return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert to RGB, compositing any transparency over white (how a viewer would show it)."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "RGBa", "PA", "LA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
