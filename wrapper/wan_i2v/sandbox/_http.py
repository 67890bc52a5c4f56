"""The sandbox's HTTP face: the two API operations of the spec, the video files, and the
control surface (``_control``).

The paths and the status words come from the spec the sandbox loads; every refusal has the
one error-body shape (``_refusal``). Every answer of the API and file routes is counted by
operation and status (``SandboxState.stats``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._body import BodyBudget, BodyRefused, ClientDisconnect, check_head, read_body
from ._check import BodyError, parse_body, request_problems
from ._control import control_routes
from ._faults import DROP, Fault
from ._from_spec import (
    CREATE_OPERATION,
    GET_OPERATION,
    image_rules,
    operation_path,
    request_default,
)
from ._images import judge
from ._mp4 import shape_for, video_bytes
from ._refusal import Problem, refusal, trace_header
from ._state import Answered, SandboxConfig, SandboxState, normal_task_id

logger = logging.getLogger("wan_i2v.sandbox")
CLIENT_CLOSED = 499  # never seen by anyone: the client is gone; nginx's word for it
# The key, in the ASGI scope's "state", of the function that closes this request's connection
# unanswered; the server's protocol (_connections) puts it there.
DROP_HOOK = "wan_i2v.sandbox.drop"
Handler = Callable[[Request], Awaitable[Response]]


class ConnectionDropped(RuntimeError):
    """A ``"drop"`` fault where no connection can be dropped (an app without a socket, such
    as httpx.ASGITransport): raised into the caller, the nearest thing to a dropped line."""


class _Dropped(Response):
    """What a handler returns once its connection is closed: nothing of it is sent."""


def create_app(
    config: SandboxConfig | None = None, *, state: SandboxState | None = None
) -> Starlette:
    """The sandbox as an ASGI app; ``app.state.sandbox`` is its SandboxState."""
    state = state or SandboxState(config or SandboxConfig())
    budget = BodyBudget(state.config.max_body_bytes_in_flight)

    def counted(operation: Answered, handler: Handler) -> Handler:
        async def answer(request: Request) -> Response:
            response = await handler(request)
            if not isinstance(response, _Dropped):  # counted before the line went dead
                state.answered(operation, response.status_code)
            return response

        return answer

    async def create(request: Request) -> Response:
        if (refused := await _gate(request, state, "create")) is not None:
            return refused
        try:
            size = check_head(request)
            async with budget.room(size, state.config.max_upload_wait):
                body = parse_body(await read_body(request))
                if problems := request_problems(body):
                    return refusal(400, problems)
                verdicts = {name: judge(name, body.get(name)) for name in image_rules()}
        except BodyRefused as exc:
            return exc.response
        except BodyError as exc:
            return refusal(400, [exc.problem])
        except ClientDisconnect:
            logger.debug("a client hung up during its upload to %s", request.url.path)
            return Response(status_code=CLIENT_CLOSED)
        failure = next((v.failure for v in verdicts.values() if v.failure), None)
        # No await from the check to the creation: two creates cannot both take the last slot.
        if (wait := state.running_limited()) is not None:
            limit = state.config.max_running
            detail = f"too many tasks running at once (at most {limit}); try again later"
            return refusal(429, detail=detail, retry_after=wait)
        tier = body.get("resolution", request_default("resolution"))
        video = shape_for(verdicts["image"].size, tier)
        task = state.create_task(video, failure=failure)
        fault = state.take_fault("create", after_create=True)
        if fault is not None:
            detail = "injected fault after the task was created"
            return await _play(request, state, "create", fault, detail)
        return JSONResponse(
            state.describe(task, _base(request)), status_code=202, headers=trace_header()
        )

    async def get(request: Request) -> Response:
        if (refused := await _gate(request, state, "get")) is not None:
            return refused
        task_id = request.path_params["task_id"]
        task = state.task(task_id)
        if task is None:
            return _unknown(state, task_id)
        return JSONResponse(state.describe(task, _base(request)), headers=trace_header())

    async def video(request: Request) -> Response:
        state.record("GET", request.url.path)
        if "authorization" in request.headers:
            state.file_requests_with_auth += 1
        task = state.task(request.path_params["task_id"])
        if task is None:
            return refusal(404, [Problem("path", "no such video")])
        return Response(video_bytes(task.video), media_type="video/mp4")

    async def not_routed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)  # the only type this handler is registered for
        field = "method" if exc.status_code == 405 else "path"
        message = f"{request.method} {request.url.path}: {exc.detail}"
        return refusal(exc.status_code, [Problem(field, message)], headers=exc.headers)

    app = Starlette(
        routes=[
            Route(operation_path(CREATE_OPERATION), counted("create", create), methods=["POST"]),
            Route(operation_path(GET_OPERATION), counted("get", get), methods=["GET"]),
            Route("/files/{task_id}.mp4", counted("file", video), methods=["GET"]),
            *control_routes(state),
        ],
        exception_handlers={HTTPException: not_routed},
    )
    app.state.sandbox = state
    app.state.body_budget = budget
    return app


def _unknown(state: SandboxState, task_id: str) -> Response:
    if normal_task_id(task_id) is None:
        return refusal(400, [Problem("task_id", f"{task_id[:80]!r} is not a UUID")])
    return refusal(404, [Problem("task_id", f"no task {task_id}")])


async def _gate(request: Request, state: SandboxState, operation: Answered) -> Response | None:
    """What every API call passes first: records, auth, rate limit, scripted and random
    faults (in that order, so a 401 never hides behind a 503)."""
    state.record(request.method, request.url.path)
    if (problem := _auth_problem(request, state.config.api_key)) is not None:
        return refusal(401, [problem])
    if (wait := state.rate_limited()) is not None:
        detail = f"rate limit exceeded ({state.config.rate_limit:g} requests per second)"
        return refusal(429, detail=detail, retry_after=wait)
    fault = state.take_fault("create" if operation == "create" else "get")
    if fault is not None:
        return await _play(request, state, operation, fault, "injected fault")
    return None


async def _play(
    request: Request, state: SandboxState, operation: Answered, fault: Fault, detail: str
) -> Response:
    """The answer a fault gives: its status, or a connection closed without one."""
    if fault.status != DROP:
        return refusal(int(fault.status), detail=detail, retry_after=fault.retry_after)
    state.answered(operation, "dropped")  # now: the client may look before this returns
    drop = request.scope.get("state", {}).get(DROP_HOOK)
    if drop is None:
        raise ConnectionDropped(f"{detail}: the connection is dropped (no socket to close)")
    drop()
    await asyncio.sleep(0)  # the server sees the connection gone, and sends nothing more
    return _Dropped(status_code=CLIENT_CLOSED)


def _auth_problem(request: Request, expected: str | None) -> Problem | None:
    """Why the Authorization header fails, or None. The scheme is case-insensitive
    (RFC 9110 11.1); the token is compared as bytes, so any byte in it is a 401, not a 500."""
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return Problem("Authorization", "a bearer token is required")
    # Starlette decodes header bytes as latin-1: encoding back gives the bytes sent.
    if expected is not None and not secrets.compare_digest(
        token.encode("latin-1"), expected.encode("utf-8")
    ):
        return Problem("Authorization", "the bearer token is not the sandbox's key")
    return None


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")
