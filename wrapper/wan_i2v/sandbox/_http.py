"""The sandbox's HTTP face: the two API operations of the spec and the video files."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._check import request_problem
from ._mp4 import video_bytes, video_for
from ._state import SandboxConfig, SandboxState

API = "/vendors/alibaba/v1/wan2.2-i2v-plus/generation"


def create_app(
    config: SandboxConfig | None = None, *, state: SandboxState | None = None
) -> Starlette:
    """The sandbox as an ASGI app; ``app.state.sandbox`` is its SandboxState."""
    state = state or SandboxState(config or SandboxConfig())

    async def create(request: Request) -> Response:
        if (refusal := _gate(request, state, "create")) is not None:
            return refusal
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "body: not valid JSON", field="body")
        if (problem := request_problem(body)) is not None:
            field, message = problem
            return _error(400, message, field=field)
        video, failure = video_for(body.get("image"))
        task = state.create_task(video, failure=failure)
        fault = state.take_fault("create", after_create=True)
        if fault is not None:
            return _error(
                fault.status,
                "injected fault after the task was created",
                retry_after=fault.retry_after,
            )
        return JSONResponse(state.describe(task, _base(request)), status_code=202)

    async def get(request: Request) -> Response:
        if (refusal := _gate(request, state, "get")) is not None:
            return refusal
        task_id = request.path_params["task_id"]
        try:
            uuid.UUID(task_id)
        except ValueError:
            return _error(400, f"task_id: {task_id!r} is not a UUID", field="task_id")
        task = state.tasks.get(task_id)
        if task is None:
            return _error(404, f"task {task_id} not found")
        return JSONResponse(state.describe(task, _base(request)))

    async def video(request: Request) -> Response:
        state.requests.append(("GET", request.url.path))
        if "authorization" in request.headers:
            state.file_requests_with_auth += 1
        task = state.tasks.get(request.path_params["task_id"])
        if task is None:
            return Response(status_code=404)
        return Response(video_bytes(task.video), media_type="video/mp4")

    app = Starlette(
        routes=[
            Route(API, create, methods=["POST"]),
            Route(API + "/{task_id}", get, methods=["GET"]),
            Route("/files/{task_id}.mp4", video, methods=["GET"]),
        ]
    )
    app.state.sandbox = state
    return app


def _gate(request: Request, state: SandboxState, operation: str) -> Response | None:
    """What every API call passes first: records, auth, rate limit, scripted and random
    faults (in that order, so a 401 never hides behind a 503)."""
    state.requests.append((request.method, request.url.path))
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    expected = state.config.api_key
    if (
        not request.headers.get("authorization", "").startswith("Bearer ")
        or not token
        or (expected is not None and not secrets.compare_digest(token, expected))
    ):
        return _error(401, "missing or invalid bearer token")
    if state.over_rate_limit():
        return _error(429, "rate limit exceeded", retry_after=1)
    fault = state.take_fault("create" if operation == "create" else "get")
    if fault is not None:
        return _error(fault.status, "injected fault", retry_after=fault.retry_after)
    if (status := state.random_error()) is not None:
        return _error(status, "random server error (error_rate)")
    return None


def _error(
    status: int, detail: str, *, field: str | None = None, retry_after: float | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail}
    if field is not None:
        body["field"] = field
    headers = {"traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return JSONResponse(body, status_code=status, headers=headers)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")
