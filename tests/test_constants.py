"""The limits the client enforces are the limits in spec/openapi.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from wan_i2v import _constants as c
from wan_i2v._spec import load_spec


@pytest.fixture(scope="module")
def request_schema() -> dict[str, Any]:
    schema: dict[str, Any] = load_spec()["components"]["schemas"]["CreateGenerationTaskRequest"]
    return schema


def test_field_limits_match_the_spec(request_schema: dict[str, Any]) -> None:
    """Every bound in _constants equals the spec's, so they cannot drift apart."""
    props = request_schema["properties"]
    assert props["prompt"]["maxLength"] == c.PROMPT_MAX_CHARS
    assert props["negative_prompt"]["maxLength"] == c.NEGATIVE_PROMPT_MAX_CHARS
    assert tuple(props["resolution"]["enum"]) == c.RESOLUTIONS
    assert props["resolution"]["default"] == c.DEFAULT_RESOLUTION
    assert (props["duration"]["const"],) == c.DURATIONS
    assert props["prompt_extend"]["default"] is c.DEFAULT_PROMPT_EXTEND
    assert (props["seed"]["minimum"], props["seed"]["maximum"]) == (c.SEED_MIN, c.SEED_MAX)


@pytest.mark.parametrize("field", ["image", "last_frame"])
def test_image_limits_match_the_spec(request_schema: dict[str, Any], field: str) -> None:
    """The image requirements (x-image-*) are the ones _images enforces."""
    prop = request_schema["properties"][field]
    assert prop["x-image-min-side"] == c.IMAGE_MIN_SIDE
    assert prop["x-image-max-side"] == c.IMAGE_MAX_SIDE
    assert prop["x-image-max-bytes"] == c.IMAGE_MAX_BYTES
    assert tuple(prop["x-image-formats"]) == c.IMAGE_FORMATS


def test_status_words_match_the_spec() -> None:
    """The status vocabularies the client understands are the ones the spec lists."""
    status = load_spec()["components"]["schemas"]["TaskInfo"]["properties"]["status"]
    known = status["x-known-values"]
    assert set(known["pending"]) == c.PENDING_STATUSES
    assert set(known["running"]) == c.RUNNING_STATUSES
    assert set(known["succeeded"]) == c.SUCCESS_STATUSES
    assert set(known["failed"]) == c.FAILURE_STATUSES
    assert "enum" not in status


def test_sites_match_the_spec_servers() -> None:
    """Both sites are the spec's servers."""
    assert sorted(s["url"] for s in load_spec()["servers"]) == sorted(c.SITES.values())
