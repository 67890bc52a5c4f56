"""Real image files for tests, made with Pillow (a test dependency only).

Import from any test module: ``from imagefiles import make_image, write_image``.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path
from typing import Any

from PIL import Image

# Our format names -> Pillow's.
PILLOW_FORMATS = {
    "jpeg": "JPEG",
    "png": "PNG",
    "bmp": "BMP",
    "webp": "WEBP",
    "gif": "GIF",
    "tiff": "TIFF",
}


def make_image(
    fmt: str,
    width: int,
    height: int,
    *,
    mode: str = "RGB",
    tRNS: bool = False,  # named after the PNG chunk
    top_down: bool = False,
    color: Any = None,
    **save_options: Any,
) -> bytes:
    """The bytes of a ``width`` x ``height`` image in ``fmt`` ("jpeg", "png", "bmp", "webp",
    "gif", "tiff"), filled with one colour (fast to encode at any size).

    Args:
        mode: Pillow mode ("RGB", "RGBA", "LA", "P", "L", ...).
        tRNS: PNG only: add a tRNS chunk (a transparent colour) without an alpha channel.
        top_down: BMP only: store the rows top-down (negative height in the header).
        color: fill colour; a mid grey-ish default that suits the mode.
        save_options: passed to ``Image.save`` (``progressive=True``, ``lossless=True``,
            ``exif=...``, ``icc_profile=...``, ``quality=...``).
    """
    image = Image.new(mode, (width, height), color if color is not None else _default(mode))
    if tRNS:
        save_options["transparency"] = _default(mode)
    buffer = io.BytesIO()
    image.save(buffer, PILLOW_FORMATS[fmt], **save_options)
    data = buffer.getvalue()
    if top_down:
        data = _bmp_top_down(data)
    return data


def write_image(
    directory: Path, name: str, fmt: str, width: int, height: int, **options: Any
) -> Path:
    """make_image(...) written to ``directory / name``; returns the path. The name's
    extension need not match the format."""
    path = directory / name
    path.write_bytes(make_image(fmt, width, height, **options))
    return path


def bmp_core_header(width: int, height: int) -> bytes:
    """A 24-bit BMP with the old 12-byte BITMAPCOREHEADER (16-bit sides), which Pillow
    reads but does not write."""
    row = (width * 3 + 3) // 4 * 4
    pixels = b"\x80" * row * height
    header = struct.pack("<IHHHH", 12, width, height, 1, 24)
    offset = 14 + len(header)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + header + pixels


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def make_mpo(width: int, height: int, frames: int = 2) -> bytes:
    """A multi-picture JPEG (MPO) as phones and 3D cameras write them: an APP2 "MPF" segment
    in the first JPEG, then the other pictures as whole JPEGs after its EOI."""
    pictures = [Image.new("RGB", (width, height), (40 * i % 256, 90, 160)) for i in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, "MPO", save_all=True, append_images=pictures[1:])
    return buffer.getvalue()


def noise_image(fmt: str, width: int, height: int, seed: int, **save_options: Any) -> bytes:
    """An image of random pixels (a photo's worth of entropy-coded data, unlike one colour)."""
    pixels = random.Random(seed).randbytes(width * height * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(
        buffer, PILLOW_FORMATS[fmt], **save_options
    )
    return buffer.getvalue()


def adam7_size(width: int, height: int, bytes_per_pixel: int) -> int:
    """Bytes of the filtered scanlines of an interlaced 8-bit PNG: seven passes, each row of
    each non-empty pass with its filter byte (PNG spec, 8.2)."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4)]
    passes += [(0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    total = 0
    for x, y, dx, dy in passes:
        columns = len(range(x, width, dx))
        rows = len(range(y, height, dy))
        if columns and rows:
            total += rows * (1 + columns * bytes_per_pixel)
    return total


def png_from_scanlines(
    width: int,
    height: int,
    scanlines: bytes,
    *,
    colour_type: int = 2,
    interlace: bool = False,
    finish: bool = True,
    idat_size: int = 1 << 16,
) -> bytes:
    """An 8-bit PNG whose IDAT chunks hold ``scanlines`` (filtered rows, as the decoder
    inflates them) compressed with zlib, every chunk with a right CRC.

    Args:
        finish: False leaves the zlib stream without its end (a flushed, unfinished stream):
            all the pixel bytes are there, the stream's end and checksum are not.
        idat_size: the compressed data is split into IDAT chunks of this many bytes.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, int(interlace))
    packer = zlib.compressobj()
    stream = packer.compress(scanlines)
    stream += packer.flush(zlib.Z_FINISH if finish else zlib.Z_SYNC_FLUSH)
    idats = b"".join(
        png_chunk(b"IDAT", stream[i : i + idat_size]) for i in range(0, len(stream), idat_size)
    )
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + idats + png_chunk(b"IEND", b"")


def jpeg_scan_start(data: bytes) -> int:
    """Where the entropy-coded data of a JPEG's first scan starts: just past its SOS segment."""
    sos = data.index(b"\xff\xda")
    (length,) = struct.unpack_from(">H", data, sos + 2)
    return sos + 2 + length


def pad_to(data: bytes, size: int) -> bytes:
    """``data`` (a PNG or a JPEG) grown to exactly ``size`` bytes with ignorable metadata:
    one private ancillary PNG chunk after IHDR, or JPEG COM segments after SOI."""
    extra = size - len(data)
    if data.startswith(b"\x89PNG"):
        assert extra >= 12, "a PNG chunk needs 12 bytes at least"
        return data[:33] + png_chunk(b"paDd", b"\0" * (extra - 12)) + data[33:]
    assert data.startswith(b"\xff\xd8"), "pad_to knows PNG and JPEG"
    assert extra == 0 or extra >= 4, "a JPEG segment needs 4 bytes at least"
    segments = []
    while extra:
        take = min(extra, 65537)  # marker (2) + length (2) + up to 65533 bytes
        if 0 < extra - take < 4:
            take -= 4
        segments.append(b"\xff\xfe" + struct.pack(">H", take - 2) + b"\0" * (take - 4))
        extra -= take
    return data[:2] + b"".join(segments) + data[2:]


def _default(mode: str) -> Any:
    if mode in ("P", "L", "1"):
        return 128
    if mode == "LA":
        return (128, 128)
    return tuple(128 for _ in mode)


def _bmp_top_down(data: bytes) -> bytes:
    """The same picture stored top-down: rows reversed and the height negated."""
    (offset,) = struct.unpack_from("<I", data, 10)
    width, height = struct.unpack_from("<ii", data, 18)
    (bits,) = struct.unpack_from("<H", data, 28)
    row = (width * bits + 31) // 32 * 4
    rows = [data[offset + i * row : offset + (i + 1) * row] for i in range(height)]
    header = bytearray(data[:offset])
    struct.pack_into("<i", header, 22, -height)
    return bytes(header) + b"".join(reversed(rows)) + data[offset + height * row :]
