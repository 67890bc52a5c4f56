"""Scripted servers for the contract engine's tests: each plays the API with one drift.

A server validates create bodies against the spec it is given (the real one, or one with a
rule removed: a server that stopped enforcing it), refuses in the style it is told to, and
counts what reached it, so that tests can prove no billable body ever did.
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

import httpx
import jsonschema
from servers import Requests, handler_server, reply

from wan_i2v import _spec_facts as facts
from wan_i2v._spec import load_spec
from wan_i2v.contract._rules import validator

BASE = "https://api.test"
KEY = "contract-engine-SECRET-key"
CREATE = facts.CREATE_PATH
# The only paths the engine may ask: the create path, and the get path with a canonical UUID.
_UUID = "[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"
API_PATHS = re.compile(
    f"{re.escape(facts.CREATE_PATH)}|"
    + re.escape(facts.GET_PATH).replace(re.escape("{task_id}"), _UUID)
)


def outside_api(paths: list[str]) -> list[str]:
    """The paths (as sent, query included) that are neither of the API's two."""
    return [p for p in paths if not API_PATHS.fullmatch(p)]


# How refusals name what is wrong: every violation (the sandbox that names them all, FastAPI's
# loc lists, or only in the message text), the first one (by alphabetical order with required
# fields first, like today's sandbox, or by body order), or nothing at all.
Naming = Literal["all", "loc", "text", "first-alpha", "first-body", "none"]


@dataclass
class ScriptedServer:
    """An API with knobs. Defaults: conforms to the spec, names every violation."""

    spec: dict[str, Any] = field(default_factory=load_spec)
    naming: Naming = "all"
    key: str = KEY
    refusal_status: int = 400
    content_type: str = "application/json"
    message_key: str | None = "detail"  # None: the body has no message, only field names
    auth: frozenset[str] = frozenset({"POST", "GET"})  # methods that need the key
    unknown_task_status: int = 404
    everything_404: bool = False
    rate_limited: int = 0  # the first N requests get 429
    retry_after: str | None = "2"
    server_errors: float = 0.0  # this share of requests (seeded) gets a 500, 502 or 503
    seed: int = 7
    accept_creates: bool = False  # every keyed POST is taken: 202, a task (billed)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What reached it.
    requests: int = 0
    posts_with_key: int = 0
    valid_with_key: int = 0  # create bodies valid under the real spec, sent with the key
    created: int = 0
    errors_sent: int = 0
    paths: list[str] = field(default_factory=list)  # every path asked, query included

    def __post_init__(self) -> None:
        self._enforced = validator(self.spec)
        self._real = validator(load_spec())
        self._random = random.Random(self.seed)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.paths.append(request.url.raw_path.decode("ascii"))
        keyed = request.headers.get("authorization") == f"Bearer {self.key}"
        body: Any = None
        if request.method == "POST":
            body = json.loads(request.content) if request.content else None
            if keyed:
                self.posts_with_key += 1
                self.valid_with_key += self._real.is_valid(body)
        if self.requests <= self.rate_limited:
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return httpx.Response(429, json={"detail": "slow down"}, headers=headers)
        if self.server_errors and self._random.random() < self.server_errors:
            self.errors_sent += 1
            status = self._random.choice([500, 502, 503])
            return httpx.Response(status, text="<html>upstream hiccup</html>")
        path = request.url.path
        if self.everything_404 or not path.startswith(CREATE):
            return httpx.Response(404, json={"detail": "Not Found"})
        if request.method in self.auth and not keyed:
            return self._error(401, ["missing or invalid bearer token"], [])
        if request.method == "GET":
            task_id = path.rsplit("/", 1)[1]
            if task_id in self.tasks:
                return httpx.Response(200, json=self.tasks[task_id])
            if self.unknown_task_status == 200:
                return httpx.Response(200, json={"task_info": {"id": task_id, "status": "UNKNOWN"}})
            return self._error(self.unknown_task_status, [f"task {task_id} not found"], [])
        problems = self._problems(body)
        if not problems or (self.accept_creates and keyed):
            self.created += 1
            return httpx.Response(202, json=_task(str(uuid.uuid4()), "pending"))
        if self.naming.startswith("first"):
            problems = problems[:1]
        fields = [f for f, _ in problems]
        return self._error(self.refusal_status, [f"{f}: {m}" for f, m in problems], fields)

    def _problems(self, body: Any) -> list[tuple[str, str]]:
        errors = list(self._enforced.iter_errors(body))
        found = [(_field_of(e), e.message) for e in errors]
        if self.naming == "first-body" and isinstance(body, dict):
            order = list(body)
            found.sort(key=lambda p: order.index(p[0]) if p[0] in order else -1)
        else:
            found.sort(key=lambda p: (p[0] in (body or {}), p[0]))
        return found

    def _error(self, status: int, messages: list[str], fields: list[str]) -> httpx.Response:
        content: dict[str, Any] = {}
        named = list(zip(fields, messages, strict=False))  # no fields: a 401 or a 404
        if self.naming == "loc" and named:
            content = {"detail": [{"loc": ["body", f], "msg": m} for f, m in named]}
        elif self.naming == "none" and named:
            content = {self.message_key or "detail": "invalid request"}
        elif self.naming in ("text", "none", "loc"):
            content = {self.message_key or "detail": "; ".join(messages)}
        else:
            if self.message_key:
                content[self.message_key] = "; ".join(messages)
            if self.naming == "all" and named:
                content["errors"] = [{"field": f, "message": m} for f, m in named]
            elif fields:
                content["field"] = fields[0]
        if not self.message_key:
            content.pop("detail", None)
        text = json.dumps(content)
        return httpx.Response(
            status, content=text.encode(), headers={"content-type": self.content_type}
        )


def _field_of(error: jsonschema.ValidationError) -> str:
    if error.absolute_path:
        return str(error.absolute_path[0])
    if error.validator == "required":
        return str(error.message).split("'")[1]
    return "body"


def _task(task_id: str, status: str, videos: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task_info": {
            "id": task_id,
            "status": status,
            "created_at": "2023-11-07T05:31:56Z",
            "updated_at": "2023-11-07T05:33:10Z",
        }
    }
    if videos is not None:
        body["videos"] = videos
    return body


def task(task_id: str, status: str, videos: list[str] | None = None) -> dict[str, Any]:
    """A task envelope as the API sends it."""
    return _task(task_id, status, videos)


# --- Real sockets: servers that misbehave below HTTP's answers ----------------------------

SocketHandler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Sent:
    """Body bytes a socket server managed to write, per request (before the client left)."""

    per_request: list[int] = field(default_factory=list)
    first_request_at: float | None = None  # time.monotonic() when the first request came

    def started(self) -> None:
        if self.first_request_at is None:
            self.first_request_at = time.monotonic()


@contextmanager
def socket_api(handle: SocketHandler) -> Iterator[tuple[str, Requests]]:
    """A real HTTP server on 127.0.0.1 answering every request with ``handle``; yields its
    base URL and every (method, path, headers) it saw."""

    def answer(handler: BaseHTTPRequestHandler, seen: Requests) -> None:
        handle(handler)

    with handler_server(answer) as (url, seen):
        yield url, seen


def trickle(where: Literal["status", "body"], sent: Sent) -> SocketHandler:
    """Answer one byte every 0.25 s, forever: from the status line on, or after the headers."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        sent.started()
        count = 0
        sent.per_request.append(0)
        if where == "body":
            handler.send_response(404)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(10**9))
            handler.end_headers()
            handler.wfile.flush()
        line = b"HTTP/1.1 404 Not Found\r\n" if where == "status" else b'{"detail": "'
        while True:
            for byte in line if count == 0 else b"x":
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                count += 1
                sent.per_request[-1] = count
                time.sleep(0.25)

    return handle


def endless(sent: Sent) -> SocketHandler:
    """Answer the documented status at once, then a body that never ends, as fast as the
    socket takes it (no read ever waits: only a cap or a deadline ends it)."""
    chunk = b"x" * 65536

    def handle(handler: BaseHTTPRequestHandler) -> None:
        status = 400 if handler.command == "POST" else 404
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()
        sent.per_request.append(0)
        frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        while True:
            handler.wfile.write(frame)
            sent.per_request[-1] += len(chunk)

    return handle


def always(status: int, sent: Sent, headers: dict[str, str] | None = None) -> SocketHandler:
    """Answer every request with ``status`` (a 429 or a 5xx, say) and a short JSON body."""

    def handle(handler: BaseHTTPRequestHandler) -> None:
        sent.started()
        reply(handler, status, b'{"detail": "not now"}', headers=headers)

    return handle
