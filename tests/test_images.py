"""The image-input rules of wan_i2v._images: forms, formats, sizes, dimensions, transparency."""

from __future__ import annotations

import base64
import functools
import io
import os
import struct
import threading
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imagefiles import (
    adam7_size,
    bmp_core_header,
    jpeg_scan_start,
    make_image,
    make_mpo,
    noise_image,
    pad_to,
    png_chunk,
    png_from_scanlines,
    write_image,
)
from PIL import Image

from wan_i2v import ValidationError
from wan_i2v._constants import IMAGE_FORMATS, IMAGE_MAX_BYTES, IMAGE_MAX_SIDE, IMAGE_MIN_SIDE
from wan_i2v._images import _FORMATS, ImageInfo, encode_image, inspect_image

MIMES = {"jpeg": "image/jpeg", "png": "image/png", "bmp": "image/bmp", "webp": "image/webp"}
LIMIT_TEXT = "at most 10,000,000 bytes (10 MB)"


def decode(uri: str) -> tuple[str, bytes]:
    """The mime and the bytes of a data URI built by encode_image."""
    header, payload = uri.split(",", 1)
    assert header.startswith("data:")
    assert header.endswith(";base64")
    return header[5:-7], base64.b64decode(payload, validate=True)


def refused(value: Any, *, field: str = "image") -> str:
    """encode_image's ValidationError message for a value it must refuse."""
    with pytest.raises(ValidationError) as caught:
        encode_image(value, field=field)
    assert caught.value.field == field
    message = str(caught.value)
    assert message.startswith(f"{field}: ")
    assert message.endswith(". Nothing was sent.")
    return message


def webp_chunk(data: bytes) -> bytes:
    """The first chunk of a WEBP file: the variant under test."""
    return data[12:16]


# --- Accepted formats ---------------------------------------------------------------------

VALID = {
    "jpeg baseline": ("jpeg", {}),
    "jpeg progressive": ("jpeg", {"progressive": True}),
    "jpeg grey": ("jpeg", {"mode": "L"}),
    "png rgb": ("png", {}),
    "png palette": ("png", {"mode": "P"}),
    "png grey": ("png", {"mode": "L"}),
    "bmp 24-bit": ("bmp", {}),
    "bmp palette": ("bmp", {"mode": "P"}),
    "bmp top-down": ("bmp", {"top_down": True}),
    "webp lossy": ("webp", {}),
    "webp lossless": ("webp", {"lossless": True}),
    "webp vp8x exif": ("webp", {"exif": b"Exif\0\0MM\0*\0\0\0\x08\0\0"}),
    "webp vp8x icc": ("webp", {"icc_profile": b"\0" * 128}),
    "webp vp8x alpha": ("webp", {"mode": "RGBA", "color": (10, 20, 30, 100)}),
}


@pytest.mark.parametrize(("fmt", "options"), VALID.values(), ids=VALID.keys())
def test_every_accepted_variant_is_described(fmt: str, options: dict[str, Any]) -> None:
    """Each accepted format and variant is recognised, with its mime, size and dimensions."""
    data = make_image(fmt, 641, 487, **options)
    assert inspect_image(data, field="image") == ImageInfo(fmt, MIMES[fmt], 641, 487, len(data))


def test_webp_variants_are_the_ones_claimed() -> None:
    """The WEBP fixtures really cover the VP8, VP8L and VP8X chunk layouts."""
    chunks = {
        name: webp_chunk(make_image("webp", 400, 400, **VALID[name][1]))
        for name in VALID
        if name.startswith("webp")
    }
    assert chunks == {
        "webp lossy": b"VP8 ",
        "webp lossless": b"VP8L",
        "webp vp8x exif": b"VP8X",
        "webp vp8x icc": b"VP8X",
        "webp vp8x alpha": b"VP8X",
    }


def test_jpeg_variants_are_the_ones_claimed() -> None:
    """The JPEG fixtures really cover baseline (SOF0) and progressive (SOF2) frames."""
    assert b"\xff\xc0" in make_image("jpeg", 400, 400)
    progressive = make_image("jpeg", 400, 400, progressive=True)
    assert b"\xff\xc2" in progressive
    assert b"\xff\xc0" not in progressive


def test_bmp_top_down_has_a_negative_height_and_pillow_agrees() -> None:
    """The top-down fixture stores a negative height, which is reported as its absolute value."""
    data = make_image("bmp", 400, 450, top_down=True)
    assert struct.unpack_from("<i", data, 22)[0] == -450
    assert Image.open(io.BytesIO(data)).size == (400, 450)
    assert inspect_image(data, field="image").height == 450


def test_bmp_core_header_is_read() -> None:
    """The old 12-byte BITMAPCOREHEADER with 16-bit sides is read."""
    data = bmp_core_header(401, 399)
    assert Image.open(io.BytesIO(data)).size == (401, 399)
    assert inspect_image(data, field="image") == ImageInfo("bmp", "image/bmp", 401, 399, len(data))


def test_the_format_table_matches_the_documented_formats() -> None:
    """The sniffers cover exactly the documented formats (spec x-image-formats)."""
    assert tuple(_FORMATS) == IMAGE_FORMATS


sides = st.integers(IMAGE_MIN_SIDE, IMAGE_MAX_SIDE)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("jpeg", {"progressive": True}),
        ("png", {"mode": "P"}),
        ("webp", {"lossless": True}),
        ("webp", {"quality": 1}),
        ("bmp", {"mode": "1"}),
    ],
    ids=["jpeg", "png", "webp-lossless", "webp-lossy", "bmp"],
)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=sides, height=sides)
def test_dimensions_match_pillow(
    fmt: str, options: dict[str, Any], width: int, height: int
) -> None:
    """For any valid size, the header reader agrees with Pillow and with the size asked for."""
    data = make_image(fmt, width, height, **options)
    assert Image.open(io.BytesIO(data)).size == (width, height)
    info = inspect_image(data, field="image")
    assert (info.width, info.height) == (width, height)


# --- Dimension limits ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpeg", "png", "bmp", "webp"])
@pytest.mark.parametrize("side", ["width", "height"])
@pytest.mark.parametrize("pixels", [IMAGE_MIN_SIDE, IMAGE_MAX_SIDE])
def test_sides_at_the_limits_are_accepted(fmt: str, side: str, pixels: int) -> None:
    """360 and 2000 px are accepted, for the width and the height separately."""
    width, height = (pixels, 400) if side == "width" else (400, pixels)
    info = inspect_image(make_image(fmt, width, height), field="image")
    assert (info.width, info.height) == (width, height)


@pytest.mark.parametrize("fmt", ["jpeg", "png", "bmp", "webp"])
@pytest.mark.parametrize("side", ["width", "height"])
@pytest.mark.parametrize(
    ("pixels", "words"),
    [
        (IMAGE_MIN_SIDE - 1, "359 px is below the minimum of 360 px"),
        (IMAGE_MAX_SIDE + 1, "2001 px is above the maximum of 2000 px"),
    ],
)
def test_sides_past_the_limits_are_refused(fmt: str, side: str, pixels: int, words: str) -> None:
    """359 and 2001 px are refused, naming the side, the value and the limit."""
    width, height = (pixels, 400) if side == "width" else (400, pixels)
    message = refused(make_image(fmt, width, height), field="last_frame")
    assert f"last_frame: {side} {words}" in message


# --- Size limit ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def png_at_limit() -> bytes:
    """A valid PNG of exactly IMAGE_MAX_BYTES bytes (padded with a private ancillary chunk)."""
    data = pad_to(make_image("png", 400, 400), IMAGE_MAX_BYTES)
    assert len(data) == IMAGE_MAX_BYTES
    return data


def test_an_image_of_exactly_the_limit_is_accepted(png_at_limit: bytes) -> None:
    """IMAGE_MAX_BYTES bytes is allowed, and the data URI carries every byte."""
    assert inspect_image(png_at_limit, field="image").size == IMAGE_MAX_BYTES
    assert decode(encode_image(png_at_limit, field="image")) == ("image/png", png_at_limit)


def test_a_jpeg_of_exactly_the_limit_is_accepted() -> None:
    """A JPEG padded with COM segments to IMAGE_MAX_BYTES is accepted (segments skipped)."""
    data = pad_to(make_image("jpeg", 500, 400), IMAGE_MAX_BYTES)
    assert Image.open(io.BytesIO(data)).size == (500, 400)
    assert inspect_image(data, field="image").size == IMAGE_MAX_BYTES


def test_one_byte_over_the_limit_is_refused_as_bytes(png_at_limit: bytes) -> None:
    """IMAGE_MAX_BYTES + 1 bytes is refused, stating the size and the limit in bytes and MB."""
    message = refused(png_at_limit + b"\0")
    assert "10,000,001 bytes" in message
    assert LIMIT_TEXT in message


def test_one_byte_over_the_limit_is_refused_as_a_file(png_at_limit: bytes, tmp_path: Path) -> None:
    """The same limit holds for a path and for a file object."""
    path = tmp_path / "big.png"
    path.write_bytes(png_at_limit + b"\0")
    assert LIMIT_TEXT in refused(path)
    with path.open("rb") as file:
        assert LIMIT_TEXT in refused(file)


class CountingReader(io.RawIOBase):
    """A binary file object that counts the bytes handed out: an endless stream of zeros
    after a valid PNG header."""

    def __init__(self, head: bytes) -> None:
        self.head = head
        self.given = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size >= 0, "must never ask for the whole file"
        chunk = self.head[self.given : self.given + size]
        chunk += b"\0" * (size - len(chunk))
        self.given += len(chunk)
        return chunk


def test_a_huge_file_object_is_not_read_whole() -> None:
    """From a file object, at most IMAGE_MAX_BYTES + 1 bytes are ever read."""
    reader = CountingReader(make_image("png", 400, 400))
    assert LIMIT_TEXT in refused(reader)
    assert reader.given <= IMAGE_MAX_BYTES + 1


def test_a_huge_file_is_not_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A path to a 50 MB file is refused with its size, reading at most the limit + 1."""
    path = tmp_path / "huge.png"
    path.write_bytes(make_image("png", 400, 400))
    with path.open("r+b") as file:
        file.truncate(50_000_000)  # sparse: costs no disk
    read_sizes: list[int] = []
    real_read = os.read

    def counting_read(fd: int, size: int) -> bytes:
        read_sizes.append(size)
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", counting_read)
    message = refused(path)
    assert "50,000,000 bytes" in message
    assert LIMIT_TEXT in message
    assert sum(read_sizes) <= IMAGE_MAX_BYTES + 1


def test_a_file_growing_past_its_stat_size_is_not_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when fstat claims a small size, reading stops at the limit + 1 bytes."""
    path = tmp_path / "growing.png"
    path.write_bytes(make_image("png", 400, 400))
    with path.open("r+b") as file:
        file.truncate(50_000_000)
    real_fstat = os.fstat

    def small_fstat(fd: int) -> os.stat_result:
        fields = list(real_fstat(fd))
        fields[6] = 1000  # st_size
        return os.stat_result(fields)

    returned: list[int] = []
    real_read = os.read

    def counting_read(fd: int, size: int) -> bytes:
        chunk = real_read(fd, size)
        returned.append(len(chunk))
        return chunk

    monkeypatch.setattr(os, "fstat", small_fstat)
    monkeypatch.setattr(os, "read", counting_read)
    assert f"larger than 10,000,000 bytes; {LIMIT_TEXT}" in refused(path)
    assert sum(returned) == IMAGE_MAX_BYTES + 1


def test_a_small_file_is_read_at_its_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small file is read in one request of its size, not with a 10 MB buffer."""
    path = write_image(tmp_path, "ok.jpg", "jpeg", 400, 400)
    read_sizes: list[int] = []
    real_read = os.read

    def counting_read(fd: int, size: int) -> bytes:
        read_sizes.append(size)
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", counting_read)
    encode_image(path, field="image")
    # One read of the whole file (size + 1 asked), then a small end-of-file check.
    assert read_sizes == [path.stat().st_size + 1, 1 << 16]


def test_an_oversized_data_uri_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A data URI whose payload decodes to more than the limit is refused on its length,
    without decoding it."""

    def no_decoding(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("the payload was decoded")

    monkeypatch.setattr(base64, "b64decode", no_decoding)
    message = refused("data:image/png;base64," + "A" * (IMAGE_MAX_BYTES // 3 * 4 + 8))
    assert f"the data URI holds more than 10,000,000 bytes; {LIMIT_TEXT}" in message


def test_a_data_uri_of_exactly_the_limit_is_accepted(png_at_limit: bytes) -> None:
    """The length pre-check lets through a data URI of exactly IMAGE_MAX_BYTES bytes."""
    uri = "data:image/png;base64," + base64.b64encode(png_at_limit).decode()
    assert encode_image(uri, field="image") == uri


# --- Transparency -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"mode": "RGBA"}, "alpha channel"),
        ({"mode": "LA"}, "alpha channel"),
        ({"tRNS": True}, "tRNS chunk"),
        ({"mode": "P", "tRNS": True}, "tRNS chunk"),
    ],
    ids=["RGBA", "LA", "RGB+tRNS", "palette+tRNS"],
)
def test_png_with_transparency_is_refused(options: dict[str, Any], why: str) -> None:
    """PNG with an alpha channel or a tRNS chunk is refused, saying how to fix it."""
    message = refused(make_image("png", 400, 400, **options))
    assert "PNG with transparency is not accepted" in message
    assert why in message
    assert "save it as JPEG" in message


def test_a_trns_chunk_after_other_chunks_is_found() -> None:
    """tRNS is found wherever it sits before IDAT, here after an ancillary chunk."""
    data = make_image("png", 400, 400)
    idat = data.index(b"IDAT") - 4
    data = (
        data[:idat]
        + png_chunk(b"teXt", b"a\0b")
        + png_chunk(b"tRNS", b"\0\1\0\1\0\1")
        + (data[idat:])
    )
    assert "tRNS chunk" in refused(data)


def test_a_trns_lookalike_after_idat_is_ignored() -> None:
    """Only chunks before IDAT matter: the walk stops at the image data."""
    data = make_image("png", 400, 400)
    iend = data.index(b"IEND") - 4
    data = data[:iend] + png_chunk(b"teXt", b"tRNS\0tRNS") + data[iend:]
    assert inspect_image(data, field="image").format == "png"


# --- Refused formats and broken files -----------------------------------------------------


@pytest.mark.parametrize(("fmt", "name"), [("gif", "GIF"), ("tiff", "TIFF")])
def test_other_formats_are_refused_by_name(fmt: str, name: str) -> None:
    """GIF and TIFF are refused, naming what was given and listing the accepted formats."""
    message = refused(make_image(fmt, 400, 400))
    assert f"{name} images are not accepted" in message
    assert "JPEG, PNG (without transparency), BMP and WEBP" in message


@pytest.mark.parametrize(
    "data",
    [
        b"hello, world",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"\0\0\0\x18ftypheic" + b"\0" * 32,
        b"BM" + b"\0" * 40,
    ],
    ids=["text", "svg", "heic", "bmp-unknown-dib"],
)
def test_unknown_data_is_refused(data: bytes) -> None:
    """Data in no accepted format is refused with the list of accepted formats."""
    assert "the accepted formats are JPEG, PNG (without transparency), BMP and WEBP" in refused(
        data
    )


def test_empty_bytes_are_refused() -> None:
    """Empty input is refused as empty, not as an unknown format."""
    assert "the image is empty (0 bytes)" in refused(b"")


def _jpeg() -> bytes:
    return make_image("jpeg", 400, 400)


def _png() -> bytes:
    return make_image("png", 400, 400)


def _jpeg_with_sof_height(height: int) -> bytes:
    data = bytearray(_jpeg())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">H", data, sof + 5, height)
    return bytes(data)


def _webp_patched(options: dict[str, Any], offset: int, patch: bytes) -> bytes:
    data = bytearray(make_image("webp", 400, 400, **options))
    data[offset : offset + len(patch)] = patch
    return bytes(data)


def _bmp_with_sides(width: int, height: int) -> bytes:
    data = bytearray(make_image("bmp", 400, 400))
    struct.pack_into("<ii", data, 18, width, height)
    return bytes(data)


@pytest.mark.parametrize(
    ("label", "data"),
    [
        ("JPEG", _jpeg()[:30]),  # ends inside the segments before SOF
        # A scan, an end of image or a second start before any frame header, each followed by
        # a valid JPEG that a walk ignoring them would wrongly accept.
        ("JPEG", _jpeg()[:2] + b"\xff\xda\x00\x02" + _jpeg()[2:]),
        ("JPEG", _jpeg()[:2] + b"\xff\xd9\x00\x02" + _jpeg()[2:]),
        ("JPEG", _jpeg()[:2] + b"\xff\xd8\x00\x02" + _jpeg()[2:]),
        ("JPEG", _jpeg_with_sof_height(0)),  # height "defined later" by a DNL segment
        ("JPEG", b"\xff\xd8\xff\xe0\x00\x01" + b"\0" * 40),  # segment length below 2
        ("PNG", _png()[:20]),  # ends inside IHDR
        ("PNG", _png()[:33]),  # IHDR, then nothing: no IDAT
        ("PNG", _png()[:33] + png_chunk(b"IEND", b"") + _png()[33:]),  # IEND before IDAT
        ("PNG", _png()[:8] + b"\0\0\0\x0dIHDX" + _png()[16:]),  # first chunk not IHDR
        ("BMP", make_image("bmp", 400, 400)[:21]),  # ends inside the DIB header
        ("BMP", bmp_core_header(400, 400)[:19]),
        ("BMP", make_image("bmp", 400, 400)[:40]),  # sides present, DIB header cut short
        ("BMP", _bmp_with_sides(-400, 400)),
        ("BMP", _bmp_with_sides(400, 0)),
        ("WEBP", make_image("webp", 400, 400)[:27]),  # lossy, ends before the sides
        ("WEBP", make_image("webp", 400, 400, lossless=True)[:22]),
        ("WEBP", _webp_patched({}, 23, b"\x9d\x01\x2b")),  # lossy without its start code
        ("WEBP", _webp_patched({"lossless": True}, 20, b"\x2e")),  # lossless, bad signature
        ("WEBP", b"RIFF\0\0\0\0WEBPVP8Z" + b"\0" * 20),  # unknown first chunk
        ("WEBP", b"RIFF\0\0\0\0WEBP"),  # no chunk at all
    ],
)
def test_truncated_or_corrupt_headers_are_refused(label: str, data: bytes) -> None:
    """A header that ends early or holds nonsense is refused as truncated or invalid."""
    message = refused(data)
    assert f"could not read the dimensions: the file is truncated or not a valid {label}" in (
        message
    )


def test_vp8_scale_bits_are_not_part_of_the_size() -> None:
    """The two upscaling bits above each 14-bit VP8 side are ignored, as decoders do."""
    data = bytearray(make_image("webp", 400, 450))
    assert webp_chunk(data) == b"VP8 "
    data[27] |= 0xC0
    data[29] |= 0x40
    assert Image.open(io.BytesIO(data)).size == (400, 450)
    info = inspect_image(data, field="image")
    assert (info.width, info.height) == (400, 450)


def test_jpeg_fill_bytes_and_standalone_markers_are_skipped() -> None:
    """Fill bytes and RSTn/TEM markers before the frame header do not stop the walk."""
    data = _jpeg()
    data = data[:2] + b"\xff\xff\xff\x01\xff\xd0" + data[2:]
    assert inspect_image(data, field="image").width == 400


# --- Paths and file objects ---------------------------------------------------------------


def test_format_comes_from_content_not_name(tmp_path: Path) -> None:
    """A JPEG named .png is sent as JPEG, a PNG named .jpg as PNG."""
    jpeg = write_image(tmp_path, "photo.png", "jpeg", 400, 400)
    png = write_image(tmp_path, "photo.jpg", "png", 400, 400)
    assert decode(encode_image(jpeg, field="image")) == ("image/jpeg", jpeg.read_bytes())
    assert decode(encode_image(str(png), field="image")) == ("image/png", png.read_bytes())


def test_missing_path_is_refused(tmp_path: Path) -> None:
    """A path that does not exist is refused, naming it."""
    path = tmp_path / "nowhere.jpg"
    assert f"file {str(path)!r} does not exist" in refused(str(path))


def test_directory_is_refused(tmp_path: Path) -> None:
    """A directory is refused as a directory."""
    assert "is a directory, not a regular image file" in refused(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    """A FIFO with no writer is refused at once instead of blocking the caller."""
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            encode_image(fifo, field="image")
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=5)
    if worker.is_alive():  # unblock the stuck open() so that the thread can end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("encode_image blocked on a FIFO")
    assert len(outcome) == 1
    assert isinstance(outcome[0], ValidationError)
    assert "is a FIFO (named pipe), not a regular image file" in str(outcome[0])


def test_binary_file_object_is_read_from_its_position(tmp_path: Path) -> None:
    """A binary file object is read from where it stands, and left open."""
    data = _png()
    file = io.BytesIO(b"junk" + data)
    file.seek(4)
    assert decode(encode_image(file, field="image")) == ("image/png", data)
    assert not file.closed


def test_text_mode_file_object_is_refused(tmp_path: Path) -> None:
    """A file opened in text mode is refused with the fix (open it with 'rb')."""
    path = write_image(tmp_path, "a.png", "png", 400, 400)
    with path.open(encoding="latin-1") as file:
        assert "open it in binary mode ('rb')" in refused(file)


def test_text_like_reader_is_refused() -> None:
    """An object whose read() returns str (not an io.TextIOBase) is refused as text mode."""

    class Reader:
        def read(self, size: int = -1) -> str:
            return "text"

    assert "text mode" in refused(Reader())


@pytest.mark.parametrize("value", [42, None, 1.5, ["a.png"]])
def test_other_types_are_refused(value: Any) -> None:
    """A value of no accepted kind is refused, listing the accepted kinds."""
    assert "expected an http(s) URL, a data URI, a path, bytes or a binary file object" in (
        refused(value)
    )


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_data_uri_decodes_to_the_exact_input(kind: type) -> None:
    """bytes, bytearray and memoryview come back byte for byte in the data URI."""
    data = make_image("webp", 400, 400)
    assert decode(encode_image(kind(data), field="image")) == ("image/webp", data)


def test_a_non_contiguous_memoryview_is_accepted() -> None:
    """A strided memoryview is read as the bytes it shows."""
    data = _png()
    doubled = bytes(b for byte in data for b in (byte, 0))
    view = memoryview(doubled)[::2]
    assert decode(encode_image(view, field="image")) == ("image/png", data)


# --- URLs and data URIs -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://example.com/flower.jpg", "http://example.com/a?b=c#d", "HTTPS://Example.com/X.PNG"],
)
def test_http_urls_are_returned_unchanged(url: str) -> None:
    """http(s) URLs (any case of scheme) are passed on as given, without fetching them."""
    assert encode_image(url, field="image") is url


@pytest.mark.parametrize("url", ["http://", "https:///path.jpg", "http://[::1/a.jpg"])
def test_urls_without_a_host_are_refused(url: str) -> None:
    """A URL with no host, or unparsable, is refused."""
    message = refused(url)
    assert "has no host" in message or "is not valid" in message


def test_urls_with_whitespace_are_refused() -> None:
    """A URL with a space or a newline (a copy-paste slip) is refused."""
    assert "whitespace or control characters" in refused("https://example.com/a b.jpg\n")


@pytest.mark.parametrize("value", ["ftp://example.com/a.jpg", "file:///tmp/a.jpg"])
def test_other_schemes_are_refused(value: str) -> None:
    """Only http(s) URLs are accepted; the message lists what is."""
    message = refused(value)
    assert "URLs are not accepted" in message
    assert "an http(s) URL, a data URI, a path, bytes or a binary file object" in message


def test_empty_string_is_refused() -> None:
    """An empty string is refused as empty."""
    assert "is an empty string" in refused("")


def test_data_uri_round_trip() -> None:
    """A valid data URI comes back equal, carrying the same bytes."""
    data = make_image("jpeg", 400, 400)
    uri = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    assert encode_image(uri, field="image") == uri
    assert decode(encode_image(uri, field="image")) == ("image/jpeg", data)


def test_data_uri_mime_alias_is_normalised() -> None:
    """image/jpg (a common alias) is accepted and sent as image/jpeg."""
    data = make_image("jpeg", 400, 400)
    uri = "DATA:image/JPG;BASE64," + base64.b64encode(data).decode()
    assert decode(encode_image(uri, field="image")) == ("image/jpeg", data)


def test_data_uri_with_a_contradicting_mime_is_refused() -> None:
    """A data URI declaring PNG over JPEG data is refused, naming both types."""
    data = make_image("jpeg", 400, 400)
    message = refused("data:image/png;base64," + base64.b64encode(data).decode())
    assert "declares image/png" in message
    assert "image/jpeg" in message


@pytest.mark.parametrize(
    "payload",
    ["not base64!", "QUJD\nREVG", "QUJDRA", "QUJD-_==", "QUJDé"],
    ids=["punctuation", "newline", "no-padding", "urlsafe", "non-ascii"],
)
def test_data_uri_with_invalid_base64_is_refused(payload: str) -> None:
    """A payload that is not strict standard Base64 is refused."""
    assert "not valid Base64" in refused("data:image/png;base64," + payload)


@pytest.mark.parametrize(
    "uri", ["data:image/png,abcd", "data:;base64,abcd", "data:image/png;base64", "data:"]
)
def test_malformed_data_uris_are_refused(uri: str) -> None:
    """Only data:<mime>;base64,<data> is accepted."""
    assert "data:<mime>;base64,<data>" in refused(uri)


def test_data_uri_content_is_checked_like_a_file() -> None:
    """The decoded data goes through the same checks (here: too small)."""
    data = make_image("png", 300, 400)
    message = refused("data:image/png;base64," + base64.b64encode(data).decode())
    assert "width 300 px is below the minimum of 360 px" in message


def test_data_uri_message_does_not_echo_the_payload() -> None:
    """Messages about a data URI never repeat its (possibly huge) payload."""
    data = make_image("gif", 400, 400)
    payload = base64.b64encode(data).decode()
    assert payload[:40] not in refused("data:image/gif;base64," + payload)


# --- The whole file: truncated and corrupt images -----------------------------------------

SNIFF_BYTES = 18  # below this, a prefix is not yet recognisable as its format at all
TRUNCATED = "the file is truncated or corrupt"


def refusal(data: bytes | memoryview) -> str:
    """inspect_image's message for data it must refuse ("" if it accepts the data)."""
    try:
        inspect_image(data, field="image")
    except ValidationError as exc:
        field, message = exc.field, str(exc)
    else:
        return ""
    assert field == "image"
    return message


def interlaced_png(width: int = 401, height: int = 377) -> bytes:
    """An Adam7-interlaced RGB PNG (Pillow reads them but does not write them)."""
    return png_from_scanlines(width, height, b"\0" * adam7_size(width, height, 3), interlace=True)


# Small files of each format and variant, flat colour: every one of their prefixes is tried.
SMALL = {
    "jpeg baseline": lambda: make_image("jpeg", 360, 361),
    "jpeg progressive": lambda: make_image("jpeg", 361, 360, progressive=True),
    "jpeg restart markers": lambda: make_image("jpeg", 360, 360, restart_marker_blocks=1),
    "jpeg exif": lambda: make_image("jpeg", 360, 360, exif=b"Exif\0\0MM\0*\0\0\0\x08\0\0"),
    "png rgb": lambda: make_image("png", 360, 361),
    "png palette": lambda: make_image("png", 361, 360, mode="P"),
    "png interlaced": interlaced_png,
    "webp lossy": lambda: make_image("webp", 360, 360),
    "webp lossless": lambda: make_image("webp", 360, 361, lossless=True),
    "webp vp8x": lambda: make_image("webp", 361, 360, icc_profile=b"\0" * 128),
    "bmp 1-bit": lambda: make_image("bmp", 361, 360, mode="1"),
}


@pytest.mark.parametrize("make", SMALL.values(), ids=SMALL.keys())
def test_every_strict_prefix_of_a_small_file_is_refused(make: Any) -> None:
    """Cut anywhere, a file is refused; once past the format's magic, as truncated; whole,
    it is accepted (every prefix tried, each variant)."""
    data = make()
    assert refusal(data) == ""
    view = memoryview(data)  # prefixes as views: no copy of each
    for cut in range(len(data)):
        message = refusal(view[:cut])
        assert message, f"the first {cut} of {len(data)} bytes were accepted"
        if cut >= SNIFF_BYTES:
            assert "truncated" in message, message


VARIANTS = {
    "jpeg": ("jpeg", {"quality": 90}),
    "jpeg progressive": ("jpeg", {"progressive": True}),
    "jpeg restart markers": ("jpeg", {"restart_marker_rows": 1}),
    "png": ("png", {}),
    "png compressed hard": ("png", {"compress_level": 9}),
    "webp lossy": ("webp", {}),
    "webp lossless": ("webp", {"lossless": True}),
    "bmp": ("bmp", {}),
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    variant=st.sampled_from(sorted(VARIANTS)),
    width=st.integers(IMAGE_MIN_SIDE, 420),
    height=st.integers(IMAGE_MIN_SIDE, 420),
    seed=st.integers(0, 2**32),
    fraction=st.floats(0, 1, exclude_max=True),
)
def test_any_strict_prefix_of_a_photo_like_file_is_refused(
    variant: str, width: int, height: int, seed: int, fraction: float
) -> None:
    """Random pixels (entropy-coded data of a photo's density): the whole file made by
    Pillow is accepted, any strict prefix of it refused as truncated."""
    fmt, options = VARIANTS[variant]
    data = noise_image(fmt, width, height, seed, **options)
    assert refusal(data) == ""
    cut = max(SNIFF_BYTES, int(len(data) * fraction))
    assert "truncated" in refusal(data[:cut])


def test_the_first_600_bytes_of_a_jpeg_are_refused() -> None:
    """The finding: a JPEG cut to its first 600 bytes used to pass the local check."""
    data = noise_image("jpeg", 640, 480, seed=1)
    assert f"{TRUNCATED}: the JPEG ends inside a segment" in refusal(data[:600])


@functools.cache
def noise_jpeg_400() -> bytes:
    return noise_image("jpeg", 400, 400, seed=2)


@functools.cache
def noise_png_400() -> bytes:
    return noise_image("png", 400, 400, seed=3)


@settings(max_examples=50, deadline=None)
@given(tail=st.binary(min_size=1, max_size=4096), in_scan=st.booleans())
def test_a_jpeg_header_then_random_bytes_is_refused(tail: bytes, in_scan: bool) -> None:
    """A valid JPEG header (cut inside its segments, or after its SOS) followed by random
    bytes is refused. The random bytes hold no FF D9 (an end-of-image marker): a tail that
    happens to hold one, as about one random tail in 250 does, makes a complete if garbled
    JPEG, which decoders render and a structural check cannot tell from a photo."""
    data = noise_jpeg_400()
    head = data[: jpeg_scan_start(data) if in_scan else 600]
    assert "truncated" in refusal(head + tail.replace(b"\xff\xd9", b"\xff\x00"))


@settings(max_examples=50, deadline=None)
@given(tail=st.binary(min_size=1, max_size=4096), keep=st.integers(34, 200))
def test_a_png_header_then_random_bytes_is_refused(tail: bytes, keep: int) -> None:
    """A valid PNG header (IHDR whole, then part of what follows) followed by random bytes is
    refused as truncated: a chunk length or a CRC-32 gives it away."""
    data = noise_png_400()
    assert "truncated" in refusal(data[:keep] + tail)


def test_an_mpo_is_accepted_as_a_jpeg() -> None:
    """An MPO (a JPEG with an APP2 "MPF" segment, further JPEGs after its EOI) is a JPEG."""
    data = make_mpo(400, 400, frames=3)
    assert b"MPF\0" in data[:200]
    assert Image.open(io.BytesIO(data)).format == "MPO"
    assert inspect_image(data, field="image") == ImageInfo(
        "jpeg", "image/jpeg", 400, 400, len(data)
    )
    assert decode(encode_image(data, field="image")) == ("image/jpeg", data)


def test_an_mpo_is_checked_to_the_end_of_its_first_picture() -> None:
    """An MPO cut inside its first picture is refused; cut after that picture's EOI, what
    remains is a whole JPEG and is accepted."""
    data = make_mpo(400, 400)
    first_end = data.index(b"\xff\xd9") + 2
    assert data[first_end : first_end + 2] == b"\xff\xd8"  # the second picture starts there
    assert TRUNCATED in refusal(data[: first_end - 1])
    assert refusal(data[:first_end]) == ""
    assert refusal(data[: first_end + 100]) == ""


@pytest.mark.parametrize(
    ("fmt", "trailer"),
    [
        ("jpeg", b"SEFH" + b"\0" * 100),  # a phone's trailer after the EOI
        ("jpeg", b"\0\0\0\x18ftypmp42" + b"\0" * 100),  # a motion photo's appended MP4
        ("png", b"junk after IEND"),
        ("webp", b"junk after the RIFF"),
        ("bmp", b"junk after the pixels"),
    ],
)
def test_bytes_after_a_complete_image_are_accepted(fmt: str, trailer: bytes) -> None:
    """Trailing bytes after a whole image are accepted: decoders stop at its end."""
    data = make_image(fmt, 400, 400) + trailer
    assert Image.open(io.BytesIO(data)).load() is not None
    assert refusal(data) == ""


def _patched(data: bytes, offset: int, patch: bytes) -> bytes:
    return data[:offset] + patch + data[offset + len(patch) :]


def _jpeg_without_scan() -> bytes:
    data = _jpeg()
    return data[: data.index(b"\xff\xda")] + b"\xff\xd9"


def _inserted_before_dht(extra: bytes) -> bytes:
    """A JPEG with ``extra`` inserted after its frame header (where the header reader stops)."""
    data = _jpeg()
    dht = data.index(b"\xff\xc4")
    return data[:dht] + extra + data[dht:]


def _jpeg_marker_in_scan(marker: int) -> bytes:
    """A JPEG whose entropy-coded data meets ``marker`` (with no length) half-way."""
    data = noise_jpeg_400()
    middle = (jpeg_scan_start(data) + len(data)) // 2
    while data[middle - 1] == 0xFF or data[middle] == 0x00:  # keep stuffing intact
        middle += 1
    return data[:middle] + bytes([0xFF, marker, 0x00, 0x02]) + data[middle:]


def _fill_before_stuffing() -> bytes:
    """A JPEG whose scan has FF FF 00 where it had FF 00: libjpeg skips the fill byte and reads
    a stuffed 0xFF data byte, as before."""
    data = noise_jpeg_400()
    stuffed = data.index(b"\xff\x00", jpeg_scan_start(data))
    return data[:stuffed] + b"\xff" + data[stuffed:]


def _png_rechunked(**options: Any) -> bytes:
    return png_from_scanlines(400, 400, b"\0" * (400 * 1201), **options)


def _png_with_idat(payload: bytes) -> bytes:
    data = _png()
    idat = data.index(b"IDAT") - 4
    iend = data.index(b"IEND") - 4
    return data[:idat] + png_chunk(b"IDAT", payload) + data[iend:]


def _webp_riff(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _webp_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)


def _vp8x_around(frame: bytes) -> bytes:
    """A VP8X (extended) WebP of 400x400 around the given frame chunk."""
    canvas = b"\0\0\0\0" + (399).to_bytes(3, "little") * 2
    return _webp_riff(_webp_chunk(b"VP8X", canvas), frame)


def _vp8_payload() -> bytes:
    data = make_image("webp", 400, 400)
    (size,) = struct.unpack_from("<I", data, 16)
    return data[20 : 20 + size]


CORRUPT = {
    "jpeg cut between segments": (
        _jpeg()[: _jpeg().index(b"\xff\xc4")],
        "the JPEG ends before its end-of-image marker (EOI)",
    ),
    "jpeg cut inside a segment": (
        _jpeg()[: _jpeg().index(b"\xff\xc4") + 9],
        "the JPEG ends inside a segment",
    ),
    "jpeg cut just before its EOI": (
        _jpeg()[:-2],
        "the JPEG ends inside its image data, before the end marker (EOI)",
    ),
    "jpeg without a scan": (_jpeg_without_scan(), "the JPEG has no image data"),
    "jpeg segment without its 0xFF": (
        _inserted_before_dht(b"\xe1\x00\x02"),  # an APP1 segment that lost its 0xFF
        "the JPEG has data where a marker should be",
    ),
    "jpeg reserved marker in its scan": (_jpeg_marker_in_scan(0x4F), "invalid marker 0xFF4F"),
    "jpeg second frame header": (_jpeg_marker_in_scan(0xC0), "invalid marker 0xFFC0"),
    "jpeg second start of image": (_jpeg_marker_in_scan(0xD8), "invalid marker 0xFFD8"),
    "png cut before IEND": (_png()[:-12], "the PNG ends before its IEND chunk"),
    "png cut inside a chunk": (_png()[:-14], "the PNG ends inside a chunk"),
    "png with a byte of its image data changed": (
        _patched(_png(), _png().index(b"IDAT") + 10, b"\x55"),
        "the PNG chunk IDAT at byte 33 fails its CRC check",
    ),
    "png with a changed CRC": (
        _patched(_png(), len(_png()) - 1, bytes([_png()[-1] ^ 1])),
        "the PNG chunk IEND",
    ),
    "png whose image data is not zlib": (
        _png_with_idat(b"not a zlib stream"),
        "the PNG image data is not a valid zlib stream",
    ),
    "png whose zlib stream is cut": (
        _png_with_idat(zlib.compress(b"\0" * (400 * 1201))[:-40]),
        "the PNG image data ends before its last row",
    ),
    "png with a row too few": (
        png_from_scanlines(400, 400, b"\0" * (400 * 1201 - 1201)),
        "the PNG image data ends before its last row",
    ),
    "png with every row and no stream end": (
        _png_rechunked(finish=False),
        "the PNG image data ends before the end of its zlib stream",
    ),
    "png interlaced a byte short": (
        png_from_scanlines(401, 377, b"\0" * (adam7_size(401, 377, 3) - 1), interlace=True),
        "the PNG image data ends before its last row",
    ),
    "png palette without PLTE": (
        png_from_scanlines(400, 400, b"\0" * (400 * 401), colour_type=3),
        "a palette image without its palette",
    ),
    "png with an impossible bit depth": (
        _patched(_png(), 8, png_chunk(b"IHDR", _png()[16:24] + b"\x03\x02\0\0\0")),
        "the PNG header (IHDR) holds an invalid combination of fields",
    ),
    "webp cut short": (make_image("webp", 400, 400)[:-1], "the WebP is"),
    "webp chunk past the end": (
        _patched(make_image("webp", 400, 400), 16, struct.pack("<I", 0x7FFF)),
        "runs past the end of the file",
    ),
    "webp vp8x without a bitstream": (
        _vp8x_around(_webp_chunk(b"EXIF", b"Exif\0\0")),
        "the WebP holds no image bitstream",
    ),
    "webp vp8x with a broken vp8 frame": (
        _vp8x_around(_webp_chunk(b"VP8 ", _patched(_vp8_payload(), 3, b"\0"))),
        "the WebP VP8 frame header is invalid",
    ),
    "webp vp8 partition past its chunk": (
        _patched(make_image("webp", 400, 400), 20, b"\xf0\xff\xff"),
        "the WebP VP8 frame header is invalid",
    ),
    "webp vp8l with a version": (
        _patched(
            make_image("webp", 400, 400, lossless=True),
            24,
            bytes([make_image("webp", 400, 400, lossless=True)[24] | 0xE0]),
        ),
        "the WebP VP8L header is invalid",
    ),
    "bmp cut short": (make_image("bmp", 400, 400)[:-1], "the BMP is"),
    "bmp core header cut short": (bmp_core_header(400, 400)[:-1], "the BMP is"),
    "bmp pixels short": (
        _patched(make_image("bmp", 400, 400)[:-3], 2, b"\0\0\0\0"),
        "the BMP's pixel data needs",
    ),
    "bmp pixels inside the header": (
        _patched(make_image("bmp", 400, 400), 10, struct.pack("<I", 20)),
        "would start inside its header",
    ),
    "bmp with 7 bits per pixel": (
        _patched(make_image("bmp", 400, 400), 28, b"\x07\0"),
        "invalid number of bits per pixel (7)",
    ),
}


@pytest.mark.parametrize(("data", "words"), CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_file_is_refused_saying_where(data: bytes, words: str) -> None:
    """Each structural rule refuses its own kind of broken file, naming the field and saying
    the file is truncated or corrupt, and how."""
    message = refused(data)
    assert f"image: {TRUNCATED}: " in message
    assert words in message


@pytest.mark.parametrize(
    "data",
    [
        png_from_scanlines(401, 377, b"\0" * adam7_size(401, 377, 3), interlace=True),
        png_from_scanlines(400, 400, b"\0" * (400 * 1201), idat_size=7),
        png_from_scanlines(400, 400, b"\0" * (400 * 1201 + 5000)),
        _jpeg()[:2] + b"\xff\xfe\x00\x02" + _jpeg()[2:-2] + b"\xff\xff\xff\xd9",
        _fill_before_stuffing(),
    ],
    ids=["interlaced", "tiny-idats", "excess-rows", "fill-before-eoi", "fill-before-stuffing"],
)
def test_unusual_but_whole_files_are_accepted(data: bytes) -> None:
    """Files that decoders read whole are accepted: interlaced, split in many IDATs, with
    excess pixel data (ignored), fill bytes before the EOI or before a stuffed 0xFF."""
    Image.open(io.BytesIO(data)).load()
    assert refusal(data) == ""


def test_a_png_that_inflates_far_past_its_size_is_not_inflated_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Image data inflating to 50 MB for a 400x400 image (a zlib bomb) is inflated only a
    little past the image's size: the rows are all there, the rest is not worked through."""
    expected = 400 * 1201
    packer = zlib.compressobj(9)
    stream = b"".join(packer.compress(b"\0" * 10_000_000) for _ in range(5)) + packer.flush()
    data = _png_with_idat(stream)
    inflated: list[int] = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self) -> None:
            self.inner = real()

        def decompress(self, piece: Any, max_length: int = 0) -> bytes:
            out = self.inner.decompress(piece, max_length)
            inflated.append(len(out))
            return out

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    monkeypatch.setattr(zlib, "decompressobj", Counting)
    assert refusal(data) == ""
    assert expected < sum(inflated) <= expected + (1 << 18)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_checking_a_10_mb_image_costs_little(fmt: str) -> None:
    """The whole-file check of a near-10 MB photo-like image takes well under a second and
    allocates under 1 MiB at its peak: no decode and no copy of the bytes."""
    # Random pixels: JPEG at quality 95 without subsampling, PNG incompressible.
    if fmt == "jpeg":
        data = noise_image("jpeg", 2000, 1960, seed=5, quality=95, subsampling=0)
    else:
        data = noise_image("png", 2000, 1660, seed=5)
    assert 8_500_000 < len(data) <= IMAGE_MAX_BYTES
    inspect_image(data, field="image")  # warm up
    started = time.perf_counter()
    inspect_image(data, field="image")
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    try:
        inspect_image(data, field="image")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"{fmt} {len(data):,} bytes: {elapsed * 1000:.1f} ms, peak {peak / 1024:.0f} KiB")
    assert elapsed < 1.0
    assert peak < 1 << 20


# --- The sandbox reads MPO as a JPEG ------------------------------------------------------


def test_the_sandbox_judges_an_mpo_as_a_jpeg() -> None:
    """The sandbox's Pillow-based judge passes an MPO (Pillow calls it "MPO") as a JPEG."""
    from wan_i2v.sandbox._images import judge

    uri = "data:image/jpeg;base64," + base64.b64encode(make_mpo(640, 480)).decode()
    assert judge("image", uri).failure is None
    assert judge("image", uri).size == (640, 480)


def test_an_mpo_task_completes_in_the_sandbox() -> None:
    """An MPO sent by the client (checked locally, then sent) makes a completed task."""
    from wan_i2v import Client
    from wan_i2v.sandbox import SandboxConfig, serve

    with (
        serve(SandboxConfig(task_seconds=0)) as sandbox,
        Client(base_url=sandbox.url, api_key="k") as client,
    ):
        created = client.create(image=make_mpo(640, 480), prompt="Flowers swaying")
        task = client.get(created.id)
    assert task.is_success, task
