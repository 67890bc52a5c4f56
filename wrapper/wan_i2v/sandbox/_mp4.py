"""The bundled MP4s (5 s, 30 fps; made by make_videos.py) and which one fits an image."""

from __future__ import annotations

import functools
from importlib import resources

from .._errors import ValidationError
from .._images import inspect_image
from ._check import decode_data_uri

# name: width / height, matching the files in videos/.
ASPECTS = {"16x9": 16 / 9, "9x16": 9 / 16, "1x1": 1.0, "4x3": 4 / 3, "3x4": 3 / 4}
DEFAULT = "16x9"


def video_for(image: object) -> tuple[str, str | None]:
    """The bundled video nearest to the image's aspect ratio, and why the task will fail
    (an image that breaks the documented requirements fails its task, as the API's does),
    or None. A URL gets 16:9: the sandbox never fetches anything."""
    if not isinstance(image, str) or not image.startswith("data:"):
        return DEFAULT, None
    data = decode_data_uri(image)
    if data is None:
        return DEFAULT, "the image is not valid base64"
    try:
        info = inspect_image(data, field="image")
    except ValidationError as exc:
        return DEFAULT, f"Invalid image: {exc.problem}"
    ratio = info.width / info.height
    return min(ASPECTS, key=lambda name: abs(ASPECTS[name] - ratio)), None


@functools.cache
def video_bytes(name: str) -> bytes:
    return (resources.files(__package__) / "videos" / f"{name}.mp4").read_bytes()
