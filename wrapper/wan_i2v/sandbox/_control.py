"""The sandbox's control surface, for tests that run it as a process (any language, any CLI).

Like WireMock's admin API, beside the API's own paths and never among them:

- ``GET /_sandbox/stats``: ``{"tasks_created": N, "requests": {"create": {"202": n,
  "503": m, ...}, "get": {...}, "file": {...}}, ...}``. Counters since start, plain integers
  that never drop: read them before and after what you test, and compare. A dropped
  connection counts as ``"dropped"``.
- ``POST /_sandbox/faults``: the keys ``inject()`` takes, as a JSON object (``status``,
  ``count``, ``operation``, ``after_create``, ``retry_after``; ``status`` may be ``"drop"``);
  answers 201 with the fault as stored. A bad one is a 400 in the one error shape.
- ``GET /_sandbox/faults``: the faults still to play, in order, with their remaining counts.
- ``DELETE /_sandbox/faults``: forget them all (204).

No API key is asked for, even when the sandbox requires one for the API: the sandbox binds
to loopback only and holds no data worth protecting, and a test harness in another language
should not need to know the key. These requests are not API requests: they are not counted,
logged, rate-limited or faulted.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._faults import Fault
from ._refusal import Problem, refusal
from ._state import SandboxState

PREFIX = "/_sandbox"
MAX_FAULT_BYTES = 4096  # a fault is a handful of keys; any Content-Type is read as JSON


def control_routes(state: SandboxState) -> list[Route]:
    """The routes of the control surface, for ``state``."""

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats())

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.clear_faults()
            return Response(status_code=204)
        if request.method == "POST":
            raw = b""
            async for chunk in request.stream():
                raw += chunk
                if len(raw) > MAX_FAULT_BYTES:
                    problem = Problem("body", f"a fault is at most {MAX_FAULT_BYTES} bytes")
                    return refusal(413, [problem], close=True)
            try:
                fault = Fault.from_json(json.loads(raw))
            except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
                return refusal(400, [Problem("fault", str(exc))])
            return JSONResponse(state.add_fault(fault).to_json(), status_code=201)
        return JSONResponse([fault.to_json() for fault in list(state.faults)])

    return [
        Route(f"{PREFIX}/stats", stats, methods=["GET"]),
        Route(f"{PREFIX}/faults", faults, methods=["GET", "POST", "DELETE"]),
    ]
