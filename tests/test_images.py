"""Every kind of bad image is skipped with its own short reason; good ones come back as RGB."""

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from core.errors import BadImage
from core.images import load_rgb
from tests.pictures import malformed_pngs, photocd_behind, png_claiming_size


def _save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _reason(path: Path, **kwargs) -> str:
    with pytest.raises(BadImage) as caught:
        load_rgb(path, **kwargs)
    return caught.value.reason


@pytest.fixture
def photo() -> Image.Image:
    return Image.effect_noise((64, 48), 40).convert("RGB")


def test_good_jpeg_comes_back_decoded_rgb(tmp_path, photo):
    image = load_rgb(_save(photo, tmp_path / "ok.jpg"))
    assert image.mode == "RGB" and image.size == (64, 48)
    image.getpixel((0, 0))  # decoded: the file is closed, pixels are still there


@pytest.mark.parametrize("mode", ["P", "RGBA", "LA"])
def test_palette_and_alpha_pngs_are_converted(tmp_path, photo, mode):
    image = load_rgb(_save(photo.convert(mode), tmp_path / f"{mode}.png"))
    assert image.mode == "RGB" and image.size == (64, 48)


def test_transparency_is_composited_over_white(tmp_path):
    clear = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    assert load_rgb(_save(clear, tmp_path / "clear.png")).getpixel((5, 5)) == (255, 255, 255)


def test_every_bad_kind_has_its_own_reason(tmp_path, photo):
    jpeg = _save(photo, tmp_path / "whole.jpg", quality=95).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (tmp_path / "noise.jpg").write_bytes(os.urandom(4096))
    (tmp_path / "empty.jpg").write_bytes(b"")
    reasons = {
        "cmyk": _reason(_save(photo.convert("CMYK"), tmp_path / "cmyk.jpg")),
        "16-bit": _reason(_save(Image.new("I;16", (64, 48), 40000), tmp_path / "deep.png")),
        "gray": _reason(_save(photo.convert("L"), tmp_path / "gray.png")),
        "tiny": _reason(_save(photo.resize((10, 10)), tmp_path / "tiny.png")),
        "truncated": _reason(tmp_path / "cut.jpg"),
        "random": _reason(tmp_path / "noise.jpg"),
        "empty": _reason(tmp_path / "empty.jpg"),
        "enormous": _reason(_write(tmp_path / "huge.png", png_claiming_size(30000, 30000))),
        "missing": _reason(tmp_path / "nowhere.jpg"),
    }
    assert reasons == {
        "cmyk": "CMYK colour",
        "16-bit": "16-bit",
        "gray": "grayscale",
        "tiny": "too small",
        "truncated": "truncated file",
        "random": "not an image",
        "empty": "empty file",
        "enormous": "too large",
        "missing": "unreadable file",
    }


def test_corrupt_pixel_data_is_not_called_truncated(tmp_path, photo):
    data = bytearray(_save(photo, tmp_path / "ok.png").read_bytes())
    start = data.index(b"IDAT") + 4
    data[start : start + 40] = os.urandom(40)
    (tmp_path / "bad.png").write_bytes(bytes(data))
    assert _reason(tmp_path / "bad.png") == "corrupt image data"


def test_enormous_is_judged_from_the_header_without_decoding(tmp_path, monkeypatch):
    big = _write(tmp_path / "big.png", png_claiming_size(9000, 9000))  # below PIL's own bomb limit
    huge = _write(tmp_path / "huge.png", png_claiming_size(30000, 30000))  # above it
    medium = _write(tmp_path / "medium.png", png_claiming_size(900, 900))

    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    assert _reason(big) == "too large"
    assert _reason(huge) == "too large"
    assert _reason(medium, max_pixels=10_000) == "too large"


def test_pil_bomb_warning_becomes_bad_image(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # warn above 1000 px, error above 2000 px
    path = _write(tmp_path / "warn.png", png_claiming_size(40, 40))
    assert _reason(path, max_pixels=10**9) == "too large"


def test_thresholds_are_parameters(tmp_path, photo):
    path = _save(photo, tmp_path / "ok.png")
    assert _reason(path, min_side=49) == "too small"
    assert _reason(path, max_pixels=64 * 48 - 1) == "too large"
    assert load_rgb(path, min_side=48, max_pixels=64 * 48).size == (64, 48)


def test_directory_is_unreadable(tmp_path):
    assert _reason(tmp_path) == "unreadable file"


def test_bytes_in_memory_follow_the_same_policy(tmp_path, photo, monkeypatch):
    from core.images import load_rgb_bytes

    def reason(data: bytes) -> str:
        with pytest.raises(BadImage) as caught:
            load_rgb_bytes(data)
        return caught.value.reason

    good = _save(photo, tmp_path / "ok.png").read_bytes()
    assert load_rgb_bytes(good).size == (64, 48) and load_rgb_bytes(good).mode == "RGB"
    jpeg = _save(photo, tmp_path / "whole.jpg", quality=95).read_bytes()
    assert reason(b"") == "empty file"
    assert reason(b"%PDF-1.4 not a picture at all" * 20) == "not an image"
    assert reason(jpeg[: len(jpeg) // 2]) == "truncated file"
    assert reason(_save(photo.convert("L"), tmp_path / "gray.png").read_bytes()) == "grayscale"
    huge = png_claiming_size(30000, 30000)

    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    assert reason(huge) == "too large"


def _upload_reason(data: bytes) -> str:
    from core.images import load_rgb_bytes
    with pytest.raises(BadImage) as caught:
        load_rgb_bytes(data)
    return caught.value.reason


@pytest.mark.parametrize("fmt", ["TIFF", "BMP", "GIF", "ICO"])
def test_uploads_in_other_formats_are_refused_by_content_though_pillow_opens_them(photo, fmt):
    buffer = io.BytesIO()
    photo.save(buffer, format=fmt)
    data = buffer.getvalue()
    Image.open(io.BytesIO(data)).load()  # Pillow could use it...
    reason = _upload_reason(data)  # ...but uploads take only JPEG, PNG and WebP
    assert fmt in reason and "JPEG, PNG or WebP" in reason


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_uploads_are_recognised_by_content_not_by_name(photo, fmt):
    from core.images import load_rgb_bytes, upload_format
    buffer = io.BytesIO()
    photo.save(buffer, format=fmt)
    assert upload_format(buffer.getvalue()) == fmt
    assert load_rgb_bytes(buffer.getvalue()).size == (64, 48)


def test_an_exif_rotated_phone_photo_comes_out_upright(tmp_path):
    from core.images import load_rgb_bytes
    upright = Image.new("RGB", (40, 80), (0, 0, 255))  # portrait: red on top, blue below
    upright.paste((255, 0, 0), (0, 0, 40, 40))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a phone stores it: landscape, turned
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=95, exif=exif)
    for image in (load_rgb_bytes(buffer.getvalue()), load_rgb(_save_bytes(buffer.getvalue(), tmp_path / "p.jpg"))):
        assert image.size == (40, 80)
        top, bottom = image.getpixel((20, 10)), image.getpixel((20, 70))
        assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60


def _save_bytes(data: bytes, path: Path) -> Path:
    path.write_bytes(data)
    return path


def test_an_upload_over_the_pixel_cap_is_refused_without_decoding(monkeypatch):
    from core.images import UPLOAD_MAX_PIXELS, load_rgb_bytes
    side = int(UPLOAD_MAX_PIXELS ** 0.5) + 1  # 16 MP and a bit: fine for a build, not for an upload
    data = png_claiming_size(side, side)

    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    assert _upload_reason(data) == "too large"
    with pytest.raises(BadImage) as caught:  # under a build's larger cap the size passes (and the mode fails)
        load_rgb_bytes(data, max_pixels=40_000_000)
    assert caught.value.reason == "grayscale"


UPLOAD_MAGIC = {"PNG": b"\x89PNG\r\n\x1a\n", "JPEG": b"\xff\xd8\xff\xe0", "WEBP": b"RIFF\0\0\0\0WEBP"}


@pytest.mark.parametrize("fmt", list(UPLOAD_MAGIC))
def test_a_file_that_only_starts_like_an_accepted_format_is_refused(tmp_path, fmt):
    from core.images import load_rgb_bytes, upload_format
    data = photocd_behind(UPLOAD_MAGIC[fmt])
    assert upload_format(data) == fmt
    with Image.open(io.BytesIO(data)) as image:  # Pillow's decoders, all of them, would take it
        assert image.format == "PCD"
    with pytest.raises(BadImage):
        load_rgb_bytes(data)
    assert _reason(_write(tmp_path / f"fake.{fmt.lower()}", data)) == "not an image"  # nor in a build


def test_build_formats_are_those_of_the_dataset_suffixes():
    from core.datasets import IMAGE_SUFFIXES
    from core.images import BUILD_FORMATS
    extensions = Image.registered_extensions()
    assert {extensions[suffix] for suffix in IMAGE_SUFFIXES} == set(BUILD_FORMATS)


@pytest.mark.parametrize("kind", ["ztxt", "iccp", "trns"])
def test_a_malformed_png_is_skipped_as_corrupt(tmp_path, kind):
    data = malformed_pngs()[kind]
    with pytest.raises(ValueError):  # what Pillow raises on it
        with Image.open(io.BytesIO(data)) as image:
            image.convert("RGBA")
    assert _reason(_write(tmp_path / f"{kind}.png", data)) == "corrupt image data"
    assert _upload_reason(data) == "corrupt image data"
