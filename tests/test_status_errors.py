"""Every error status the spec documents has its typed error; the traceparent of any answer
reaches the user."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from conftest import CREATE_PATH, TASK_ID, TASK_PATH, task_json

import wan_i2v
from wan_i2v import _spec_facts as facts
from wan_i2v._errors import status_error_class
from wan_i2v._spec import load_spec

CLASSES = {
    cls.documented_status: cls
    for cls in (getattr(wan_i2v, name) for name in wan_i2v.__all__)  # loaded on first use
    if isinstance(cls, type) and issubclass(cls, wan_i2v.APIStatusError) and cls.documented_status
}


@pytest.mark.parametrize("code", sorted(facts.DOCUMENTED_ERROR_STATUSES))
def test_every_documented_error_status_has_a_class(code: int) -> None:
    """Each error status the spec documents (read from the generated facts) maps to the
    public class that declares it; every 5xx to InternalServerError."""
    cls = status_error_class(code)
    assert cls.documented_status == (500 if code >= 500 else code)
    assert cls is CLASSES[cls.documented_status]
    assert cls.__name__ in wan_i2v.__all__


def test_the_facts_list_every_status_of_the_spec() -> None:
    """The generated list is the spec's (the facts module is not stale)."""
    codes = {
        int(code)
        for path in load_spec()["paths"].values()
        for operation in path.values()
        for code in operation["responses"]
        if int(code) >= 400
    }
    assert codes == facts.DOCUMENTED_ERROR_STATUSES


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
