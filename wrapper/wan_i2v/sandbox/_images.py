"""The sandbox's own reading of images, with Pillow.

The client checks images with ``wan_i2v._images``; an oracle that shared that code could not
catch its mistakes, so the sandbox reads the bytes with another decoder and judges them by the
rules the spec states (``x-image-*``). A bad image does not make the request fail: its task
fails later with code 3001, as the API's does.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from dataclasses import dataclass

from PIL import Image, JpegImagePlugin

from ._from_spec import image_rules

PILLOW_FORMATS = {"JPEG": "jpeg", "PNG": "png", "BMP": "bmp", "WEBP": "webp"}


def _kind(image: Image.Image) -> str | None:
    """The format the API would decode the image as (its name in the spec), or None.

    Judged by the decoder, not by Pillow's format name: Pillow names a JPEG with a
    multi-picture (MPF) segment "MPO", as phones and 3D cameras write them, but reads it with
    its JPEG plugin (MpoImageFile is a JpegImageFile), as every JPEG decoder shows its first
    picture. Any such JPEG variant is a JPEG.
    """
    if isinstance(image, JpegImagePlugin.JpegImageFile):
        return "jpeg"
    return PILLOW_FORMATS.get(image.format or "")


@dataclass(frozen=True)
class Verdict:
    """What the sandbox makes of one image field: its size if it can be read, and why its
    task must fail (None: it passes)."""

    size: tuple[int, int] | None
    failure: str | None


def decode_data_uri(value: str) -> bytes | None:
    """The bytes of a ``data:<mime>;base64,<data>`` URI, or None if it is not one."""
    head, sep, payload = value.partition(",")
    if not sep or not head.lower().endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


def judge(field: str, value: object) -> Verdict:
    """The verdict on one image field of a create body that passed the schema.

    A URL passes unread (the sandbox fetches nothing); a data URI is decoded and judged.
    """
    if not isinstance(value, str) or not value.startswith("data:"):
        return Verdict(None, None)
    rules = image_rules()[field]
    data = decode_data_uri(value)
    if data is None:
        return Verdict(None, f"{field} is not a base64 data URI")
    if len(data) > rules.max_bytes:
        return Verdict(None, f"{field} is {len(data)} bytes, over {rules.max_bytes}")
    try:
        with warnings.catch_warnings():
            # Pillow warns of huge pixel counts; the side check below refuses them anyway.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Exception:  # Pillow raises many types for bytes it cannot read
        return Verdict(None, f"{field} is not an image that can be decoded")
    with image:
        kind = _kind(image)
        if kind not in rules.formats:
            allowed = ", ".join(sorted(rules.formats))
            return Verdict(None, f"{field} format {image.format} is not one of {allowed}")
        width, height = image.size
        for side, length in (("width", width), ("height", height)):
            if not rules.min_side <= length <= rules.max_side:
                return Verdict(
                    image.size,
                    f"{field} {side} {length} is outside [{rules.min_side}, {rules.max_side}]",
                )
        if kind == "png" and ("A" in image.getbands() or "transparency" in image.info):
            return Verdict(image.size, f"{field} is a PNG with transparency")
        try:
            image.load()  # the header alone passes a truncated file
        except Exception:  # as above
            return Verdict(image.size, f"{field} is truncated or corrupt")
        return Verdict(image.size, None)
