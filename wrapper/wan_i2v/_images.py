"""Image inputs: what to send for ``image`` and ``last_frame``, checked before anything is sent.

The API takes a public http(s) URL or Base64 data as a data URI. A URL is passed on as is (the
server fetches it; we never do). Local data (a path, bytes, a binary file object or a data URI)
is checked against every documented requirement, so that a bad image fails here, for free,
instead of as a billed task that fails on the server:

- format JPEG, PNG without transparency, BMP or WEBP, told by content, never by file name;
- width and height each in [IMAGE_MIN_SIDE, IMAGE_MAX_SIDE] pixels, read from the header
  without decoding the image (the package does not depend on Pillow);
- at most IMAGE_MAX_BYTES bytes, enforced while reading: a bigger file is never read whole;
- whole: the file's structure is walked to its end (``_image_structure``), so that a file cut
  short or a valid header followed by garbage is refused here, not by a billed task.
"""

from __future__ import annotations

import base64
import io
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias
from urllib.parse import urlsplit

from ._constants import IMAGE_MAX_BYTES, IMAGE_MAX_SIDE, IMAGE_MIN_SIDE
from ._errors import ValidationError
from ._fact_types import ImageInput
from ._image_structure import JPEG_SOF, STRUCTURE_CHECKS, Buffer, Corrupt
from ._urls import is_http_url

__all__ = [
    "CheckedImage",
    "ImageInfo",
    "ImageInput",
    "checked_image",
    "encode_image",
    "inspect_image",
]

# Image bytes as the readers see them: bytes, or a flat byte view of a caller's buffer (so
# that a 10 MB bytearray is not copied just to be checked).
_Buffer: TypeAlias = Buffer

_ACCEPTED: Final = "JPEG, PNG (without transparency), BMP and WEBP"
_INPUT_KINDS: Final = "an http(s) URL, a data URI, a path, bytes or a binary file object"
_SIZE_LIMIT: Final = f"at most {IMAGE_MAX_BYTES:,} bytes ({IMAGE_MAX_BYTES // 1_000_000} MB)"
_TEXT_MODE: Final = "the file object is open in text mode; open it in binary mode ('rb')"
_OTHER_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")  # 2+ letters: not C:\ or C:/


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What inspect_image found in a valid image.

    Attributes:
        format: ``"jpeg"``, ``"png"``, ``"bmp"`` or ``"webp"``.
        mime: the matching media type, as sent in the data URI.
        width, height: in pixels.
        size: bytes of the image file.
    """

    format: str
    mime: str
    width: int
    height: int
    size: int


class _Problem(Exception):
    """A requirement is broken. The public functions turn it into ValidationError(field=...),
    so that the code below need not carry the field name around."""


class _Unreadable(Exception):
    """The header ends early or holds nonsense: the file is truncated or not that format."""


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """Local image data that passed every check: the bytes (read once) and their mime."""

    data: _Buffer
    mime: str

    def data_uri(self) -> str:
        return "data:" + self.mime + ";base64," + base64.b64encode(self.data).decode("ascii")


def encode_image(value: ImageInput, *, field: str) -> str:
    """What to send for ``field`` (``"image"`` or ``"last_frame"``).

    An http(s) URL is returned unchanged (it must have a host). Local data, that is a path,
    bytes, a binary file object (read from its current position, not closed) or a data URI
    given as a str, is checked with inspect_image and returned as
    ``data:<mime>;base64,<data>``, the mime being the one detected from the content. Only a
    str is parsed as a URL or a data URI: an ``os.PathLike`` is always a path.

    Raises:
        ValidationError: naming ``field``, what is wrong and the limit.
    """
    image = checked_image(value, field=field)
    return image if isinstance(image, str) else image.data_uri()


def checked_image(value: ImageInput, *, field: str) -> str | CheckedImage:
    """``encode_image`` without building the data URI of local data: its checked bytes and
    mime instead (the client streams the Base64 from them). A str (URL or data URI) is
    returned as ``encode_image`` returns it.

    Raises:
        ValidationError: naming ``field``, what is wrong and the limit.
    """
    try:
        if isinstance(value, str):
            return _encode_str(value)
        if isinstance(value, os.PathLike):
            return _checked(_read_path(value))
        if isinstance(value, bytes | bytearray | memoryview):
            return _checked(_as_buffer(value))
        if callable(getattr(value, "read", None)):
            if isinstance(value, io.TextIOBase):
                raise _Problem(_TEXT_MODE)
            return _checked(_read_bounded(value.read))
    except _Problem as exc:
        raise ValidationError(field=field, problem=str(exc)) from None
    raise ValidationError(
        field=field, problem=f"expected {_INPUT_KINDS}, got {type(value).__name__}"
    )


def inspect_image(data: bytes | bytearray | memoryview, *, field: str) -> ImageInfo:
    """Check image bytes against every documented requirement and describe them.

    Raises:
        ValidationError: naming ``field``, what is wrong and the limit.
    """
    try:
        return _inspect(_as_buffer(data))
    except _Problem as exc:
        raise ValidationError(field=field, problem=str(exc)) from None


# --- Where the bytes come from ------------------------------------------------------------


def _encode_str(value: str) -> str | CheckedImage:
    if not value:
        raise _Problem(f"is an empty string; give {_INPUT_KINDS}")
    if is_http_url(value):
        return _checked_url(value)
    if value[:5].lower() == "data:":
        return _decode_data_uri(value)
    if _OTHER_SCHEME.match(value):
        scheme = value.split(":", 1)[0]
        raise _Problem(f"{scheme}:// URLs are not accepted; give {_INPUT_KINDS}")
    return _checked(_read_path(value))


# Whitespace (str.isspace's set) and ASCII control characters, found by one regex search:
# a character-by-character loop was a measurable share of a create call (benchmarks).
_UNSAFE_IN_URL: Final = re.compile(r"[\s\x00-\x1f\x7f]")


def _checked_url(url: str) -> str:
    shown = url if len(url) <= 100 else url[:100] + "..."
    try:
        host = urlsplit(url).hostname
    except ValueError as exc:  # e.g. an unclosed [IPv6 bracket
        raise _Problem(f"URL {shown!r} is not valid ({exc})") from None
    if not host:
        raise _Problem(f"URL {shown!r} has no host")
    # The server would fail on it later, after the task was created (and billed).
    if _UNSAFE_IN_URL.search(url):
        raise _Problem(f"URL {shown!r} contains whitespace or control characters")
    return url


# Common non-standard names for the same types; anything else that differs is a contradiction.
_MIME_ALIASES: Final = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/x-bmp": "image/bmp",
    "image/x-ms-bmp": "image/bmp",
}


def _decode_data_uri(uri: str) -> str:
    # Never echo the URI in a message: it may be megabytes long. Nor copy it needlessly:
    # the payload is sliced out only for the time of decoding it.
    comma = uri.find(",")
    declared, semicolon, encoding = uri[5 : max(comma, 5)].partition(";")
    if comma < 0 or not semicolon or encoding.lower() != "base64" or "/" not in declared:
        raise _Problem("a data URI must have the form data:<mime>;base64,<data>")
    # Four Base64 characters carry three bytes: refuse an oversized payload before decoding it.
    if len(uri) - comma - 1 > 4 * -(-IMAGE_MAX_BYTES // 3):
        raise _Problem(f"the data URI holds more than {IMAGE_MAX_BYTES:,} bytes; {_SIZE_LIMIT}")
    try:
        data = base64.b64decode(uri[comma + 1 :], validate=True)
    except ValueError:  # binascii.Error, or non-ASCII characters
        raise _Problem(
            "the data URI payload is not valid Base64 (standard alphabet, padded, no whitespace)"
        ) from None
    info = _inspect(data)
    declared = declared.strip().lower()
    if _MIME_ALIASES.get(declared, declared) != info.mime:
        raise _Problem(
            f"the data URI declares {declared} but the data is a {info.format.upper()} image "
            f"({info.mime})"
        )
    prefix = f"data:{info.mime};base64,"
    if uri.startswith(prefix):
        return uri  # already what we would build: spare a second multi-megabyte string
    return prefix + base64.b64encode(data).decode("ascii")


def _read_path(path: str | os.PathLike[str]) -> _Buffer:
    """The bytes of a regular file, read with a bound (see _read_bounded).

    The file is opened non-blocking and checked with fstat on the open descriptor, so that a
    FIFO cannot hang us and nothing can swap the file between the check and the read.
    """
    name = os.fspath(path)
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NONBLOCK", 0)  # opening a FIFO would otherwise wait for a writer
        | getattr(os, "O_NOCTTY", 0)  # a terminal must not become our controlling one
        | getattr(os, "O_BINARY", 0)  # Windows would translate newlines
    )
    try:
        fd = os.open(name, flags)
    except FileNotFoundError:
        raise _Problem(f"file {name!r} does not exist") from None
    except OSError as exc:
        if os.path.isdir(name):  # Windows refuses to open a directory
            raise _Problem(f"{name!r} is a directory, not an image file") from None
        raise _Problem(f"cannot open {name!r}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _Problem(f"{name!r} is {_file_kind(info.st_mode)}, not a regular image file")
        if info.st_size > IMAGE_MAX_BYTES:  # known too big: refuse without reading a byte
            raise _Problem(f"file {name!r} is {info.st_size:,} bytes; {_SIZE_LIMIT}")
        return _read_bounded(lambda n: os.read(fd, n), expected=info.st_size)
    except OSError as exc:
        raise _Problem(f"cannot read {name!r}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _file_kind(mode: int) -> str:
    kinds = {
        stat.S_ISDIR: "a directory",
        stat.S_ISFIFO: "a FIFO (named pipe)",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
    }
    return next((kind for test, kind in kinds.items() if test(mode)), "not a regular file")


def _read_bounded(read: Callable[[int], object], expected: int = IMAGE_MAX_BYTES) -> _Buffer:
    """Read to the end, but never more than IMAGE_MAX_BYTES + 1 bytes in all: one byte past
    the limit proves the input too big without reading (or holding) the rest of it.

    Args:
        read: ``read(n)`` of a file object, or ``os.read`` on a descriptor.
        expected: the size the file claims; the first read asks for one byte more, which
            normally returns everything at once.
    """
    chunks: list[bytes] = []
    total = 0
    want = min(expected, IMAGE_MAX_BYTES) + 1
    while total <= IMAGE_MAX_BYTES:
        chunk = read(want)
        if isinstance(chunk, str):
            raise _Problem(_TEXT_MODE)
        if chunk is None:
            raise _Problem("the file object is non-blocking and had no data ready")
        if not isinstance(chunk, bytes | bytearray):
            raise _Problem(f"the file object's read() returned {type(chunk).__name__}, not bytes")
        if not chunk:
            break
        chunks.append(bytes(chunk) if isinstance(chunk, bytearray) else chunk)
        total += len(chunk)
        # Past the expected size, only an end-of-file check or a file that grew: no need to
        # ask for (and allocate) megabytes at a time.
        want = min(IMAGE_MAX_BYTES + 1 - total, max(expected + 1 - total, 1 << 16))
    if total > IMAGE_MAX_BYTES:
        raise _Problem(f"the file is larger than {IMAGE_MAX_BYTES:,} bytes; {_SIZE_LIMIT}")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _as_buffer(data: bytes | bytearray | memoryview) -> _Buffer:
    if isinstance(data, bytes):
        return data
    view = memoryview(data)
    # A flat byte view reads the caller's buffer in place; only an exotic strided one is copied.
    return view.cast("B") if view.c_contiguous else view.tobytes()


def _checked(data: _Buffer) -> CheckedImage:
    return CheckedImage(data, _inspect(data).mime)


# --- What the bytes are -------------------------------------------------------------------


def _inspect(data: _Buffer) -> ImageInfo:
    size = len(data)
    if size == 0:
        raise _Problem("the image is empty (0 bytes)")
    if size > IMAGE_MAX_BYTES:
        raise _Problem(f"the image is {size:,} bytes; {_SIZE_LIMIT}")
    fmt = next((f for f in _FORMATS.values() if f.matches(data)), None)
    if fmt is None:
        other = _other_format(data)
        what = f"{other} images are not accepted" if other else "the data is not a known image"
        raise _Problem(f"{what}; the accepted formats are {_ACCEPTED}")
    try:
        width, height = fmt.dimensions(data)
    except (_Unreadable, IndexError):
        raise _Problem(
            "could not read the dimensions: the file is truncated or not a valid "
            f"{fmt.name.upper()}"
        ) from None
    for side, pixels in (("width", width), ("height", height)):
        if pixels < IMAGE_MIN_SIDE:
            raise _Problem(f"{side} {pixels} px is below the minimum of {IMAGE_MIN_SIDE} px")
        if pixels > IMAGE_MAX_SIDE:
            raise _Problem(f"{side} {pixels} px is above the maximum of {IMAGE_MAX_SIDE} px")
    # Last, being the one check that reads the whole file.
    try:
        STRUCTURE_CHECKS[fmt.name](data)
    except Corrupt as exc:
        raise _Problem(f"the file is truncated or corrupt: {exc}") from None
    return ImageInfo(format=fmt.name, mime=fmt.mime, width=width, height=height, size=size)


def _take(data: _Buffer, pos: int, size: int) -> bytes:
    """``size`` bytes at ``pos`` (a small copy), or _Unreadable if the data ends first."""
    if pos < 0 or pos + size > len(data):
        raise _Unreadable
    return bytes(data[pos : pos + size])


def _uint(
    data: _Buffer, pos: int, size: int, order: Literal["big", "little"], *, signed: bool = False
) -> int:
    return int.from_bytes(_take(data, pos, size), order, signed=signed)


_JPEG_SOF: Final = JPEG_SOF  # the SOFn markers: they carry the frame size
_JPEG_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length


def _jpeg_dimensions(data: _Buffer) -> tuple[int, int]:
    """Walk the segments after SOI to the first SOFn, skipping the others by their length."""
    pos = 2
    while True:
        if data[pos] != 0xFF:
            raise _Unreadable
        while data[pos] == 0xFF:  # any number of fill bytes may precede a marker
            pos += 1
        marker = data[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0x00, 0xD8, 0xD9, 0xDA):  # stuffing, SOI, EOI or a scan before any frame
            raise _Unreadable
        length = _uint(data, pos, 2, "big")
        if length < 2:
            raise _Unreadable
        if marker in _JPEG_SOF:  # length, precision, height, width
            height, width = _uint(data, pos + 3, 2, "big"), _uint(data, pos + 5, 2, "big")
            if not width or not height:  # height 0 means "defined later by DNL"
                raise _Unreadable
            return width, height
        pos += length


def _png_dimensions(data: _Buffer) -> tuple[int, int]:
    """IHDR holds the size and colour type; then walk the chunks up to IDAT for tRNS."""
    if _take(data, 12, 4) != b"IHDR":
        raise _Unreadable
    width, height = _uint(data, 16, 4, "big"), _uint(data, 20, 4, "big")
    colour_type = _take(data, 25, 1)[0]
    if colour_type in (4, 6):
        raise _Problem(_png_transparency("it has an alpha channel"))
    pos = 8
    while (chunk := _take(data, pos + 4, 4)) != b"IDAT":
        if chunk == b"tRNS":
            raise _Problem(_png_transparency("it has a tRNS chunk"))
        if chunk == b"IEND":  # no image data at all
            raise _Unreadable
        pos += 12 + _uint(data, pos, 4, "big")  # length, type, data, CRC
    return width, height


def _png_transparency(why: str) -> str:
    return (
        f"PNG with transparency is not accepted ({why}); flatten it onto a background "
        "or save it as JPEG"
    )


_BMP_DIB_SIZES: Final = frozenset({12, 16, 40, 52, 56, 64, 108, 124})  # CORE, OS/2 2, INFO, V2-V5


def _bmp_dimensions(data: _Buffer) -> tuple[int, int]:
    dib_size = _uint(data, 14, 4, "little")
    _take(data, 14, dib_size)  # the whole DIB header must be there
    if dib_size == 12:  # BITMAPCOREHEADER: unsigned 16-bit sides
        return _uint(data, 18, 2, "little"), _uint(data, 20, 2, "little")
    width = _uint(data, 18, 4, "little", signed=True)
    height = _uint(data, 22, 4, "little", signed=True)  # negative: rows stored top-down
    if width <= 0 or height == 0:
        raise _Unreadable
    return width, abs(height)


def _vp8_dimensions(data: _Buffer) -> tuple[int, int]:
    """Lossy: 14-bit sides after the 3-byte frame tag and the start code 9D 01 2A."""
    if _take(data, 23, 3) != b"\x9d\x01\x2a":
        raise _Unreadable
    return _uint(data, 26, 2, "little") & 0x3FFF, _uint(data, 28, 2, "little") & 0x3FFF


def _vp8l_dimensions(data: _Buffer) -> tuple[int, int]:
    """Lossless: signature 0x2F, then width-1 and height-1 in 14 bits each."""
    if _take(data, 20, 1) != b"\x2f":
        raise _Unreadable
    bits = _uint(data, 21, 4, "little")
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1


def _vp8x_dimensions(data: _Buffer) -> tuple[int, int]:
    """Extended: after 4 bytes of flags, canvas width-1 and height-1 in 24 bits each."""
    return _uint(data, 24, 3, "little") + 1, _uint(data, 27, 3, "little") + 1


_WEBP_CHUNKS: Final[dict[bytes, Callable[[_Buffer], tuple[int, int]]]] = {
    b"VP8 ": _vp8_dimensions,
    b"VP8L": _vp8l_dimensions,
    b"VP8X": _vp8x_dimensions,
}


def _webp_dimensions(data: _Buffer) -> tuple[int, int]:
    reader = _WEBP_CHUNKS.get(_take(data, 12, 4))
    if reader is None:
        raise _Unreadable
    return reader(data)


@dataclass(frozen=True, slots=True)
class _Format:
    name: str
    mime: str
    matches: Callable[[_Buffer], bool]  # must not raise on short data
    # (width, height); raises _Unreadable (or IndexError) on a broken header, _Problem on a
    # readable but refused one (PNG transparency).
    dimensions: Callable[[_Buffer], tuple[int, int]]


_FORMATS: Final[dict[str, _Format]] = {
    "jpeg": _Format(
        "jpeg", "image/jpeg", lambda d: bytes(d[:3]) == b"\xff\xd8\xff", _jpeg_dimensions
    ),
    "png": _Format(
        "png", "image/png", lambda d: bytes(d[:8]) == b"\x89PNG\r\n\x1a\n", _png_dimensions
    ),
    # "BM" alone is too weak (any text may start with it): the DIB header size must be known.
    "bmp": _Format(
        "bmp",
        "image/bmp",
        lambda d: (
            len(d) >= 18
            and bytes(d[:2]) == b"BM"
            and int.from_bytes(d[14:18], "little") in _BMP_DIB_SIZES
        ),
        _bmp_dimensions,
    ),
    "webp": _Format(
        "webp",
        "image/webp",
        lambda d: bytes(d[:4]) == b"RIFF" and bytes(d[8:12]) == b"WEBP",
        _webp_dimensions,
    ),
}

# Formats people often try, named in the refusal so that they know what they gave us.
_OTHER_FORMATS: Final = {
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"\x00\x00\x01\x00": "ICO",
    b"8BPS": "PSD",
    b"%PDF": "PDF",
    b"\x00\x00\x00\x0cjP  ": "JPEG 2000",
    b"\xff\x0a": "JPEG XL",
    b"\x00\x00\x00\x0cJXL ": "JPEG XL",
}
_ISOBMFF_BRANDS: Final = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"avif": "AVIF"}


def _other_format(data: _Buffer) -> str | None:
    head = bytes(data[:256])
    if head[4:8] == b"ftyp":
        return _ISOBMFF_BRANDS.get(head[8:12])
    if b"<svg" in head.lower():
        return "SVG"
    return next((name for magic, name in _OTHER_FORMATS.items() if head.startswith(magic)), None)
