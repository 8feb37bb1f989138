"""Made-up image files that are cheap to make and hard to open: a PNG claiming a huge size, PNGs that
Pillow refuses, a PhotoCD image disguised as another format."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def png_claiming_size(width: int, height: int) -> bytes:
    """The bytes of a tiny valid PNG whose header claims width x height (1-bit): cheap to make, huge
    to decode."""
    buffer = io.BytesIO()
    Image.new("1", (8, 8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # the IHDR chunk's width and height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # and its checksum
    return bytes(data)


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG written chunk by chunk, each with its correct length and CRC."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunk(kind, data) for kind, data in chunks) + chunk(b"IEND", b"")


def malformed_pngs() -> dict[str, bytes]:
    """PNGs with valid CRCs that Pillow refuses with ValueError, by kind: an oversized zTXt or iCCP chunk
    (over PngImagePlugin.MAX_TEXT_CHUNK inflated), a tRNS chunk naming a palette index out of range."""
    from PIL import PngImagePlugin
    side = 40
    rgb_header = b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit RGB
    rgb_pixels = b"IDAT", zlib.compress(b"".join(b"\0" + b"\x80" * 3 * side for _ in range(side)))
    palette_header = b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 3, 0, 0, 0)  # 8-bit palette
    palette_pixels = b"IDAT", zlib.compress(b"".join(b"\0" + b"\0" * side for _ in range(side)))
    oversized = zlib.compress(b"a" * (PngImagePlugin.MAX_TEXT_CHUNK + 1))  # 1 MB inflated, 1 kB stored
    return {
        "ztxt": _png([rgb_header, (b"zTXt", b"comment\0\0" + oversized), rgb_pixels]),
        "iccp": _png([rgb_header, (b"iCCP", b"profile\0\0" + oversized), rgb_pixels]),
        # a two-colour palette, and a tRNS chunk whose one transparent entry is index 300
        "trns": _png([palette_header, (b"PLTE", b"\xff\0\0\0\xff\0"), (b"tRNS", b"\xff" * 300 + b"\0"),
                      palette_pixels]),
    }


def photocd_behind(magic: bytes) -> bytes:
    """A PhotoCD image (768 x 512) whose first bytes are `magic` (e.g. a PNG's signature): Pillow's
    PhotoCD decoder looks only at offset 2048, so it opens this whatever the first bytes say."""
    data = bytearray(96 * 2048 + 768 * 512 * 3 // 2)
    data[:len(magic)] = magic
    data[2048:2055] = b"PCD_IPI"
    return bytes(data)

