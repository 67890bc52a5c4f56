"""Is the whole image file there? A walk of each format's structure to its end, no decoder.

The header alone says what an image claims to be; a file cut short (an interrupted copy or
download, a partial upload) or a valid header followed by garbage passes a header check and then
fails on the server, as a billed task. These checks walk every byte that says where the next
part starts, and check what can be checked without decoding pixels:

- JPEG: every marker segment from SOI to the first EOI, by its length; the entropy-coded data
  after each SOS is scanned for the next marker (0xFF00 stuffing and RSTn are part of it).
- PNG: every chunk's length and CRC-32, IHDR first, IEND last, and the IDAT zlib stream
  inflated to its end in small pieces whose output is counted and dropped, against the size
  that IHDR implies.
- WebP: the RIFF size against the bytes present, every chunk's size inside it, and the frame
  headers of the VP8/VP8L bitstreams.
- BMP: the file size field, the pixel data offset, and the pixel data the header implies.

Nothing here copies the image: the data is read through a memoryview (slices of it are views),
and zlib and crc32 take views directly. Bytes after the end of a complete image are accepted
(see _jpeg_end): decoders stop there, and phones and editors append data after it.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from typing import Final, TypeAlias

__all__ = ["JPEG_SOF", "STRUCTURE_CHECKS", "Buffer", "Corrupt"]

Buffer: TypeAlias = bytes | memoryview
"""Image bytes as the checks see them: bytes, or a flat byte view of a caller's buffer."""


class Corrupt(Exception):
    """The file ends early or its structure is broken; the message says where, for a user."""


def _u16be(view: memoryview, pos: int) -> int:
    return int.from_bytes(view[pos : pos + 2], "big")


def _u32be(view: memoryview, pos: int) -> int:
    return int.from_bytes(view[pos : pos + 4], "big")


def _u16le(view: memoryview, pos: int) -> int:
    return int.from_bytes(view[pos : pos + 2], "little")


def _u32le(view: memoryview, pos: int) -> int:
    return int.from_bytes(view[pos : pos + 4], "little")


# --- JPEG ---------------------------------------------------------------------------------

_EOI: Final = 0xD9
_SOS: Final = 0xDA
_SOI: Final = 0xD8
_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field
# SOFn markers carry the frame header. C4 (DHT), C8 (JPG) and CC (DAC) are not SOFs.
JPEG_SOF: Final = frozenset(
    {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)}
)
# A candidate end of entropy-coded data: 0xFF followed by anything but 0x00 (a stuffed data
# byte) or RST0-7 (restart markers belong to the scan). The regex engine searches a memoryview
# in place at C speed (5 ms for 9 MB); "\xff+" in the pattern would make it 20 times slower
# (and quadratic on long runs), so runs of fill bytes are handled in _scan_end. A file built to
# be slow (millions of "FF FF 00") takes about a second: linear, and only its sender waits.
_SCAN_CANDIDATE: Final = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_FILL: Final = re.compile(rb"\xff*+")


def _scan_end(view: memoryview, pos: int) -> int:
    """Where the marker that ends the entropy-coded data starting at ``pos`` begins."""
    size = len(view)
    while found := _SCAN_CANDIDATE.search(view, pos):
        start = found.start()
        fill = _FILL.match(view, start)  # always matches ("*"): the run of 0xFF at start
        run = fill.end() if fill else start
        # Fill bytes then 0x00 or RSTn: libjpeg reads that as data, as if the run were one 0xFF.
        if run < size and (view[run] == 0 or 0xD0 <= view[run] <= 0xD7):
            pos = run + 1
            continue
        return start
    raise Corrupt("the JPEG ends inside its image data, before the end marker (EOI)")


def _jpeg_end(data: Buffer) -> int:
    """Where the first image ends (just past its EOI); raises Corrupt if it never does.

    What follows the first EOI is not read. An MPO (the multi-picture format of phones and 3D
    cameras: an APP2 "MPF" segment, then further JPEGs after the first one's EOI) is a JPEG to
    every decoder, which shows its first picture; motion photos append an MP4 after the EOI;
    some editors append their own trailers. Decoders stop at the EOI, so do we: trailing bytes
    after a complete first image are accepted, whatever they are.
    """
    view = memoryview(data)
    size = len(view)
    pos = 2  # after SOI (the format sniffer saw it)
    frames = scans = 0
    while True:
        if pos >= size:
            raise Corrupt("the JPEG ends before its end-of-image marker (EOI)")
        if view[pos] != 0xFF:
            raise Corrupt(f"the JPEG has data where a marker should be (byte {pos:,})")
        fill = _FILL.match(view, pos)  # fill bytes may precede any marker
        pos = fill.end() if fill else pos
        if pos >= size:
            raise Corrupt("the JPEG ends before its end-of-image marker (EOI)")
        marker = view[pos]
        pos += 1
        if marker == _EOI:
            if not scans:
                raise Corrupt("the JPEG has no image data (no scan before its end marker)")
            return pos
        if marker in _STANDALONE:
            continue
        # A second start, stuffing or a reserved marker where a marker should be; or a second
        # frame header, which libjpeg refuses ("two SOF markers"): in random bytes after a
        # scan, most of the would-be markers are one of these.
        if marker == _SOI or marker < 0xC0 or (marker in JPEG_SOF and frames):
            raise Corrupt(f"the JPEG has an invalid marker 0xFF{marker:02X} at byte {pos - 2:,}")
        frames += marker in JPEG_SOF  # (a scan before any frame: _images refused it already)
        if pos + 2 > size:
            raise Corrupt("the JPEG ends inside a segment")
        length = _u16be(view, pos)
        if length < 2:
            raise Corrupt(f"the JPEG has a segment of impossible length at byte {pos - 2:,}")
        pos += length
        if pos > size:
            raise Corrupt("the JPEG ends inside a segment")
        if marker == _SOS:
            scans += 1
            pos = _scan_end(view, pos)


def check_jpeg(data: Buffer) -> None:
    """Raise Corrupt unless the first image runs complete from SOI to its EOI."""
    _jpeg_end(data)


# --- PNG ----------------------------------------------------------------------------------

_PNG_CHANNELS: Final = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_PNG_DEPTHS: Final = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
# Adam7 passes: (first column, first row, column step, row step).
_ADAM7: Final = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2))
_ADAM7_LAST: Final = (0, 1, 1, 2)
_INFLATE_IN: Final = 1 << 16  # compressed bytes fed per call
_INFLATE_OUT: Final = 1 << 18  # most pixel bytes held at once (then dropped)


def _png_raw_size(width: int, height: int, bits_per_pixel: int, interlaced: bool) -> int:
    """Bytes of the filtered scanlines the IDAT stream must inflate to (a filter byte per row)."""

    def rows(w: int, h: int) -> int:
        return 0 if not w or not h else h * (1 + (w * bits_per_pixel + 7) // 8)

    if not interlaced:
        return rows(width, height)
    return sum(
        rows((width - x + dx - 1) // dx, (height - y + dy - 1) // dy)
        for x, y, dx, dy in (*_ADAM7, _ADAM7_LAST)
    )


def _png_header(view: memoryview) -> int:
    """The raw size IHDR implies; Corrupt if its fields are not a valid combination."""
    if len(view) < 33 or _u32be(view, 8) != 13 or bytes(view[12:16]) != b"IHDR":
        raise Corrupt("the PNG does not start with its IHDR header chunk")
    width, height = _u32be(view, 16), _u32be(view, 20)
    depth, colour, compression, filtering, interlace = bytes(view[24:29])
    if (
        depth not in _PNG_DEPTHS.get(colour, ())
        or compression
        or filtering
        or interlace not in (0, 1)
    ):
        raise Corrupt("the PNG header (IHDR) holds an invalid combination of fields")
    return _png_raw_size(width, height, depth * _PNG_CHANNELS[colour], interlace == 1)


class _Inflater:
    """The IDAT zlib stream inflated piece by piece; only the count of output bytes is kept."""

    def __init__(self, expected: int) -> None:
        self._stream = zlib.decompressobj()
        self.expected = expected
        self.produced = 0

    @property
    def done(self) -> bool:
        # Past the expected size every row is there: decoders ignore the excess, and inflating
        # it (a zlib bomb inflates 1,000-fold) would be work for nothing.
        return self._stream.eof or self.produced > self.expected

    def feed(self, piece: memoryview) -> None:
        try:
            for start in range(0, len(piece), _INFLATE_IN):
                pending: Buffer = piece[start : start + _INFLATE_IN]
                while not self.done:
                    out = len(self._stream.decompress(pending, _INFLATE_OUT))
                    self.produced += out
                    pending = self._stream.unconsumed_tail  # at most _INFLATE_IN bytes
                    if not pending and out < _INFLATE_OUT:  # used up, no output held back
                        break
        except zlib.error as exc:
            raise Corrupt(f"the PNG image data is not a valid zlib stream ({exc})") from None


def check_png(data: Buffer) -> None:
    """Raise Corrupt unless every chunk is whole with its CRC, from IHDR to IEND, and the
    image data inflates to its end and to the size IHDR implies."""
    view = memoryview(data)
    size = len(view)
    inflater = _Inflater(_png_header(view))
    pos = 8
    palette = False
    while True:
        if pos + 12 > size:
            raise Corrupt("the PNG ends before its IEND chunk")
        length = _u32be(view, pos)
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > size:
            raise Corrupt("the PNG ends inside a chunk")
        kind = bytes(view[pos + 4 : pos + 8])
        if zlib.crc32(view[pos + 4 : end - 4]) != _u32be(view, end - 4):
            name = kind.decode("ascii") if kind.isalpha() else repr(kind)
            raise Corrupt(f"the PNG chunk {name} at byte {pos:,} fails its CRC check")
        if kind == b"IDAT":
            if not inflater.done:
                inflater.feed(view[pos + 8 : end - 4])
        elif kind == b"PLTE":
            palette = True
        elif kind == b"IEND":
            break  # what follows IEND is not read (see the module docstring)
        pos = end
    if view[25] == 3 and not palette:
        raise Corrupt("the PNG is a palette image without its palette (no PLTE chunk)")
    if inflater.produced < inflater.expected:  # also: no IDAT at all (_images refused it)
        raise Corrupt("the PNG image data ends before its last row")
    if not inflater.done:
        raise Corrupt("the PNG image data ends before the end of its zlib stream")


# --- WebP ---------------------------------------------------------------------------------


def _vp8_frame(view: memoryview, pos: int, size: int) -> None:
    """A lossy key frame: 3-byte tag (with the first partition's size), start code, sides."""
    if size < 10 or bytes(view[pos + 3 : pos + 6]) != b"\x9d\x01\x2a":
        raise Corrupt("the WebP VP8 frame header is invalid")
    tag = int.from_bytes(view[pos : pos + 3], "little")
    if tag & 1 or (tag >> 5) > size - 10:  # an interframe; a partition past the chunk
        raise Corrupt("the WebP VP8 frame header is invalid")


def _vp8l_frame(view: memoryview, pos: int, size: int) -> None:
    """A lossless bitstream: signature 0x2F, then sides and a 3-bit version that must be 0."""
    if size < 5 or view[pos] != 0x2F or _u32le(view, pos + 1) >> 29:
        raise Corrupt("the WebP VP8L header is invalid")


_WEBP_FRAMES: Final[dict[bytes, Callable[[memoryview, int, int], None]]] = {
    b"VP8 ": _vp8_frame,
    b"VP8L": _vp8l_frame,
}


def check_webp(data: Buffer) -> None:
    """Raise Corrupt unless the RIFF container is whole and holds an image bitstream."""
    view = memoryview(data)
    riff_end = 8 + _u32le(view, 4)
    if riff_end > len(view):
        raise Corrupt(
            f"the WebP is {len(view):,} bytes but its RIFF header says {riff_end:,}: "
            "the file is cut short"
        )
    pos = 12
    frames = 0
    while pos < riff_end:
        if pos + 8 > riff_end:
            raise Corrupt("the WebP ends inside a chunk header")
        kind, size = bytes(view[pos : pos + 4]), _u32le(view, pos + 4)
        if pos + 8 + size > riff_end:
            raise Corrupt(f"the WebP chunk {kind!r} runs past the end of the file")
        if check_frame := _WEBP_FRAMES.get(kind):
            check_frame(view, pos + 8, size)
            frames += 1
        elif kind == b"ANMF":  # an animation frame: its own header, then its bitstream
            frames += size >= 16
        # Chunks are padded to an even size. libwebp tolerates a missing pad byte at the very
        # end of the RIFF, and so do we.
        pos += 8 + size + (size & 1)
    if not frames:
        raise Corrupt("the WebP holds no image bitstream (no VP8 or VP8L chunk)")


# --- BMP ----------------------------------------------------------------------------------

_BMP_BITS: Final = frozenset({1, 2, 4, 8, 16, 24, 32})
_BMP_UNCOMPRESSED: Final = frozenset({0, 3, 6})  # BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS


def check_bmp(data: Buffer) -> None:
    """Raise Corrupt unless the pixel data the header describes is all in the file."""
    view = memoryview(data)
    size = len(view)
    declared, offset, dib = _u32le(view, 2), _u32le(view, 10), _u32le(view, 14)
    if declared > size:
        raise Corrupt(f"the BMP is {size:,} bytes but its header says {declared:,}: cut short")
    if dib == 12:  # BITMAPCOREHEADER: 16-bit sides, never compressed
        width, height, bits = _u16le(view, 18), _u16le(view, 20), _u16le(view, 24)
        compression = stored = 0
    else:
        width = int.from_bytes(view[18:22], "little", signed=True)
        height = abs(int.from_bytes(view[22:26], "little", signed=True))
        bits = _u16le(view, 28)
        compression = _u32le(view, 30) if dib >= 20 else 0
        stored = _u32le(view, 34) if dib >= 24 else 0
    if bits not in _BMP_BITS:
        raise Corrupt(f"the BMP has an invalid number of bits per pixel ({bits})")
    if offset < 14 + dib:
        raise Corrupt("the BMP's pixel data would start inside its header")
    # Uncompressed rows are padded to 4 bytes; for compressed data (RLE, embedded JPEG/PNG)
    # only the header's stored size, when given, says how much there must be.
    pixels = (width * bits + 31) // 32 * 4 * height if compression in _BMP_UNCOMPRESSED else stored
    if offset + pixels > size:
        raise Corrupt(
            f"the BMP's pixel data needs {offset + pixels:,} bytes but the file has {size:,}"
        )


STRUCTURE_CHECKS: Final[dict[str, Callable[[Buffer], None]]] = {
    "jpeg": check_jpeg,
    "png": check_png,
    "bmp": check_bmp,
    "webp": check_webp,
}
"""Our format name -> its whole-file check (raises Corrupt)."""
