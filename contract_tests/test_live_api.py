"""Drift check of a live API (the real one, or staging), read-only by construction.

Runs only when WAN_I2V_CONTRACT_URL and WAN_I2V_CONTRACT_KEY are set (`-m live`). It sends
only requests that the spec says must be refused, and status checks of task ids that do not
exist, so it cannot create a billed task; it checks that the API still refuses them with a
documented status and an error body that matches the spec.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ._support import CREATE_PATH, load_spec, validator

URL = os.environ.get("WAN_I2V_CONTRACT_URL", "")
KEY = os.environ.get("WAN_I2V_CONTRACT_KEY", "")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not (URL and KEY), reason="set WAN_I2V_CONTRACT_URL and _KEY"),
]

IMAGE = "https://example.com/never-fetched.jpg"
# Each body breaks a constraint the page states, and most break two, so an API that drifted
# on one of them still refuses the request rather than billing a task.
MUST_BE_REFUSED: dict[str, dict[str, Any]] = {
    "missing image": {"prompt": "p", "seed": -1},
    "missing prompt": {"image": IMAGE, "seed": -1},
    "resolution 720P": {"prompt": "p", "image": IMAGE, "resolution": "720P", "seed": -1},
    "duration 10": {"prompt": "p", "image": IMAGE, "duration": 10, "seed": -1},
    "seed -1": {"prompt": "p", "image": IMAGE, "seed": -1, "duration": 10},
    "seed 2**31": {"prompt": "p", "image": IMAGE, "seed": 2**31, "duration": 10},
    "prompt 801 characters": {"prompt": "x" * 801, "image": IMAGE, "seed": -1},
    "negative_prompt 501": {"prompt": "p", "image": IMAGE, "negative_prompt": "x" * 501,
                            "seed": -1},
    "prompt_extend 'yes'": {"prompt": "p", "image": IMAGE, "prompt_extend": "yes", "seed": -1},
}  # fmt: skip


def documented(path: str, method: str) -> set[int]:
    responses = load_spec()["paths"][path][method]["responses"]
    return {int(code) for code in responses if code.isdigit()}


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=URL, headers={"Authorization": f"Bearer {KEY}"}, timeout=30
    ) as client:
        yield client


@pytest.mark.parametrize("name", sorted(MUST_BE_REFUSED))
def test_invalid_create_is_refused(http: httpx.Client, name: str) -> None:
    """The API refuses what the spec forbids, with a documented 4xx and error body."""
    body = MUST_BE_REFUSED[name]
    assert not validator("CreateGenerationTaskRequest").is_valid(body)
    response = http.post(CREATE_PATH, json=body)
    assert 400 <= response.status_code < 500, f"{name}: {response.status_code} {response.text}"
    assert response.status_code in documented(CREATE_PATH, "post")
    validator("ErrorBody").validate(response.json())


def test_unknown_task_is_404(http: httpx.Client) -> None:
    """A task id nobody created is 404 with an error body."""
    response = http.get(f"{CREATE_PATH}/{uuid.uuid4()}")
    assert response.status_code == 404
    validator("ErrorBody").validate(response.json())


def test_missing_key_is_401() -> None:
    """Without a token the API answers 401."""
    response = httpx.get(f"{URL}{CREATE_PATH}/{uuid.uuid4()}", timeout=30)
    assert response.status_code == 401
