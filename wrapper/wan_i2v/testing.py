"""Helpers for testing code that uses wan-i2v against servers of your own.

A download must be a video: the client refuses a body that does not open like an MP4 (an
error page, JSON, placeholder bytes). A fake video host in your tests can serve
``TINY_MP4``, a real 5-second MP4 of about 12 kB (the sandbox's own 16:9 video)::

    from wan_i2v.testing import TINY_MP4

    def video_host(request):
        return httpx.Response(200, content=TINY_MP4, headers={"Content-Type": "video/mp4"})

This module needs no extra: it imports nothing beyond the standard library.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

__all__ = ["TINY_MP4"]

# Read through the wan_i2v package, not wan_i2v.sandbox: that would import the sandbox's
# server (the "sandbox" extra) just to read a file.
TINY_MP4: Final[bytes] = (
    resources.files("wan_i2v").joinpath("sandbox", "videos", "16x9.mp4").read_bytes()
)
"""A valid MP4 video (5 s, 16:9, about 12 kB) for fake video hosts in tests."""
