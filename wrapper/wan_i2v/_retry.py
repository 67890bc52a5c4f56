"""Which failures are retried, and how errors from below are translated. No I/O here.

The two policies are stamina backoff hooks: they answer "retry?" (True/False) or "retry after
N seconds" (a float, from ``Retry-After``). Sync and async clients pass the same hooks to
``stamina.retry_context``; only the loop (``for`` / ``async for``) differs.

Why create is special: every accepted POST is a billed task. A retry is safe only where no
task can exist: the connection was never established, or the server said 429 (rate limited,
nothing done). After a 5xx, a read timeout or a connection lost once the body was sent, the
task may exist; the client raises ``CreateOutcomeUnknownError`` and never POSTs again itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from ._constants import (
    RETRY_AFTER_CAP,
    RETRY_WAIT_INITIAL,
    RETRY_WAIT_JITTER,
    RETRY_WAIT_MAX,
    RETRYABLE_GET_STATUSES,
)
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    CreateOutcomeUnknownError,
    InternalServerError,
    RateLimitError,
    parse_retry_after,
)

if TYPE_CHECKING:
    from stamina._core import _RetryContextIterator

# The request never left this machine: no connection, or none free in the pool.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# What the generated parsers raise on a 2xx body that is not what the spec says
# (JSONDecodeError is a ValueError).
PARSE_ERRORS = (KeyError, ValueError, TypeError, AttributeError)
# Everything a call to the generated client can raise that the client translates.
CALL_ERRORS = (httpx.TransportError, APIStatusError, *PARSE_ERRORS)


def attempts(
    policy: Callable[[Exception], bool | float], max_retries: int
) -> _RetryContextIterator:
    """The attempts of one call under ``policy``: ``for`` them in sync code, ``async for``
    them in async code (stamina serves both from one object)."""
    # Imported here: stamina pulls in asyncio, which would add ~50 ms to `import wan_i2v`.
    import stamina

    return stamina.retry_context(
        on=policy,
        attempts=max_retries + 1,
        timeout=None,  # bounded by attempts; each request has its own timeout
        wait_initial=RETRY_WAIT_INITIAL,
        wait_max=RETRY_WAIT_MAX,
        wait_jitter=RETRY_WAIT_JITTER,
    )


@dataclass(frozen=True, slots=True)
class Policy:
    """How one kind of call retries (a stamina backoff hook) and how its failures from the
    layer below become ours (None: re-raise as it is)."""

    retry: Callable[[Exception], bool | float]
    translate: Callable[..., APIError | None]


def retry_get(exc: Exception) -> bool | float:
    """Backoff hook for idempotent GETs (status, download)."""
    if isinstance(exc, APIConnectionError):
        return True
    if isinstance(exc, APIStatusError) and exc.status_code in RETRYABLE_GET_STATUSES:
        return _server_delay(exc)
    return False


def retry_create(exc: Exception) -> bool | float:
    """Backoff hook for the create POST: only where no task can have been made."""
    # translate_create_error turns every transport error after sending into
    # CreateOutcomeUnknownError, so an APIConnectionError here was never sent.
    if isinstance(exc, APIConnectionError):
        return True
    if isinstance(exc, RateLimitError):
        return _server_delay(exc)
    return False


def _server_delay(exc: APIStatusError) -> bool | float:
    delay = parse_retry_after(exc.response.headers.get("retry-after"))
    if delay is None:
        return True  # our own exponential backoff
    # A server that asks for more than the cap is better answered by the caller than by a
    # silent long sleep: the error carries retry_after for them.
    return delay if delay <= RETRY_AFTER_CAP else False


def translate_get_error(exc: Exception, *, url: str) -> APIError | None:
    """The error to raise for a failure of a GET; None when ``exc`` is already ours and is
    re-raised as it is."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(url=url)
    if isinstance(exc, httpx.TransportError):
        return APIConnectionError(f"{_describe(exc)} talking to {url}. Try again.", url=url)
    if isinstance(exc, PARSE_ERRORS):
        return APIResponseValidationError(reason=_describe(exc))
    return None


def translate_create_error(exc: Exception, *, url: str) -> APIError | None:
    """The error to raise for a failure of the create POST; None to re-raise ``exc``."""
    if isinstance(exc, NOT_SENT):
        return translate_get_error(exc, url=url)
    if isinstance(exc, httpx.TransportError):
        return CreateOutcomeUnknownError(
            reason=f"the connection failed after the request was sent ({_describe(exc)})"
        )
    if isinstance(exc, InternalServerError):
        return CreateOutcomeUnknownError(
            reason=f"the server answered {exc.status_code}",
            status_code=exc.status_code,
            request_id=exc.request_id,
        )
    if isinstance(exc, PARSE_ERRORS):
        return CreateOutcomeUnknownError(
            reason=f"the server accepted it but its answer could not be read ({_describe(exc)})"
        )
    return None


def parse_fallback(status_code: int, content: bytes) -> Any:
    """The JSON of a 2xx the generated parser does not know (e.g. 200/201 on create, D8)."""
    if not 200 <= status_code < 300:
        raise APIResponseValidationError(reason=f"status {status_code} is not a success status")
    return json.loads(content)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


GET = Policy(retry=retry_get, translate=translate_get_error)
CREATE = Policy(retry=retry_create, translate=translate_create_error)
