"""The one boundary where what the layer below gives us becomes ours.

Requests are built by the generated endpoint modules (``_get_kwargs``) and answers parsed by
the generated models (``TaskResponse.from_dict``); the I/O between is ours (spec/DECISIONS.md,
D14), so that every request gets its own timeout from a deadline, and no body is read past a
cap. Here:

- ``BodyReader``: the body of an API answer, decoded and capped at ``BODY_CAP`` bytes (a
  300 MB error page or a gzip bomb costs at most that much);
- ``task_or_error``: a ``Task`` from a success, our typed ``APIStatusError`` from an error,
  both made from the body with the key removed (a server may echo the Authorization header);
- ``scrubbed``: an error on its way out, with the key removed from its text and its chain's
  (a protocol error quotes the header line it choked on);
- ``UnreadableAnswer``: a success whose body is not a task (the policies decide what that
  means: ``CreateOutcomeUnknownError`` on create, ``APIResponseValidationError`` elsewhere).
"""

from __future__ import annotations

import contextlib
import functools
import json
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from ._body import SHOWN_BODY, StreamedBody, streamed_json
from ._errors import WanI2VError, make_status_error, redacted_request
from ._lazy import generated_endpoints, generated_task_model
from ._scrub import NO_SECRET, Scrubber
from ._task import Task

if TYPE_CHECKING:
    from wan_i2v._generated.models.create_generation_task_request import CreateGenerationTaskRequest

BODY_CAP = 1 << 20  # bytes of decoded body kept from any API answer
CHUNK = 1 << 16
# Only encodings we can decode under a cap: httpx would add br/zstd when those are installed.
ACCEPT_ENCODING = "gzip, deflate"
# What the generated parsers and json raise on a body that is not what the spec says.
PARSE_ERRORS = (KeyError, ValueError, TypeError, AttributeError, RecursionError)


class UnreadableAnswer(Exception):
    """A success status whose body is not a task (or no success status at all)."""

    def __init__(self, reason: str, *, status_code: int) -> None:
        self.reason = reason
        self.status_code = status_code
        super().__init__(reason)


def create_request(
    body: CreateGenerationTaskRequest,
    *,
    base_url: httpx.URL,
    upload: Callable[[StreamedBody], object],
) -> dict[str, Any]:
    """The create POST's arguments for ``build_request``, from the generated code.

    The URL is made absolute once per base URL (httpx parses a relative one on every
    request: a sixth of a create's own cost). Local images are streamed (_body): the JSON
    goes as ``content=upload(streamed body)`` with its exact Content-Length, and the body
    as the DEBUG log shows it rides in a request extension.
    """
    kwargs = generated_endpoints().create(body=body)
    kwargs["url"] = _absolute(base_url, kwargs["url"])
    streamed = streamed_json(kwargs["json"])
    if streamed is not None:
        del kwargs["json"]
        kwargs["content"] = upload(streamed)
        kwargs["headers"] = {**kwargs["headers"], "Content-Length": str(streamed.length)}
        kwargs["extensions"] = {SHOWN_BODY: streamed.shown}
    return kwargs


@functools.lru_cache(maxsize=32)
def _absolute(base_url: httpx.URL, path: str) -> httpx.URL:
    """``path`` under ``base_url``, joined as httpx joins a relative URL (the base's path
    prefix kept: httpx gives a base URL a trailing slash)."""
    return base_url.copy_with(raw_path=base_url.raw_path + path.lstrip("/").encode("ascii"))


def get_request(task_id: Any) -> dict[str, Any]:
    """The status GET's arguments, from the generated code."""
    return generated_endpoints().get(task_id)


class BodyReader:
    """Collects a streamed body, decoded, up to ``BODY_CAP`` bytes; the rest is discarded.

    Decoding is done here rather than by httpx so that a compressed body is never inflated
    past the cap (``zlib``'s ``max_length``). Feed it raw chunks; ``full`` says to stop reading.
    """

    def __init__(self, response: httpx.Response, cap: int = BODY_CAP) -> None:
        self._cap = cap
        self._parts: list[bytes] = []
        self._size = 0
        encoding = response.headers.get("content-encoding", "").strip().lower()
        self._inflate: Any = None
        self.undecodable = False
        if encoding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflate = zlib.decompressobj()
        elif encoding not in ("", "identity"):
            self.undecodable = True
        self.full = self.undecodable

    def feed(self, raw: bytes) -> None:
        if self.full:
            return
        room = self._cap - self._size
        try:
            data = raw[:room] if self._inflate is None else self._inflate.decompress(raw, room)
        except zlib.error:
            self.undecodable = self.full = True
            return
        self._parts.append(data)
        self._size += len(data)
        self.full = self._size >= self._cap

    def take_read(self, response: httpx.Response) -> None:
        """A body its transport has already read and decoded (``httpx.MockTransport`` on a
        user's client does): capped, not decoded again."""
        self._parts = [response.content[: self._cap]]
        self._size = len(self._parts[0])
        self.undecodable = False
        self.full = True

    @property
    def content(self) -> bytes:
        return b"".join(self._parts)


def task_or_error(response: httpx.Response, body: bytes, scrub: Scrubber = NO_SECRET) -> Task:
    """Our ``Task`` from an API answer whose body (capped) has been read.

    ``scrub`` (the client's key's ``ApiKeyAuth.scrubber``) removes the key from the body before
    anything is made of it: a task's status word, error title and detail, video links and the
    errors below never hold it.

    Raises:
        APIStatusError: the matching subclass, for an error status.
        UnreadableAnswer: a success whose body is not a task envelope.
    """
    status = response.status_code
    if status >= 400:
        raise make_status_error(response, body, scrub)
    if not 200 <= status < 300:
        raise UnreadableAnswer(f"unexpected status {status}", status_code=status)
    body = scrub.bytes(body)  # before anything is parsed from it
    trace = response.headers.get("traceparent")
    request_id = None if trace is None else scrub.redact(trace)
    try:
        data = _tolerant(json.loads(body))
        # Any 2xx with a task envelope is a task (202 documented; 200/201 on create, D8).
        parsed = generated_task_model().from_dict(data)
        return Task.from_generated(parsed, request_id=request_id)
    except PARSE_ERRORS as exc:
        raise UnreadableAnswer(describe(exc), status_code=status) from exc


def scrubbed(
    error: WanI2VError, scrub: Scrubber, source: BaseException | None = None
) -> WanI2VError:
    """``error`` (changed in place) with the key removed from its message and text attributes,
    and from ``source`` (what it is about to be raised from) and its chain: an httpx protocol
    error quotes the raw header line it refused, which may echo ours, and an httpx error keeps
    the request as sent (its Authorization header is replaced by ``Bearer ***``)."""
    seen: set[int] = set()
    for start in (error, source):
        link: BaseException | None = start
        while link is not None and id(link) not in seen:
            seen.add(id(link))
            link.args = tuple(scrub.redact(a) if isinstance(a, str) else a for a in link.args)
            if isinstance(link, WanI2VError):
                for name, value in vars(link).items():
                    if isinstance(value, str):
                        setattr(link, name, scrub.redact(value))
            elif isinstance(link, httpx.RequestError):
                with contextlib.suppress(RuntimeError):  # one raised without a request
                    link.request = redacted_request(link.request)
            link = link.__cause__ or link.__context__
    return error


def _tolerant(data: Any) -> Any:
    """Odd but meaningful task bodies made readable: a failed task is failed whatever its
    ``error`` looks like (an object, a string, missing, or ``error_code`` beside it)."""
    if not isinstance(data, dict) or not isinstance(data.get("task_info"), dict):
        return data
    info = dict(data["task_info"])
    error = info.get("error")
    if error is not None and not isinstance(error, dict):
        error = {"detail": str(error)[:500]} if error != "" else {}
    code = info.pop("error_code", None)
    if code is not None:
        error = dict(error or {})
        error.setdefault("code", code)
    if isinstance(error, dict):
        error = {
            key: value
            for key, value in error.items()
            if key not in ("code", "error_code") or _is_int(value)
        }
        if not isinstance(error.get("title", ""), str):
            error["title"] = str(error["title"])
        if not isinstance(error.get("detail", ""), str):
            error["detail"] = str(error["detail"])
        info["error"] = error
    elif "error" in info:
        del info["error"]
    return {**data, "task_info": info}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception from below, for our messages."""
    text = str(exc)
    if isinstance(exc, RecursionError):
        text = "nested too deeply"
    if _refused(exc):
        text = "connection refused"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _refused(exc: BaseException) -> bool:
    """Whether a connection error was a refusal (the message of the async stack hides it)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError) or "refused" in str(seen).lower():
            return True
        group = getattr(seen, "exceptions", None)
        if group and any(_refused(inner) for inner in group):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
