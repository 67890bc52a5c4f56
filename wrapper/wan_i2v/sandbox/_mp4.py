"""The bundled MP4s (5 s, 30 fps; made by make_videos.py) and which one fits an image."""

from __future__ import annotations

import functools
from importlib import resources

# name: width / height, matching the files in videos/.
ASPECTS = {"16x9": 16 / 9, "9x16": 9 / 16, "1x1": 1.0, "4x3": 4 / 3, "3x4": 3 / 4}
DEFAULT = "16x9"


def video_for(size: tuple[int, int] | None) -> str:
    """The bundled video nearest to the image's aspect ratio; 16:9 when the size is unknown
    (a URL: the sandbox never fetches anything)."""
    if size is None:
        return DEFAULT
    ratio = size[0] / size[1]
    return min(ASPECTS, key=lambda name: abs(ASPECTS[name] - ratio))


@functools.cache
def video_bytes(name: str) -> bytes:
    return (resources.files(__package__) / "videos" / f"{name}.mp4").read_bytes()
