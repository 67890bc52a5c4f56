"""The sandbox's HTTP face: the two API operations of the spec and the video files.

The paths and the status words come from the spec the sandbox loads; every refusal has the
one error-body shape (``_refusal``).
"""

from __future__ import annotations

import logging
import secrets

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._body import BodyRefused, ClientDisconnect, read_body
from ._check import BodyError, parse_body, request_problems
from ._from_spec import CREATE_OPERATION, GET_OPERATION, image_rules, operation_path
from ._images import judge
from ._mp4 import video_bytes, video_for
from ._refusal import Problem, refusal, trace_header
from ._state import SandboxConfig, SandboxState, normal_task_id

logger = logging.getLogger("wan_i2v.sandbox")
CLIENT_CLOSED = 499  # never seen by anyone: the client is gone; nginx's word for it


def create_app(
    config: SandboxConfig | None = None, *, state: SandboxState | None = None
) -> Starlette:
    """The sandbox as an ASGI app; ``app.state.sandbox`` is its SandboxState."""
    state = state or SandboxState(config or SandboxConfig())

    async def create(request: Request) -> Response:
        if (refused := _gate(request, state, "create")) is not None:
            return refused
        try:
            body = parse_body(await read_body(request))
        except BodyRefused as exc:
            return exc.response
        except BodyError as exc:
            return refusal(400, [exc.problem])
        except ClientDisconnect:
            logger.debug("a client hung up during its upload to %s", request.url.path)
            return Response(status_code=CLIENT_CLOSED)
        if problems := request_problems(body):
            return refusal(400, problems)
        verdicts = {name: judge(name, body.get(name)) for name in image_rules()}
        failure = next((v.failure for v in verdicts.values() if v.failure), None)
        task = state.create_task(video_for(verdicts["image"].size), failure=failure)
        fault = state.take_fault("create", after_create=True)
        if fault is not None:
            return refusal(
                fault.status,
                detail="injected fault after the task was created",
                retry_after=fault.retry_after,
            )
        return JSONResponse(
            state.describe(task, _base(request)), status_code=202, headers=trace_header()
        )

    async def get(request: Request) -> Response:
        if (refused := _gate(request, state, "get")) is not None:
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
            Route(operation_path(CREATE_OPERATION), create, methods=["POST"]),
            Route(operation_path(GET_OPERATION), get, methods=["GET"]),
            Route("/files/{task_id}.mp4", video, methods=["GET"]),
        ],
        exception_handlers={HTTPException: not_routed},
    )
    app.state.sandbox = state
    return app


def _unknown(state: SandboxState, task_id: str) -> Response:
    if normal_task_id(task_id) is None:
        return refusal(400, [Problem("task_id", f"{task_id[:80]!r} is not a UUID")])
    return refusal(404, [Problem("task_id", f"no task {task_id}")])


def _gate(request: Request, state: SandboxState, operation: str) -> Response | None:
    """What every API call passes first: records, auth, rate limit, scripted and random
    faults (in that order, so a 401 never hides behind a 503)."""
    state.record(request.method, request.url.path)
    if (problem := _auth_problem(request, state.config.api_key)) is not None:
        return refusal(401, [problem])
    if state.over_rate_limit():
        return refusal(429, detail="rate limit exceeded", retry_after=1)
    fault = state.take_fault("create" if operation == "create" else "get")
    if fault is not None:
        return refusal(fault.status, detail="injected fault", retry_after=fault.retry_after)
    if (status := state.random_error()) is not None:
        return refusal(status, detail="random server error (error_rate)")
    return None


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
