"""Every error the client raises, under one base.

    WanI2VError
    ├── ConfigurationError          no API key, unknown site (also a ValueError)
    ├── ValidationError             a request field breaks a documented constraint; nothing was sent
    │                               (also a ValueError)
    ├── APIError                    talking to the API went wrong
    │   ├── APIConnectionError      no usable answer: connection refused, reset, ...
    │   │   └── APITimeoutError     ... or no answer in time
    │   ├── APIResponseValidationError   a 2xx whose body is not what the spec says
    │   ├── CreateOutcomeUnknownError    the create POST may or may not have made a task
    │   └── APIStatusError          the API answered with an error status
    │       ├── BadRequestError (400)         ├── ContentTooLargeError (413)
    │       ├── AuthenticationError (401)     ├── UnsupportedMediaTypeError (415)
    │       ├── PaymentRequiredError (402)    ├── UnprocessableEntityError (422)
    │       ├── PermissionDeniedError (403)   ├── LockedError (423)
    │       ├── NotFoundError (404)           ├── RateLimitError (429, retry_after)
    │       ├── MethodNotAllowedError (405)   ├── UnavailableForLegalReasonsError (451)
    │       ├── ConflictError (409)           └── InternalServerError (5xx)
    ├── TaskFailedError             the task ran and failed (code, title, detail)
    ├── WaitTimeoutError            wait() gave up; the task may still run and cost money
    ├── DownloadError               the video could not be downloaded or written whole
    ├── TaskIncompleteError         generate() paid for a task but could not finish it
    └── OutputExistsError           download target exists (also a FileExistsError)

Constructors take keyword-only context. Messages say what happened and what to do next.

Nothing secret, nothing raw (_scrub.py): server text reaches an error only through the
translate layer, which knows the key and removes it (a server that echoes the Authorization
header included); every message and every attribute of server text has its control characters
escaped; the response an ``APIStatusError`` keeps is a detached copy whose request says
``Authorization: Bearer ***``. Every error pickles (``__reduce__`` on the base), and what it
pickles is what it shows: no key bytes.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import time
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ._scrub import NO_SECRET, SECRET_HEADERS, Scrubber, escape_controls

if TYPE_CHECKING:
    from ._task import Task

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ContentTooLargeError",
    "CreateOutcomeUnknownError",
    "DownloadError",
    "InternalServerError",
    "LockedError",
    "MethodNotAllowedError",
    "NotFoundError",
    "OutputExistsError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "TaskFailedError",
    "TaskIncompleteError",
    "UnavailableForLegalReasonsError",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "ValidationError",
    "WaitTimeoutError",
    "WanI2VError",
]


class WanI2VError(Exception):
    """Base of every error raised by wan_i2v.

    Attributes:
        task_id: the task this error concerns, when one exists. Every error raised after a
            create was accepted carries it: the task may be billed, and its id is how you
            finish the job (``wait(task_id)``, ``download(task_id)``) instead of paying again.
    """

    task_id: str | None = None

    def __init__(self, *args: object) -> None:
        # The one net under every message: whatever text it quotes, no control character
        # reaches a terminal or a log raw.
        super().__init__(*(escape_controls(a) if isinstance(a, str) else a for a in args))

    def __reduce__(self) -> Any:
        # The constructors take keyword-only context, which the default reduce (cls(*args))
        # cannot replay: rebuild without calling __init__, from the message and the attributes.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[WanI2VError], args: tuple[Any, ...], state: dict[str, Any]) -> WanI2VError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigurationError(WanI2VError, ValueError):
    """The client cannot be configured (no API key, unknown site)."""


class ValidationError(WanI2VError, ValueError):
    """A request field breaks a documented constraint. Nothing was sent.

    Args:
        field: the request field at fault (``prompt``, ``image``, ...).
        problem: what is wrong, with the limit.
    """

    def __init__(self, *, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}. Nothing was sent.")


class APIError(WanI2VError):
    """Talking to the API went wrong."""


class APIConnectionError(APIError):
    """No usable answer from the server (connection refused, reset, DNS, TLS...)."""

    def __init__(self, message: str | None = None, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(
            message
            or f"Could not reach {url or 'the API'}. Check the network and the base URL, "
            "then try again."
        )


class APITimeoutError(APIConnectionError):
    """The server did not answer in time."""

    def __init__(self, message: str | None = None, *, url: str | None = None) -> None:
        super().__init__(
            message or f"{url or 'The API'} did not answer in time. Try again, or raise `timeout`.",
            url=url,
        )


class APIResponseValidationError(APIError):
    """A success status whose body does not match the spec."""

    def __init__(self, *, reason: str, task_id: str | None = None) -> None:
        self.reason = escape_controls(reason)
        self.task_id = task_id
        about = f" about task {task_id}" if task_id else ""
        super().__init__(
            f"The API answered{about} with a body the client does not understand ({reason}). "
            "If this persists, the API has changed: please report it."
        )


class CreateOutcomeUnknownError(APIError):
    """The create POST reached the server, but its answer was lost or was a server error.

    A task may have been created, and every task is billed: the client never sends the
    POST again on its own. Check your tasks (or wait for the ``task.created`` webhook)
    before you create again.
    """

    # The one "what to check" text for an unknown outcome: this error's message, a batch
    # row's detail, the MCP server's result and the command line all say it, and add only
    # how to pay again there (--retry-unknown, retry_unknown: true).
    what_to_check: ClassVar[str] = (
        "A task may have been created and billed. Check your MuleRouter tasks (or the "
        "task.created webhook) before creating it again."
    )

    def __init__(
        self, *, reason: str, status_code: int | None = None, request_id: str | None = None
    ) -> None:
        self.reason = escape_controls(reason)
        self.status_code = status_code
        self.request_id = None if request_id is None else escape_controls(request_id)
        ref = f" (request id {request_id})" if request_id else ""
        super().__init__(
            f"The create request was sent but its outcome is unknown: {reason}{ref}. "
            f"It was not sent again. {self.what_to_check}"
        )


class APIStatusError(APIError):
    """The API answered with an error status.

    Attributes:
        status_code: the HTTP status.
        body: the parsed JSON body, or the text when it is not JSON.
        request_id: the ``traceparent`` response header, for MuleRouter's support.
        response: a detached copy of the ``httpx.Response``: its status, headers and body as
            read (capped), and a request without its body whose secret headers read ``***``
            (``Authorization: Bearer ***``). It holds no connection and pickles.
    """

    status_code: int
    # The status this class stands for (the instance's ``status_code`` is the one received:
    # InternalServerError stands for 500 and takes any 5xx).
    documented_status: ClassVar[int | None] = None
    advice: ClassVar[str] = "See the message above."

    def __init__(self, message: str, *, response: httpx.Response, body: Any) -> None:
        self.response = detached(response)
        self.status_code = response.status_code
        self.body = body
        trace = response.headers.get("traceparent")
        self.request_id: str | None = None if trace is None else escape_controls(trace)
        super().__init__(message)


class BadRequestError(APIStatusError):
    documented_status = 400
    advice = "The API refused the parameters; fix them and try again."


class AuthenticationError(APIStatusError):
    documented_status = 401
    advice = "The API key is missing, expired or invalid: check MULEROUTER_API_KEY."


class PaymentRequiredError(APIStatusError):
    documented_status = 402
    advice = "The account balance is too low: top up, then try again."


class PermissionDeniedError(APIStatusError):
    documented_status = 403
    advice = "This key may not use this model or resource."


class NotFoundError(APIStatusError):
    documented_status = 404
    advice = "Wrong path or unknown task id: check the task id and the base URL."


class MethodNotAllowedError(APIStatusError):
    documented_status = 405
    advice = "The API refused the HTTP method: the base URL or the path is probably wrong."


class ConflictError(APIStatusError):
    documented_status = 409
    advice = "The task already exists."


class ContentTooLargeError(APIStatusError):
    documented_status = 413
    advice = "The request is larger than the API accepts: use smaller images."


class UnsupportedMediaTypeError(APIStatusError):
    documented_status = 415
    advice = "The API refused the request's content type (a client bug: please report it)."


class LockedError(APIStatusError):
    documented_status = 423
    advice = "The resource is locked: try again later."


class UnavailableForLegalReasonsError(APIStatusError):
    documented_status = 451
    advice = "The API refused the request for legal reasons (content or region)."


class UnprocessableEntityError(APIStatusError):
    documented_status = 422
    advice = "The API could not process the parameters; fix them and try again."


class RateLimitError(APIStatusError):
    """429: rate limit, quota or daily spend limit.

    Attributes:
        retry_after: seconds the server asked us to wait, or None.
    """

    documented_status = 429
    advice = "Too many requests, or a quota or spend limit was reached: slow down or wait."

    def __init__(self, message: str, *, response: httpx.Response, body: Any) -> None:
        super().__init__(message, response=response, body=body)
        self.retry_after = parse_retry_after(response.headers.get("retry-after"))


class InternalServerError(APIStatusError):
    documented_status = 500
    advice = "The server failed; try again later."


# The class of each documented status, from the classes' own declarations; every status
# the spec documents has one (tests/test_status_errors.py), 5xx all InternalServerError.
_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    cls.documented_status: cls
    for cls in APIStatusError.__subclasses__()
    if cls.documented_status is not None
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The exception class for an HTTP error status."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)


def is_transient_status(status_code: int) -> bool:
    """No news, try again later: 408, 429 and every 5xx, from the API or a video host."""
    return status_code in (408, 429) or status_code >= 500


def make_status_error(
    response: httpx.Response, content: bytes, scrub: Scrubber = NO_SECRET
) -> APIStatusError:
    """The typed error for an error response, from its body as read (capped).

    ``scrub`` knows the key: the body, the headers and the message lose every echo of it
    before the error exists, so no attribute, repr or pickle of the error can hold it.
    """
    content = scrub.bytes(content)  # before anything is parsed from it
    kept = detached(response, content, scrub)
    body = decode_body(content)
    cls = status_error_class(response.status_code)
    detail = error_message(body)
    what = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    message = f"{what}: {detail}. {cls.advice}" if detail else f"{what}. {cls.advice}"
    if request_id := kept.headers.get("traceparent"):
        message += f" (request id {request_id})"
    return cls(message, response=kept, body=body)


def detached(
    response: httpx.Response, content: bytes | None = None, scrub: Scrubber = NO_SECRET
) -> httpx.Response:
    """A copy of ``response`` that an error can keep: ``content`` (default: the body, if it was
    read) and the headers without the key, a request without its body (an upload is megabytes)
    whose secret headers read ``***``, and no connection. Safe to keep, print and pickle."""
    if content is None:
        try:
            content = response.content
        except httpx.ResponseNotRead:
            content = b""
    # The content is decoded already: a Content-Encoding would make httpx decode it again.
    headers = [
        (name, scrub.redact(value))
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length")
    ]
    extensions: dict[str, Any] = {}
    if isinstance(version := response.extensions.get("http_version"), bytes):
        extensions["http_version"] = version
    if isinstance(phrase := response.extensions.get("reason_phrase"), bytes):
        extensions["reason_phrase"] = scrub.bytes(phrase)
    copy = httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=_redacted_request(response),
        extensions=extensions,
    )
    with contextlib.suppress(RuntimeError):  # still open, or never sent
        copy.elapsed = response.elapsed
    return copy


def _redacted_request(response: httpx.Response) -> httpx.Request | None:
    try:
        request = response.request
    except RuntimeError:  # a response built by hand, with no request
        return None
    return redacted_request(request)


def redacted_request(request: httpx.Request) -> httpx.Request:
    """A copy of ``request`` without its body, whose secret headers read ``***``
    (``Authorization: Bearer ***``)."""
    headers = [
        (name, _masked(name, value) if name.lower() in SECRET_HEADERS else value)
        for name, value in request.headers.multi_items()
    ]
    return httpx.Request(request.method, request.url, headers=headers)


def _masked(name: str, value: str) -> str:
    scheme, _, credentials = value.partition(" ")
    if name.lower() in ("authorization", "proxy-authorization") and credentials:
        return f"{scheme} ***"
    return "***"


def decode_body(content: bytes) -> Any:
    """JSON when it is JSON, else the text; never raises (deep nesting included)."""
    text = content.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def error_message(body: Any, *, limit: int = 300) -> str:
    """The human message of an error body, wherever the API put it (detail, error, message,
    task_info.error), shortened; '' when there is none."""
    if isinstance(body, str):
        text = " ".join(body.split())
        # An HTML page from a proxy says nothing useful past its title.
        return text[:limit] if text and not text.startswith("<") else ""
    if not isinstance(body, dict):
        return ""
    for key in ("detail", "error", "message"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value[:limit]
        if isinstance(value, dict | list) and value:
            try:
                return json.dumps(value, ensure_ascii=False)[:limit]
            except (ValueError, RecursionError):
                return ""
    task_info = body.get("task_info")
    if isinstance(task_info, dict) and isinstance(task_info.get("error"), dict):
        err = task_info["error"]
        return str(err.get("detail") or err.get("title") or "")[:limit]
    return ""


def _escaped(text: str | None) -> str | None:
    return None if text is None else escape_controls(text)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent
    or unreadable. Never negative."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class TaskFailedError(WanI2VError):
    """The task ran and failed. The API reports this with HTTP 200 on the status call.

    Attributes:
        task_id, code, title, detail: from the task's ``error`` object (code may be None).
        task: the failed ``Task``.
    """

    def __init__(self, *, task: Task) -> None:
        self.task = task
        self.task_id: str = task.id
        error = task.error
        self.code: int | None = error.code if error else None
        # The task's text is the server's (the key was removed when the answer was read).
        self.title: str | None = _escaped(error.title if error else None)
        self.detail: str | None = _escaped(error.detail if error else None)
        what = ": ".join(p for p in (self.title, self.detail) if p) or "no reason given"
        code = f" (code {self.code})" if self.code is not None else ""
        super().__init__(
            f"Task {self.task_id} failed{code}: {what}. Fix the input if the reason names it, "
            "then create a new task."
        )


class WaitTimeoutError(WanI2VError):
    """wait() reached its deadline before the task finished.

    The task may still be running, and it will be billed if it succeeds: resume with
    ``wait(task_id)`` rather than creating a new one.
    """

    def __init__(
        self,
        *,
        task_id: str,
        last_status: str | None,
        waited: float,
        last_failure: str | None = None,
    ) -> None:
        self.task_id = task_id
        self.last_status = _escaped(last_status)
        self.waited = waited
        self.last_failure = _escaped(last_failure)
        seen = f"last status: {self.last_status}" if last_status else "no status seen"
        failure = f"; the last status check failed: {self.last_failure}" if last_failure else ""
        super().__init__(
            f"Gave up waiting for task {task_id} after {waited:.1f} s ({seen}{failure}). "
            f"The task may still be running and may be billed: resume with "
            f"`wait({task_id!r})` or `wan-i2v wait {task_id}` instead of creating a new one."
        )


class DownloadError(WanI2VError):
    """The video could not be downloaded or written whole; nothing was left at the target.

    Attributes:
        status_code: the video host's HTTP status, when it answered with an error.
        task_id: the task whose video it is, when known: ``download(task_id)`` fetches a fresh
            link (links expire).
        transient: retrying may help (a network error, 429, 5xx).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        task_id: str | None = None,
        transient: bool = False,
    ) -> None:
        self.status_code = status_code
        self.task_id = task_id
        self.transient = transient
        super().__init__(message)


class TaskIncompleteError(WanI2VError):
    """``generate()`` created a task (it may be billed) but could not finish the job.

    Raised for a failure after the create that is not one of ours already (an ``OSError``
    while writing, say); ``task_id`` says which task to finish with ``wait``/``download``.
    """

    def __init__(self, *, task_id: str, reason: str) -> None:
        self.task_id = task_id
        self.reason = reason
        super().__init__(
            f"Task {task_id} was created but the video could not be saved: {reason}. "
            f"Finish it with `download({task_id!r})` or `wan-i2v download {task_id}` "
            "instead of creating a new one."
        )


class OutputExistsError(WanI2VError, FileExistsError):
    """The download target exists and ``overwrite`` is False."""

    def __init__(self, *, path: str) -> None:
        self.path = path
        super().__init__(
            f"{path} already exists. Pass overwrite=True (--overwrite) or another path."
        )
