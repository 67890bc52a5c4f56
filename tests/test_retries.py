"""Retries: GETs retry what is transient; the billed create POST never risks a second task."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx
import pytest
import respx
import stamina
from conftest import CREATE_PATH, TASK_ID, TASK_PATH, task_json

import wan_i2v
from wan_i2v._constants import RETRY_AFTER_CAP
from wan_i2v._deadline import Deadline
from wan_i2v._errors import make_status_error
from wan_i2v._retry import CREATE, GET

URL_IMAGE = "https://example.com/flower.jpg"


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow handshake"),
        httpx.PoolTimeout("no free connection"),
        httpx.Response(429, json={"detail": "slow down"}, headers={"Retry-After": "1"}),
    ],
    ids=["connect-error", "connect-timeout", "pool-timeout", "429"],
)
def test_create_retries_only_where_no_task_can_exist(
    api: respx.MockRouter, client: Any, failure: Any
) -> None:
    """Connection never made, or a 429: the POST is sent again and succeeds."""
    route = api.post(CREATE_PATH).mock(side_effect=[failure, httpx.Response(202, json=task_json())])
    assert client.create(image=URL_IMAGE, prompt="p").id == TASK_ID
    assert route.call_count == 2


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, json={"detail": "boom"}),
        httpx.Response(502, text="<html>bad gateway</html>"),
        httpx.Response(503, json={"detail": "busy"}),
        httpx.Response(504, text=""),
        httpx.ReadTimeout("no answer"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("peer closed"),
        httpx.WriteError("broken pipe"),
        httpx.WriteTimeout("stuck"),
    ],
    ids=[
        "500",
        "502",
        "503",
        "504",
        "read-timeout",
        "read-error",
        "protocol",
        "write-error",
        "write-timeout",
    ],
)
def test_create_is_never_resent_once_it_may_have_arrived(
    api: respx.MockRouter, client: Any, failure: Any
) -> None:
    """After a 5xx or a failure once the request left, raise 'outcome unknown', POST once."""
    route = api.post(CREATE_PATH).mock(side_effect=[failure, httpx.Response(202, json=task_json())])
    with pytest.raises(wan_i2v.CreateOutcomeUnknownError) as info:
        client.create(image=URL_IMAGE, prompt="p")
    assert route.call_count == 1
    message = str(info.value)
    assert "may have been created" in message
    assert "Check your" in message


def test_create_outcome_unknown_keeps_status_and_request_id(
    api: respx.MockRouter, client: Any
) -> None:
    """The unknown-outcome error says which status and request id support will need."""
    api.post(CREATE_PATH).respond(503, json={}, headers={"traceparent": "00-trace-01"})
    with pytest.raises(wan_i2v.CreateOutcomeUnknownError) as info:
        client.create(image=URL_IMAGE, prompt="p")
    assert info.value.status_code == 503
    assert info.value.request_id == "00-trace-01"
    assert isinstance(info.value.__cause__, wan_i2v.InternalServerError)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(408, text=""),
        httpx.Response(429, json={}),
        httpx.Response(500, json={}),
        httpx.Response(502, text="<html/>"),
        httpx.Response(503, json={}),
        httpx.Response(504, json={}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("closed"),
    ],
    ids=["408", "429", "500", "502", "503", "504", "connect", "read-timeout", "protocol"],
)
def test_get_retries_transient_failures(api: respx.MockRouter, client: Any, failure: Any) -> None:
    """A status check is idempotent: transient failures are retried until it works."""
    route = api.get(TASK_PATH).mock(
        side_effect=[failure, failure, httpx.Response(200, json=task_json("running"))]
    )
    assert client.get(TASK_ID).status == "running"
    assert route.call_count == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_get_does_not_retry_what_will_not_change(
    api: respx.MockRouter, client: Any, status: int
) -> None:
    """A 4xx other than 408/429 is final: one request."""
    route = api.get(TASK_PATH).respond(status, json={"detail": "no"})
    with pytest.raises(wan_i2v.APIStatusError):
        client.get(TASK_ID)
    assert route.call_count == 1


@pytest.mark.parametrize("max_retries", [0, 1, 4])
def test_max_retries_bounds_the_attempts(
    api: respx.MockRouter, make_client: Any, max_retries: int
) -> None:
    """max_retries=N means at most N+1 requests; 0 turns retries off."""
    route = api.get(TASK_PATH).respond(503, json={})
    with pytest.raises(wan_i2v.InternalServerError):
        make_client(max_retries=max_retries).get(TASK_ID)
    assert route.call_count == max_retries + 1


def test_connection_errors_become_ours_and_are_chained(
    api: respx.MockRouter, make_client: Any
) -> None:
    """httpx errors never leak: they are translated, with the original as the cause."""
    api.get(TASK_PATH).mock(side_effect=httpx.ConnectTimeout("slow"))
    with pytest.raises(wan_i2v.APITimeoutError) as info:
        make_client(max_retries=0).get(TASK_ID)
    assert isinstance(info.value.__cause__, httpx.ConnectTimeout)
    api.get(TASK_PATH).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(wan_i2v.APIConnectionError) as info2:
        make_client(max_retries=0).get(TASK_ID)
    assert not isinstance(info2.value, wan_i2v.APITimeoutError)


def _rate_limited(retry_after: str | None) -> wan_i2v.RateLimitError:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    response = httpx.Response(
        429, headers=headers, json={}, request=httpx.Request("GET", "https://x/y")
    )
    error = make_status_error(response, b"{}")
    assert isinstance(error, wan_i2v.RateLimitError)
    return error


def test_retry_after_seconds_and_http_date_are_honoured() -> None:
    """Retry-After as seconds or as an HTTP date sets the wait; absent, backoff decides."""
    forever = Deadline(None)
    assert GET.delay(_rate_limited("7"), 1, forever) == 7.0
    assert CREATE.delay(_rate_limited("2.5"), 1, forever) == 2.5
    in_20s = email.utils.formatdate(time.time() + 20, usegmt=True)
    delay = GET.delay(_rate_limited(in_20s), 1, forever)
    assert delay is not None
    assert 15 <= delay <= 21
    backoff = GET.delay(_rate_limited(None), 1, forever)
    assert backoff is not None
    assert backoff <= 2
    assert _rate_limited("7").retry_after == 7.0


def test_no_retry_is_scheduled_past_the_deadline() -> None:
    """A retry whose wait would end after the deadline is not scheduled: the error is raised."""
    assert GET.delay(_rate_limited("7"), 1, Deadline(5)) is None
    assert GET.delay(_rate_limited("3"), 1, Deadline(5)) == 3


def test_retry_after_beyond_the_cap_is_left_to_the_caller() -> None:
    """A server asking for more than the cap gets a RateLimitError, not a silent long sleep."""
    forever = Deadline(None)
    assert GET.delay(_rate_limited(str(RETRY_AFTER_CAP + 1)), 1, forever) is None
    assert CREATE.delay(_rate_limited(str(RETRY_AFTER_CAP)), 1, forever) == RETRY_AFTER_CAP


def test_retry_after_is_really_waited(api: respx.MockRouter, make_client: Any) -> None:
    """With backoff switched on, a 429's Retry-After of 0.3 s delays the retry that long."""
    route = api.get(TASK_PATH).mock(
        side_effect=[
            httpx.Response(429, json={}, headers={"Retry-After": "0.3"}),
            httpx.Response(200, json=task_json()),
        ]
    )
    client = make_client()
    with stamina.set_testing(False):
        started = time.monotonic()
        client.get(TASK_ID)
        elapsed = time.monotonic() - started
    assert route.call_count == 2
    assert 0.3 <= elapsed < 3
