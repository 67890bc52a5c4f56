"""The video a task gets: shaped like the request, as upstream's is.

Upstream keeps the input image's aspect ratio at about the tier's pixel count (480P about
0.4 Mpx, 1080P about 2.07 Mpx; reference/mulerouter-facts.md). The sandbox ships five tiny
MP4s (5 s, 30 fps; made by scripts/make_sandbox_videos.py), one per common aspect, and
shapes the nearest one to the request without a video library:

- its track header (``tkhd``) gets the tier's size at the input's exact aspect: the track's
  presentation size, which players scale the frames to (the coded frames stay small, so the
  file stays valid and the wheel small);
- a ``free`` box (ignored by every reader) pads the file to about as many bytes per pixel for
  every tier, so a 1080P video is also the larger download.
"""

from __future__ import annotations

import functools
import math
import struct
from dataclasses import dataclass
from importlib import resources

# name: width / height, matching the files in videos/.
ASPECTS = {"16x9": 16 / 9, "9x16": 9 / 16, "1x1": 1.0, "4x3": 4 / 3, "3x4": 3 / 4}
DEFAULT_ASPECT = 16 / 9  # an image given by URL: the sandbox never fetches anything
PIXELS_PER_PADDING_BYTE = 16  # free-box bytes: the tier's pixels / this
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


@dataclass(frozen=True)
class VideoShape:
    """Which bundled video, at which presentation size."""

    name: str
    width: int
    height: int


def tier_rows(resolution: str) -> int:
    """The rows of a tier's 16:9 frame: "1080P" -> 1080."""
    digits = resolution.upper().removesuffix("P")
    if not digits.isdigit() or int(digits) < 2:
        raise ValueError(f"a resolution tier is <rows>P, got {resolution!r}")
    return int(digits)


def shape_for(size: tuple[int, int] | None, resolution: str) -> VideoShape:
    """The video for an input of ``size`` (None: unknown) at ``resolution``: the tier's
    pixel count (its 16:9 frame: 1080P is 1920x1080) at the input's aspect, even sides."""
    aspect = size[0] / size[1] if size else DEFAULT_ASPECT
    rows = tier_rows(resolution)
    pixels = rows * rows * 16 / 9
    height = math.sqrt(pixels / aspect)
    width, height = (2 * max(1, round(side / 2)) for side in (aspect * height, height))
    name = min(ASPECTS, key=lambda key: abs(ASPECTS[key] - aspect))
    return VideoShape(name, width, height)


@functools.cache
def _bundled(name: str) -> bytes:
    return (resources.files(__package__) / "videos" / f"{name}.mp4").read_bytes()


@functools.lru_cache(maxsize=64)  # a few shapes recur; each is at most ~150 KB
def video_bytes(shape: VideoShape) -> bytes:
    """The MP4 of ``shape``: the bundled one, resized in its header and padded."""
    data = bytearray(_bundled(shape.name))
    for offset in _boxes(data, 0, len(data), b"tkhd"):
        version = data[offset + 8]
        at = offset + 8 + (88 if version == 1 else 76)  # width, height: 16.16 fixed point
        struct.pack_into(">II", data, at, shape.width << 16, shape.height << 16)
    padding = shape.width * shape.height // PIXELS_PER_PADDING_BYTE
    data += struct.pack(">I4s", padding + 8, b"free") + bytes(padding)
    return bytes(data)


def video_size(data: bytes) -> tuple[int, int]:
    """The presentation size an MP4's first track header states (for tests and users)."""
    for offset in _boxes(data, 0, len(data), b"tkhd"):
        at = offset + 8 + (88 if data[offset + 8] == 1 else 76)
        width, height = struct.unpack_from(">II", data, at)
        return width >> 16, height >> 16
    raise ValueError("no track header (tkhd) in this MP4")


def _boxes(data: bytes | bytearray, start: int, end: int, kind: bytes) -> list[int]:
    """Offsets of every box of ``kind`` in ``data[start:end]``, looking inside containers."""
    found = []
    offset = start
    while offset + 8 <= end:
        size, name = struct.unpack_from(">I4s", data, offset)
        if size < 8:  # 0 (to the end) and 1 (64-bit size) are not used by the bundled files
            break
        if name == kind:
            found.append(offset)
        elif name in CONTAINERS:
            found += _boxes(data, offset + 8, offset + size, kind)
        offset += size
    return found
