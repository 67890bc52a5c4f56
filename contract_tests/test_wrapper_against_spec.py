"""schemathesis as the data source for the wrapper: what the spec allows goes out unchanged
and valid; what it forbids is refused before anything is sent."""

from __future__ import annotations

import json
from typing import Any

import hypothesis
import pytest
import respx
import schemathesis
from hypothesis import assume, given
from schemathesis import GenerationMode

import wan_i2v

from ._support import CREATE_PATH, PAGE_202, load_spec, validator

BASE = "https://api.mulerouter.ai"
URL = "https://example.com/frame.jpg"
# The spec's fields (not a list of our own: a field the spec gains is under test at once).
FIELDS = set(load_spec()["components"]["schemas"]["CreateGenerationTaskRequest"]["properties"])
SETTINGS = hypothesis.settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)

operation = schemathesis.openapi.from_dict(load_spec())[CREATE_PATH]["POST"]


def as_arguments(body: dict[str, Any]) -> dict[str, Any]:
    """create() keyword arguments for a request body: documented fields by name, the rest
    through extra_body. Image strings become a URL: the spec cannot say what an image is,
    the wrapper can (a URL, a data URI or a file), so their content is not under test here."""
    kwargs = {k: v for k, v in body.items() if k in FIELDS}
    for field in ("seed", "duration"):
        # JSON Schema counts 5.0 as an integer; a Python caller passes 5 (the wrapper refuses
        # floats, D12), and both are the same JSON number on the wire.
        if isinstance(kwargs.get(field), float) and kwargs[field].is_integer():
            kwargs[field] = int(kwargs[field])
    for field in ("image", "last_frame"):
        if isinstance(kwargs.get(field), str):
            kwargs[field] = URL
    extra = {k: v for k, v in body.items() if k not in FIELDS}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


@given(case=operation.as_strategy())
@SETTINGS
def test_valid_bodies_go_out_unchanged_and_valid(case: schemathesis.Case[Any]) -> None:
    """For bodies the spec allows, the wire request validates and carries the same fields."""
    body = case.body
    assume(isinstance(body, dict))
    assert isinstance(body, dict)
    assume(str(body.get("prompt", "")).strip())  # blank prompts are refused by design (D11)
    kwargs = as_arguments(body)
    with respx.mock(base_url=BASE) as api:
        route = api.post(CREATE_PATH).respond(202, json=PAGE_202)
        wan_i2v.Client(api_key="k", max_retries=0).create(**kwargs)
    sent = json.loads(route.calls.last.request.content)
    validator("CreateGenerationTaskRequest").validate(sent)
    expected: dict[str, Any] = {**body, **{f: URL for f in ("image", "last_frame") if f in body}}
    expected.update({f: kwargs[f] for f in ("seed", "duration") if f in kwargs})
    if "resolution" in body:
        expected["resolution"] = str(body["resolution"]).upper()
    # Documented defaults are made explicit (resolution, duration, prompt_extend).
    assert {k: v for k, v in sent.items() if k in expected} == expected
    assert set(sent) - set(expected) <= {"resolution", "duration", "prompt_extend"}


@given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
@SETTINGS
def test_invalid_bodies_are_refused_unsent(case: schemathesis.Case[Any]) -> None:
    """For bodies that break the spec, create() refuses and no request is made."""
    body = case.body
    assume(isinstance(body, dict))
    assert isinstance(body, dict)
    kwargs = as_arguments(body)
    # Only the body is under test (negative headers are another layer's), and image strings
    # were replaced: the body must still break the spec once they are.
    urls = {f: URL for f in ("image", "last_frame") if isinstance(body.get(f), str)}
    assume(not validator("CreateGenerationTaskRequest").is_valid({**body, **urls}))
    with respx.mock(base_url=BASE, assert_all_called=False) as api:
        route = api.post(CREATE_PATH).respond(202, json=PAGE_202)
        missing_required = not {"prompt", "image"} <= kwargs.keys()
        # A missing required field is refused by Python's own signature check.
        with pytest.raises(TypeError if missing_required else wan_i2v.ValidationError):
            wan_i2v.Client(api_key="k").create(**kwargs)
    assert route.call_count == 0


HAND_LIST: list[tuple[str, Any]] = [
    ("resolution", "720P"),
    ("resolution", "4K"),
    ("resolution", 1080),
    ("duration", 10),
    ("duration", "5"),
    ("duration", 5.5),
    ("seed", -1),
    ("seed", 2**31),
    ("seed", "1"),
    ("seed", 1.5),
    ("seed", True),
    ("prompt", "x" * 801),
    ("prompt", 7),
    ("negative_prompt", "x" * 501),
    ("negative_prompt", ["a"]),
    ("prompt_extend", "yes"),
    ("prompt_extend", 0),
    ("image", 42),
    ("last_frame", b"not an image"),
]


@pytest.mark.parametrize(("field", "value"), HAND_LIST)
def test_every_enum_and_bound_is_enforced(field: str, value: Any) -> None:
    """Each enum, bound and type of the spec, broken by hand: refused, nothing sent."""
    body = {"prompt": "p", "image": URL, field: value}
    if not isinstance(value, bytes):
        assert not validator("CreateGenerationTaskRequest").is_valid(body), "not a violation"
    with respx.mock(base_url=BASE, assert_all_called=False) as api:
        route = api.post(CREATE_PATH).respond(202, json=PAGE_202)
        with pytest.raises(wan_i2v.ValidationError) as info:
            wan_i2v.Client(api_key="k").create(**body)
    assert info.value.field == field
    assert route.call_count == 0
