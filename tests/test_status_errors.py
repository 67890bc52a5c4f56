"""Every error status the spec documents has its typed error; the traceparent of any answer
reaches the user."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from conftest import CREATE_PATH, TASK_ID, TASK_PATH, task_json

import wan_i2v
from wan_i2v._errors import status_error_class
from wan_i2v._spec import load_spec

CLASSES = {
    400: wan_i2v.BadRequestError,
    401: wan_i2v.AuthenticationError,
    402: wan_i2v.PaymentRequiredError,
    403: wan_i2v.PermissionDeniedError,
    404: wan_i2v.NotFoundError,
    405: wan_i2v.MethodNotAllowedError,
    409: wan_i2v.ConflictError,
    422: wan_i2v.UnprocessableEntityError,
    423: wan_i2v.LockedError,
    429: wan_i2v.RateLimitError,
    451: wan_i2v.UnavailableForLegalReasonsError,
}


def test_every_documented_error_status_has_a_class() -> None:
    """Each 4xx the spec lists for an operation maps to a class of its own (413 and 415, the
    sandbox's refusals of a body it will not read, are plain APIStatusError), 5xx to
    InternalServerError."""
    for path in load_spec()["paths"].values():
        for operation in path.values():
            for code in map(int, operation["responses"]):
                cls = status_error_class(code)
                if code >= 500:
                    assert cls is wan_i2v.InternalServerError
                elif code in (413, 415):
                    assert cls is wan_i2v.APIStatusError
                elif code >= 400:
                    assert cls is CLASSES[code], code


@pytest.mark.parametrize("code", [405, 423, 451])
def test_new_statuses_raise_their_class(api: respx.MockRouter, client: Any, code: int) -> None:
    """405, 423 and 451 (from the error-codes page) are typed, with the API's message."""
    api.get(TASK_PATH).respond(code, json={"message": "nope"})
    with pytest.raises(CLASSES[code], match="nope") as info:
        client.get(TASK_ID)
    assert info.value.status_code == code


def test_traceparent_of_a_success_is_the_tasks_request_id(
    api: respx.MockRouter, client: Any
) -> None:
    """traceparent is sent on every answer: a Task carries it as request_id."""
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    api.post(CREATE_PATH).mock(
        return_value=httpx.Response(202, json=task_json(), headers={"traceparent": trace})
    )
    task = client.create(image="https://example.com/a.jpg", prompt="p")
    assert task.request_id == trace
