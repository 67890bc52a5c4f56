"""Every documented constraint is enforced before sending, for both clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import CREATE_PATH, task_json

import wan_i2v
from wan_i2v._spec_facts import CREATE_FIELDS

PROMPT_MAX_CHARS = CREATE_FIELDS["prompt"].max_length or 0
NEGATIVE_PROMPT_MAX_CHARS = CREATE_FIELDS["negative_prompt"].max_length or 0
SEED_MAX = int(CREATE_FIELDS["seed"].maximum or 0)

URL_IMAGE = "https://example.com/flower.jpg"

# (argument overrides, field named in the error, a fragment of the problem)
INVALID = [
    ({"prompt": ""}, "prompt", "empty"),
    ({"prompt": " \n\t "}, "prompt", "whitespace"),
    ({"prompt": "x" * (PROMPT_MAX_CHARS + 1)}, "prompt", "maximum is 800"),
    ({"prompt": 42}, "prompt", "must be a str"),
    ({"negative_prompt": "x" * (NEGATIVE_PROMPT_MAX_CHARS + 1)}, "negative_prompt", "500"),
    ({"resolution": "720P"}, "resolution", "wan2.2-i2v-flash"),
    ({"resolution": "4K"}, "resolution", "'480P', '1080P'"),
    ({"resolution": None}, "resolution", "not one of"),
    ({"duration": 10}, "duration", "must be 5"),
    ({"duration": 5.0}, "duration", "must be 5"),
    ({"duration": True}, "duration", "must be 5"),
    ({"seed": -1}, "seed", "[0, 2147483647]"),
    ({"seed": SEED_MAX + 1}, "seed", "[0, 2147483647]"),
    ({"seed": True}, "seed", "must be an int"),
    ({"seed": 1.5}, "seed", "must be an int"),
    ({"prompt_extend": "yes"}, "prompt_extend", "True or False"),
    ({"prompt_extend": 1}, "prompt_extend", "True or False"),
    ({"extra_body": {"seed": 3}}, "extra_body", "documented field"),
    ({"extra_body": {"x": object()}}, "extra_body", "JSON"),
    ({"extra_body": {"x": float("nan")}}, "extra_body", "JSON"),
    ({"image": "ftp://example.com/a.jpg"}, "image", ""),
    ({"last_frame": "/no/such/file.png"}, "last_frame", ""),
]


@pytest.mark.parametrize(("overrides", "field", "fragment"), INVALID)
def test_invalid_field_is_refused_and_nothing_is_sent(
    api: respx.MockRouter, client: Any, overrides: dict[str, Any], field: str, fragment: str
) -> None:
    """A bad field raises ValidationError naming it and its limit, and no request is made."""
    route = api.post(CREATE_PATH).respond(202, json=task_json())
    args: dict[str, Any] = {"image": URL_IMAGE, "prompt": "Flowers swaying", **overrides}
    with pytest.raises(wan_i2v.ValidationError) as info:
        client.create(**args)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert fragment in str(info.value)
    assert "Nothing was sent" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert route.call_count == 0
    assert len(api.calls) == 0


def test_bad_local_image_is_refused_before_any_request(
    api: respx.MockRouter, client: Any, tmp_path: Path
) -> None:
    """A local image below the minimum size is refused unsent, naming the limit."""
    from PIL import Image

    small = tmp_path / "small.png"
    Image.new("RGB", (300, 400)).save(small)
    route = api.post(CREATE_PATH).respond(202, json=task_json())
    with pytest.raises(wan_i2v.ValidationError, match="360") as info:
        client.create(image=small, prompt="p")
    assert info.value.field == "image"
    assert route.call_count == 0


def test_prompt_length_counts_code_points_not_bytes(api: respx.MockRouter, client: Any) -> None:
    """800 CJK characters (2,400 UTF-8 bytes) pass; 801 do not (D5)."""
    route = api.post(CREATE_PATH).respond(202, json=task_json())
    client.create(image=URL_IMAGE, prompt="花" * PROMPT_MAX_CHARS)
    assert route.call_count == 1
    with pytest.raises(wan_i2v.ValidationError, match="801 characters"):
        client.create(image=URL_IMAGE, prompt="花" * (PROMPT_MAX_CHARS + 1))
    assert route.call_count == 1


def test_boundaries_are_accepted_and_sent_as_given(api: respx.MockRouter, client: Any) -> None:
    """The limits themselves are valid: seed 0 and 2**31-1, 800 and 500 characters."""
    route = api.post(CREATE_PATH).respond(202, json=task_json())
    for seed in (0, SEED_MAX):
        client.create(
            image=URL_IMAGE,
            prompt="p" * PROMPT_MAX_CHARS,
            negative_prompt="n" * NEGATIVE_PROMPT_MAX_CHARS,
            seed=seed,
            resolution="480P",
        )
        sent = route.calls.last.request
        body = httpx.Response(200, content=sent.content).json()
        assert body["seed"] == seed
        assert body["resolution"] == "480P"
        assert len(body["prompt"]) == PROMPT_MAX_CHARS


def test_resolution_case_is_normalised(api: respx.MockRouter, client: Any) -> None:
    """'1080p' can only mean '1080P' and is sent as such (D1)."""
    route = api.post(CREATE_PATH).respond(202, json=task_json())
    client.create(image=URL_IMAGE, prompt="p", resolution="1080p")
    assert b'"resolution":"1080P"' in route.calls.last.request.content


def test_sent_body_has_documented_defaults_and_extra_fields(
    api: respx.MockRouter, client: Any
) -> None:
    """Defaults are explicit on the wire and extra_body (fields the spec lacks) goes unchecked."""
    route = api.post(CREATE_PATH).respond(202, json=task_json())
    client.create(image=URL_IMAGE, prompt="p", extra_body={"watermark": False})
    body = httpx.Response(200, content=route.calls.last.request.content).json()
    assert body == {
        "prompt": "p",
        "image": URL_IMAGE,
        "resolution": "1080P",
        "duration": 5,
        "prompt_extend": True,
        "watermark": False,
    }


def test_local_image_is_sent_as_a_data_uri(
    api: respx.MockRouter, client: Any, image_path: Path
) -> None:
    """A local file goes out as data:image/png;base64,... with its bytes intact (D7)."""
    import base64

    route = api.post(CREATE_PATH).respond(202, json=task_json())
    client.create(image=image_path, last_frame=image_path.read_bytes(), prompt="p")
    body = httpx.Response(200, content=route.calls.last.request.content).json()
    for field in ("image", "last_frame"):
        prefix, _, payload = body[field].partition(",")
        assert prefix == "data:image/png;base64"
        assert base64.b64decode(payload) == image_path.read_bytes()
