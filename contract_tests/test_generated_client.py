"""The generated client sends what the spec describes and parses what the API answers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import httpx
import pytest
import respx

from wan_i2v._generated import AuthenticatedClient
from wan_i2v._generated.api.generation import create_generation_task, get_generation_task
from wan_i2v._generated.models.create_generation_task_request import CreateGenerationTaskRequest
from wan_i2v._generated.models.task_response import TaskResponse

from ._support import (
    CREATE_PATH,
    PAGE_202,
    PAGE_BASIC,
    PAGE_CURL_EXAMPLE,
    PAGE_LAST_FRAME,
    validator,
)

BASE = "https://api.mulerouter.ai"
TASK_ID = PAGE_202["task_info"]["id"]


def client() -> AuthenticatedClient:
    return AuthenticatedClient(base_url=BASE, token="test-key")


def task(status: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(json.dumps(PAGE_202))
    body["task_info"]["status"] = status
    body.update(extra)
    return body


@pytest.mark.parametrize("example", [PAGE_BASIC, PAGE_LAST_FRAME, PAGE_CURL_EXAMPLE])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_create_sends_exactly_the_example(example: dict[str, Any], mode: str) -> None:
    """POST to the spec's path with the bearer key and the example as the JSON body."""
    with respx.mock(base_url=BASE) as api:
        route = api.post(CREATE_PATH).respond(202, json=PAGE_202)
        body = CreateGenerationTaskRequest.from_dict(example)
        if mode == "sync":
            response = create_generation_task.sync_detailed(client=client(), body=body)
        else:
            response = asyncio.run(
                create_generation_task.asyncio_detailed(client=client(), body=body)
            )
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url == BASE + CREATE_PATH
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.headers["content-type"] == "application/json"
    sent = json.loads(request.content)
    assert sent == example  # from_dict leaves absent fields absent: no invented defaults
    validator("CreateGenerationTaskRequest").validate(sent)
    assert response.status_code == 202
    assert isinstance(response.parsed, TaskResponse)


def test_202_example_parses_into_typed_objects() -> None:
    """The page's 202 becomes a UUID and timezone-aware datetimes in UTC."""
    with respx.mock(base_url=BASE) as api:
        api.post(CREATE_PATH).respond(202, json=PAGE_202)
        parsed = create_generation_task.sync_detailed(
            client=client(), body=CreateGenerationTaskRequest.from_dict(PAGE_BASIC)
        ).parsed
    assert isinstance(parsed, TaskResponse)
    info = parsed.task_info
    assert info.id == uuid.UUID(TASK_ID)
    assert info.status == "pending"
    assert info.created_at == dt.datetime(2023, 11, 7, 5, 31, 56, tzinfo=dt.UTC)
    assert info.updated_at.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "status",
    ["pending", "processing", "completed", "failed", "queued", "running", "succeeded",
     "retrying", "paused_for_review"],
)  # fmt: skip
def test_get_parses_any_status_word(status: str) -> None:
    """Both vocabularies and a word nobody has seen yet parse, kept verbatim."""
    with respx.mock(base_url=BASE) as api:
        route = api.get(f"{CREATE_PATH}/{TASK_ID}").respond(200, json=task(status))
        parsed = get_generation_task.sync_detailed(uuid.UUID(TASK_ID), client=client()).parsed
    assert isinstance(parsed, TaskResponse)
    assert parsed.task_info.status == status
    assert route.calls.last.request.headers["authorization"] == "Bearer test-key"


@pytest.mark.parametrize("code_key", ["code", "error_code"])
def test_failed_task_parses_with_its_error(code_key: str) -> None:
    """A failed task (HTTP 200) keeps code (or error_code), title and detail."""
    error = {code_key: 3001, "title": "Task Execution Error",
             "detail": "Video generation failed: Invalid image dimensions"}  # fmt: skip
    body = task("failed")
    body["task_info"]["error"] = error
    validator("TaskResponse").validate(body)
    with respx.mock(base_url=BASE) as api:
        api.get(f"{CREATE_PATH}/{TASK_ID}").respond(200, json=body)
        parsed = get_generation_task.sync_detailed(uuid.UUID(TASK_ID), client=client()).parsed
    assert isinstance(parsed, TaskResponse)
    assert parsed.task_info.error.to_dict() == error  # type: ignore[union-attr]


def test_completed_task_parses_its_videos() -> None:
    """videos is a list of URLs."""
    videos = ["https://mulerouter.muleusercontent.com/v/1.mp4"]
    with respx.mock(base_url=BASE) as api:
        api.get(f"{CREATE_PATH}/{TASK_ID}").respond(200, json=task("completed", videos=videos))
        parsed = get_generation_task.sync_detailed(uuid.UUID(TASK_ID), client=client()).parsed
    assert isinstance(parsed, TaskResponse)
    assert parsed.videos == videos


def test_unknown_fields_are_kept_not_fatal() -> None:
    """A 202 with fields the spec does not know parses; they land in additional_properties."""
    body = task("pending", billing={"credits": 3})
    body["task_info"]["priority"] = "high"
    with respx.mock(base_url=BASE) as api:
        api.post(CREATE_PATH).respond(202, json=body)
        parsed = create_generation_task.sync_detailed(
            client=client(), body=CreateGenerationTaskRequest.from_dict(PAGE_BASIC)
        ).parsed
    assert isinstance(parsed, TaskResponse)
    assert parsed.additional_properties == {"billing": {"credits": 3}}
    assert parsed.task_info.additional_properties == {"priority": "high"}


def test_generated_functions_require_an_authenticated_client() -> None:
    """security is declared per operation, so the generated code demands a token."""
    import inspect

    for function in (create_generation_task.sync_detailed, get_generation_task.sync_detailed):
        annotation = inspect.signature(function).parameters["client"].annotation
        assert "AuthenticatedClient" in str(annotation)
        assert "| Client" not in str(annotation)


def test_generated_parser_limits_are_why_the_wrapper_maps_errors() -> None:
    """The generated parser crashes on an HTML 502: the wrapper must map errors first."""
    with respx.mock(base_url=BASE) as api:
        api.get(f"{CREATE_PATH}/{TASK_ID}").respond(502, text="<html>bad gateway</html>")
        with pytest.raises(json.JSONDecodeError):
            get_generation_task.sync_detailed(uuid.UUID(TASK_ID), client=client())
    _ = httpx  # the wrapper's tests (tests/test_client.py) prove the mapping
