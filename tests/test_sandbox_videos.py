"""The sandbox's videos are shaped like the request: the input's aspect, the tier's size."""

from __future__ import annotations

import base64
import io
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sandbox_processes import sandbox_process

from wan_i2v.sandbox import RunningSandbox, SandboxConfig, serve
from wan_i2v.sandbox._from_spec import CREATE_OPERATION, operation_path, request_default
from wan_i2v.sandbox._mp4 import video_size

API = operation_path(CREATE_OPERATION)
AUTH = {"Authorization": "Bearer videos"}


def png(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 90, 160)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with serve(SandboxConfig(task_seconds=0)) as running:
        yield running


def video(url: str, **body: Any) -> bytes:
    """The MP4 of a task created with ``body`` (plus a prompt) on the sandbox at ``url``."""
    with httpx.Client(base_url=url, headers=AUTH) as http:
        task = http.post(API, json={"prompt": "p", **body}).json()["task_info"]["id"]
        link = http.get(f"{API}/{task}").json()["videos"][0]
        return httpx.get(link).content


def top_level_boxes(data: bytes) -> list[bytes]:
    """The MP4's top-level box names; their sizes must add up to the file exactly."""
    names, offset = [], 0
    while offset < len(data):
        size, name = struct.unpack_from(">I4s", data, offset)
        assert size >= 8
        names.append(name)
        offset += size
    assert offset == len(data)
    return names


@pytest.mark.parametrize("size", [(640, 360), (360, 640), (500, 500), (1000, 400)])
def test_1080p_is_bigger_than_480p_at_the_inputs_aspect(
    sandbox: RunningSandbox, size: tuple[int, int]
) -> None:
    """For one input, the 1080P video states about 2.07 Mpx and the 480P one about 0.41 Mpx
    (a 16:9 frame's pixels), both at the input's aspect; the 1080P file is also larger."""
    image = png(*size)
    large = video(sandbox.url, image=image, resolution="1080P")
    small = video(sandbox.url, image=image, resolution="480P")
    (lw, lh), (sw, sh) = video_size(large), video_size(small)
    assert lw * lh == pytest.approx(1920 * 1080, rel=0.01)
    assert sw * sh == pytest.approx(854 * 480, rel=0.01)
    for width, height in ((lw, lh), (sw, sh)):
        assert width / height == pytest.approx(size[0] / size[1], rel=0.01)
        assert width % 2 == height % 2 == 0  # H.264 sizes are even
    assert len(large) > len(small)
    assert top_level_boxes(large) == top_level_boxes(small)
    assert top_level_boxes(large)[0] == b"ftyp"


def test_the_spec_default_tier_applies_when_none_is_asked(sandbox: RunningSandbox) -> None:
    """No resolution in the body: the video has the spec's default tier (1080P)."""
    image = png(640, 360)
    default = request_default("resolution")
    assert video(sandbox.url, image=image) == video(sandbox.url, image=image, resolution=default)


def test_a_url_image_gets_a_16_9_video(sandbox: RunningSandbox) -> None:
    """An image given by URL is never fetched: its video is the tier's 16:9 frame."""
    assert video_size(video(sandbox.url, image="https://example.com/a.jpg")) == (1920, 1080)
    url_480 = video(sandbox.url, image="https://example.com/a.jpg", resolution="480P")
    assert video_size(url_480) == (854, 480)


@pytest.mark.slow
def test_1080p_bigger_than_480p_from_the_real_process(tmp_path: Path) -> None:
    """Against `wan-i2v sandbox`: the 1080P video of an input is larger than its 480P one."""
    image = png(800, 600)
    with sandbox_process(tmp_path, "--task-seconds", "0") as process:
        large = video(process.url, image=image, resolution="1080P")
        small = video(process.url, image=image, resolution="480P")
    (lw, lh), (sw, sh) = video_size(large), video_size(small)
    assert (lw / lh, sw / sh) == (pytest.approx(4 / 3, rel=0.01), pytest.approx(4 / 3, rel=0.01))
    assert lw * lh > 4 * sw * sh
    assert len(large) > len(small)
